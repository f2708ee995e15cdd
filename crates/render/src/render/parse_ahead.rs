//! Parsing a chart's templates ahead, on another core, while the release's values are prepared
//! (template parsing does not depend on values).
//!
//! Every template file of the chart tree is parsed under the name it most likely gets when the
//! release renders (`chart/templates/x`, `chart/charts/dep/templates/x`, library charts'
//! partials only). The render takes each template it needs, in Helm's parse order, from these
//! results when both name and text match, and parses it itself otherwise (aliased or duplicated
//! subcharts) or when the worker has not reached it yet (a file the worker is busy with is
//! waited for after the others). The worker goes through the same list from its other end:
//! Helm parses the deepest paths first, so the worker starts with the top chart's own templates,
//! which every release renders, and reaches subcharts' last, which the values may disable (a
//! prometheus release with its four subcharts turned off has 55 of its 193 KB of templates to
//! parse), and the two never queue for the same file until they meet. Files of charts the
//! release disables are never asked for, so their parse errors never surface. A text met again
//! (a library chart vendored by several subcharts) is not parsed again: the worker renames the
//! trees of the copy it parsed. Results live only as long as one render.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError, TryLockError};

use signet_gotemplate::Error;
use signet_gotemplate::template::{ParseEnv, ParsedFile};

use super::engine::{chart_templates, sort_templates, template_text};
use crate::chart::Chart;

/// Where one file stands.
enum Slot {
    /// Nobody has parsed it yet.
    Pending,
    /// Parsed ahead; the render has not asked for it yet.
    Done(Result<ParsedFile, Error>),
    /// The render asked for it (and took the result, or parses the file itself).
    Taken,
}

struct Job<'a> {
    /// The chart whose `templates/` holds the file.
    chart: &'a Chart,
    name: String,
    text: Cow<'a, str>,
    /// Locked by the worker for the whole parse, so the render waits for a file being parsed
    /// instead of parsing it a second time.
    slot: Mutex<Slot>,
}

/// The template files of one chart tree, parsed ahead by [`ParseAhead::run`] on another thread
/// and collected by the render with [`ParseAhead::parse_all`].
pub(crate) struct ParseAhead<'a> {
    /// The environment of the set the render adds the results to.
    env: ParseEnv,
    chart: &'a Chart,
    /// Made by whichever thread gets there first (normally the worker, so the render's thread
    /// spends no time on it).
    plan: OnceLock<Plan<'a>>,
    stop: AtomicBool,
}

/// The files to parse, in Helm's parse order ([`sort_templates`]).
struct Plan<'a> {
    jobs: Vec<Job<'a>>,
    by_name: HashMap<String, usize>,
    /// For a job, the other jobs with the same text (a library chart vendored by several
    /// subcharts, as Bitnami's `common` is): parsed once, renamed for the others.
    twins: HashMap<usize, Vec<usize>>,
}

/// What the render found for one file it needs.
enum Found<'j, 'a> {
    Parsed(Result<ParsedFile, Error>),
    /// The worker is parsing it right now.
    Busy(&'j Job<'a>),
    /// Not parsed ahead (now or ever): the render parses it.
    Missing,
}

impl<'a> Plan<'a> {
    fn new(chart: &'a Chart) -> Plan<'a> {
        let mut texts = HashMap::new();
        collect(chart, chart.name().to_string(), &mut texts);
        let mut names: Vec<String> = texts.keys().cloned().collect();
        sort_templates(&mut names);
        let by_name = names
            .iter()
            .enumerate()
            .map(|(i, name)| (name.clone(), i))
            .collect();
        let jobs: Vec<Job<'a>> = names
            .into_iter()
            .filter_map(|name| {
                let (chart, text) = texts.remove(&name)?;
                Some(Job {
                    chart,
                    name,
                    text,
                    slot: Mutex::new(Slot::Pending),
                })
            })
            .collect();
        // Texts are compared only when their lengths are equal: hashing every text would cost
        // this thread more than most charts' copies save.
        let mut groups_by_len: HashMap<usize, Vec<Vec<usize>>> = HashMap::new();
        for (i, job) in jobs.iter().enumerate() {
            let groups = groups_by_len.entry(job.text.len()).or_default();
            match groups
                .iter_mut()
                .find(|group| jobs[group[0]].text == job.text)
            {
                Some(group) => group.push(i),
                None => groups.push(vec![i]),
            }
        }
        let mut twins: HashMap<usize, Vec<usize>> = HashMap::new();
        for group in groups_by_len.into_values().flatten() {
            if group.len() > 1 {
                for &i in &group {
                    twins.insert(i, group.iter().copied().filter(|&j| j != i).collect());
                }
            }
        }
        Plan {
            jobs,
            by_name,
            twins,
        }
    }
}

impl<'a> ParseAhead<'a> {
    /// The template files of `chart` and its subcharts under their likely names, to be parsed
    /// with `env` (the environment of the set they will be added to).
    pub(crate) fn new(chart: &'a Chart, env: ParseEnv) -> ParseAhead<'a> {
        ParseAhead {
            env,
            chart,
            plan: OnceLock::new(),
            stop: AtomicBool::new(false),
        }
    }

    fn plan(&self) -> &Plan<'a> {
        self.plan.get_or_init(|| Plan::new(self.chart))
    }

    /// The worker: parse every file nobody has asked for yet, from the end of Helm's order (the
    /// render takes them from the front), until all are done or the render has collected what
    /// it needs. Once `enabled` is set, files of the charts not in it are skipped.
    pub(crate) fn run(&self, enabled: &OnceLock<Vec<&'a Chart>>) {
        let plan = self.plan();
        for (i, job) in plan.jobs.iter().enumerate().rev() {
            if self.stop.load(Ordering::Relaxed) {
                return;
            }
            if enabled
                .get()
                .is_some_and(|charts| !charts.iter().any(|c| std::ptr::eq(*c, job.chart)))
            {
                continue;
            }
            let mut slot = lock(&job.slot);
            if matches!(*slot, Slot::Pending) {
                let parsed = self.env.parse(&job.name, &job.text);
                if let Ok(file) = &parsed {
                    for &twin in plan.twins.get(&i).into_iter().flatten() {
                        let twin = &plan.jobs[twin];
                        let mut twin_slot = lock(&twin.slot);
                        if matches!(*twin_slot, Slot::Pending)
                            && let Some(renamed) = file.renamed(&twin.name)
                        {
                            *twin_slot = Slot::Done(Ok(renamed));
                        }
                    }
                }
                *slot = Slot::Done(parsed);
            }
        }
    }

    /// Tell the worker that no more files will be asked for.
    pub(crate) fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Every one of `files` (name, text) parsed as the set's `parse_named` would, in the same
    /// order: the worker's result where name and text match, parsed here otherwise. Files the
    /// worker is parsing right now are waited for last, after parsing the others.
    pub(crate) fn parse_all(&self, files: &[(&str, &str)]) -> Vec<Result<ParsedFile, Error>> {
        let mut found: Vec<Option<Result<ParsedFile, Error>>> = Vec::with_capacity(files.len());
        let mut busy = Vec::new();
        for (i, (name, text)) in files.iter().enumerate() {
            found.push(match self.find(name, text) {
                Found::Parsed(parsed) => Some(parsed),
                Found::Busy(job) => {
                    busy.push((i, job));
                    None
                }
                Found::Missing => Some(self.env.parse(name, text)),
            });
        }
        self.stop();
        for (i, job) in busy {
            if let Slot::Done(parsed) = std::mem::replace(&mut *lock(&job.slot), Slot::Taken) {
                found[i] = Some(parsed);
            }
        }
        found
            .into_iter()
            .zip(files)
            .map(|(parsed, (name, text))| parsed.unwrap_or_else(|| self.env.parse(name, text)))
            .collect()
    }

    /// Take the worker's result for `text` parsed as `name` without waiting; a file not parsed
    /// yet is marked so that the worker skips it.
    fn find(&self, name: &str, text: &str) -> Found<'_, 'a> {
        let plan = self.plan();
        let Some(job) = plan.by_name.get(name).map(|&i| &plan.jobs[i]) else {
            return Found::Missing;
        };
        if job.text != text {
            return Found::Missing;
        }
        let mut slot = match job.slot.try_lock() {
            Ok(slot) => slot,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => return Found::Busy(job),
        };
        match std::mem::replace(&mut *slot, Slot::Taken) {
            Slot::Done(parsed) => Found::Parsed(parsed),
            Slot::Pending | Slot::Taken => Found::Missing,
        }
    }
}

/// A slot whose holder panicked is still `Pending` (the parse never stored a result): the render
/// then parses the file itself.
fn lock<'s>(slot: &'s Mutex<Slot>) -> MutexGuard<'s, Slot> {
    slot.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The templates `collect_templates` would record for `chart` if no dependency were renamed,
/// duplicated or disabled.
fn collect<'a>(
    chart: &'a Chart,
    full_path: String,
    out: &mut HashMap<String, (&'a Chart, Cow<'a, str>)>,
) {
    for dep in &chart.dependencies {
        collect(dep, format!("{full_path}/charts/{}", dep.name()), out);
    }
    for t in chart_templates(chart) {
        out.insert(
            format!("{full_path}/{}", t.name),
            (chart, template_text(&t.data)),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::Engine;
    use crate::render::release::tests::chart_tree;
    use signet_gotemplate::Template;

    fn chart() -> (tempfile::TempDir, Chart) {
        chart_tree(&[
            ("Chart.yaml", "apiVersion: v2\nname: app\nversion: 0.1.0\n"),
            ("templates/a.yaml", "a: {{ include \"h\" . }}"),
            (
                "charts/sub/Chart.yaml",
                "apiVersion: v2\nname: sub\nversion: 1.0.0\n",
            ),
            ("charts/sub/templates/b.yaml", "b: {{ .Values.b }}"),
            (
                "charts/lib/Chart.yaml",
                "apiVersion: v2\nname: lib\nversion: 1.0.0\ntype: library\n",
            ),
            (
                "charts/lib/templates/_h.tpl",
                "{{ define \"h\" }}h{{ end }}",
            ),
            ("charts/lib/templates/skipped.yaml", "{{ if }}"),
        ])
    }

    fn set() -> Template {
        Engine::default().new_set()
    }

    fn is_done(ahead: &ParseAhead<'_>, name: &str) -> bool {
        let plan = ahead.plan();
        matches!(*lock(&plan.jobs[plan.by_name[name]].slot), Slot::Done(_))
    }

    #[test]
    fn files_are_parsed_under_their_likely_names_in_helms_order() {
        let (_d, chart) = chart();
        let ahead = ParseAhead::new(&chart, set().parse_env());
        let names: Vec<&str> = ahead.plan().jobs.iter().map(|j| j.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "app/charts/sub/templates/b.yaml",
                "app/charts/lib/templates/_h.tpl",
                "app/templates/a.yaml",
            ]
        );
        std::thread::scope(|s| {
            s.spawn(|| ahead.run(&OnceLock::new()));
        });
        assert!(ahead.plan().jobs.iter().all(|j| is_done(&ahead, &j.name)));
    }

    /// The top chart's templates, which every release renders, before the subcharts' (that the
    /// values may disable): the worker takes Helm's order from its end.
    #[test]
    fn the_worker_starts_with_the_top_charts_templates() {
        let (_d, chart) = chart();
        let ahead = ParseAhead::new(&chart, set().parse_env());
        let plan = ahead.plan();
        let top = lock(&plan.jobs[plan.by_name["app/templates/a.yaml"]].slot);
        std::thread::scope(|s| {
            s.spawn(|| ahead.run(&OnceLock::new()));
            // The worker waits on the top chart's file, so it parses nothing else meanwhile.
            std::thread::sleep(std::time::Duration::from_millis(100));
            for name in [
                "app/charts/sub/templates/b.yaml",
                "app/charts/lib/templates/_h.tpl",
            ] {
                assert!(
                    !is_done(&ahead, name),
                    "{name} parsed before the top chart's"
                );
            }
            drop(top);
        });
        assert!(plan.jobs.iter().all(|j| is_done(&ahead, &j.name)));
    }

    /// Once the render knows which charts the values enable, the worker skips the others.
    #[test]
    fn the_worker_skips_the_files_of_charts_left_out() {
        let (_d, chart) = chart();
        let ahead = ParseAhead::new(&chart, set().parse_env());
        let lib = chart
            .dependencies
            .iter()
            .find(|d| d.name() == "lib")
            .unwrap();
        ahead.run(&OnceLock::from(vec![&chart, lib]));
        assert!(is_done(&ahead, "app/templates/a.yaml"));
        assert!(is_done(&ahead, "app/charts/lib/templates/_h.tpl"));
        assert!(!is_done(&ahead, "app/charts/sub/templates/b.yaml"));
    }

    #[test]
    fn only_matching_name_and_text_are_taken_from_the_worker() {
        let (_d, chart) = chart();
        let ahead = ParseAhead::new(&chart, set().parse_env());
        ahead.run(&OnceLock::new());
        let files = [
            // Renamed (an alias): parsed here.
            ("app/charts/alias/templates/b.yaml", "b: {{ .Values.b }}"),
            (
                "app/charts/lib/templates/_h.tpl",
                "{{ define \"h\" }}h{{ end }}",
            ),
            // Same name, other text: parsed here, with this text.
            ("app/templates/a.yaml", "a: {{ fail }}{{ if }}"),
        ];
        let parsed = ahead.parse_all(&files);
        assert!(is_done(&ahead, "app/charts/sub/templates/b.yaml"));
        assert!(!is_done(&ahead, "app/charts/lib/templates/_h.tpl"));
        assert!(is_done(&ahead, "app/templates/a.yaml"));
        let mut parsed = parsed.into_iter();
        let mut via_ahead = set();
        via_ahead.add_parsed(parsed.next().unwrap().unwrap());
        via_ahead.add_parsed(parsed.next().unwrap().unwrap());
        let error = parsed.next().unwrap().unwrap_err();
        let mut one_by_one = set();
        one_by_one.parse_named(files[0].0, files[0].1).unwrap();
        one_by_one.parse_named(files[1].0, files[1].1).unwrap();
        assert_eq!(
            Some(error),
            one_by_one.parse_named(files[2].0, files[2].1).err()
        );
        assert_eq!(
            via_ahead.defined_templates(),
            one_by_one.defined_templates()
        );
        for name in one_by_one.defined_templates() {
            assert_eq!(via_ahead.tree_string(&name), one_by_one.tree_string(&name));
        }
    }

    #[test]
    fn a_text_met_again_is_parsed_once_and_renamed() {
        let helper = "{{ define \"h\" }}{{ .Values.x }}{{ end }}";
        let (_d, chart) = chart_tree(&[
            ("Chart.yaml", "apiVersion: v2\nname: app\nversion: 0.1.0\n"),
            ("templates/a.yaml", "a: {{ include \"h\" . }}"),
            (
                "charts/one/Chart.yaml",
                "apiVersion: v2\nname: one\nversion: 1.0.0\n",
            ),
            ("charts/one/templates/_h.tpl", helper),
            (
                "charts/two/Chart.yaml",
                "apiVersion: v2\nname: two\nversion: 1.0.0\n",
            ),
            ("charts/two/templates/_h.tpl", helper),
        ]);
        let ahead = ParseAhead::new(&chart, set().parse_env());
        let plan = ahead.plan();
        let (one, two) = (
            "app/charts/one/templates/_h.tpl",
            "app/charts/two/templates/_h.tpl",
        );
        // Parsed for whichever the worker meets first, renamed for the other.
        let (one_at, two_at) = (plan.by_name[one], plan.by_name[two]);
        assert_eq!(plan.twins.get(&one_at), Some(&vec![two_at]));
        assert_eq!(plan.twins.get(&two_at), Some(&vec![one_at]));
        assert_eq!(plan.twins.len(), 2);
        ahead.run(&OnceLock::new());
        assert!(is_done(&ahead, one) && is_done(&ahead, two));
        let files = [(one, helper), (two, helper)];
        let mut via_ahead = set();
        for file in ahead.parse_all(&files) {
            via_ahead.add_parsed(file.unwrap());
        }
        let mut one_by_one = set();
        for (name, text) in files {
            one_by_one.parse_named(name, text).unwrap();
        }
        assert_eq!(
            via_ahead.defined_templates(),
            one_by_one.defined_templates()
        );
        for name in one_by_one.defined_templates() {
            assert_eq!(via_ahead.tree_string(&name), one_by_one.tree_string(&name));
        }
    }

    #[test]
    fn a_file_the_worker_is_parsing_is_waited_for_after_the_others() {
        let (_d, chart) = chart();
        let ahead = ParseAhead::new(&chart, set().parse_env());
        let b = ("app/charts/sub/templates/b.yaml", "b: {{ .Values.b }}");
        let a = ("app/templates/a.yaml", "a: {{ include \"h\" . }}");
        let plan = ahead.plan();
        let busy = &plan.jobs[plan.by_name[b.0]].slot;
        let mut held = lock(busy);
        let parsed = std::thread::scope(|s| {
            let collector = s.spawn(|| ahead.parse_all(&[b, a]));
            // The collector parses `a` itself (the worker never ran), stops the worker, then
            // waits for `b`. Watched through the stop flag: polling `a`'s slot lock here could
            // make the collector's `try_lock` of it fail, queue `a` behind `b`, and hang.
            while !ahead.stop.load(Ordering::Relaxed) {
                std::thread::yield_now();
            }
            *held = Slot::Done(Err(Error::Parse("from the worker".into())));
            drop(held);
            collector.join().unwrap()
        });
        assert_eq!(
            parsed[0].as_ref().unwrap_err(),
            &Error::Parse("from the worker".into())
        );
        assert_eq!(parsed[1].as_ref().unwrap().name(), a.0);
        assert!(matches!(
            *lock(&plan.jobs[plan.by_name[a.0]].slot),
            Slot::Taken
        ));
        assert!(matches!(*lock(busy), Slot::Taken));
    }
}
