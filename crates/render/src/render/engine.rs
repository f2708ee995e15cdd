//! Helm's template engine over a chart tree: collect every template of the chart and its subcharts
//! with its chart's dot (`.Values` scoped to the subchart, `.Chart`, `.Files`, `.Subcharts`, …),
//! parse them into one set in Helm's order (deepest first, so parents' `define`s win), execute each
//! non-partial template in that order, and report errors in Helm's words.
//!
//! As in Helm, a chart's templates share one dot, and `.Values`, `.Release` and nested maps are the
//! same maps everywhere they appear (a subchart's `.Values` is its parent's `.Values.NAME`): what
//! a template changes with `set`/`unset`/the merges — `set $ "Values" (mergeOverwrite …)` — every
//! template executed after it sees.
//!
//! Engine-aware functions: `include` (with Helm's per-name nesting bound), `tpl`, `required`,
//! `fail`, and `lookup` through the [`Lookup`] seam.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use signet_gotemplate::template::ParseEnv;
use signet_gotemplate::{EngineFn, ExecContext, FuncMap, MissingKey, Template, Value};

use super::objects::{Files, chart_object, string_arg};
use super::parse_ahead::ParseAhead;
use crate::chart::{Chart, ChartFile, ResolvedChart};

/// Reads live objects for `lookup`. `helm template` has no cluster: [`NoCluster`] answers with an
/// empty map; the controller implements this with its impersonated client.
pub trait Lookup: Send + Sync {
    /// `lookup apiVersion kind namespace name`: the object as a map, a `{items: [...]}` list when
    /// `name` is empty, or an empty map when nothing is found.
    fn lookup(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Result<Value, String>;
}

/// `lookup` without a cluster: always an empty map, as `helm template` does.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoCluster;

impl Lookup for NoCluster {
    fn lookup(&self, _: &str, _: &str, _: &str, _: &str) -> Result<Value, String> {
        Ok(Value::empty_map())
    }
}

/// Engine settings (Helm's `Engine` struct).
#[derive(Clone)]
pub struct Engine {
    /// `missingkey=error` instead of `zero`.
    pub strict: bool,
    /// `required`/`fail` do not fail (`helm lint`).
    pub lint_mode: bool,
    pub lookup: Arc<dyn Lookup>,
    /// Leave the parse trees to the OS (see `RenderOptions::skip_teardown`).
    pub skip_teardown: bool,
    /// See `RenderOptions::race_key_generation`.
    pub race_key_generation: bool,
}

impl Default for Engine {
    fn default() -> Self {
        Engine {
            strict: false,
            lint_mode: false,
            lookup: Arc::new(NoCluster),
            skip_teardown: false,
            race_key_generation: false,
        }
    }
}

/// A template failed to parse or execute; `Display` is Helm's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("{0}")]
    Parse(String),
    #[error("{0}")]
    Exec(String),
}

/// Delimiters Helm wraps `required`/`fail` messages in so they survive error chains.
const ERR_START: &str = "HELM_ERR_START";
const ERR_END: &str = "HELM_ERR_END";
/// Helm's bound on nested `include`s of one name.
const MAX_INCLUDE_NESTING: i64 = 1000;
/// The name Helm gives the root template of its set (and `tpl` texts).
const ROOT_NAME: &str = "gotpl";

struct Renderable<'a> {
    /// Borrowed from the chart when it is valid UTF-8 (nearly always).
    text: Cow<'a, str>,
    dot: Value,
    base_path: String,
}

/// Helm's `sortTemplates`: more path segments first, then reverse lexical order.
pub fn sort_templates(names: &mut [String]) {
    // Each name's depth counted once, not in every comparison (a big chart tree has hundreds).
    let mut keyed: Vec<(usize, String)> = names
        .iter_mut()
        .map(|name| {
            let depth = name.bytes().filter(|&b| b == b'/').count();
            (depth, std::mem::take(name))
        })
        .collect();
    // Names are unique, so an unstable sort gives the same order.
    keyed.sort_unstable_by(|(da, a), (db, b)| db.cmp(da).then_with(|| b.cmp(a)));
    for (slot, (_, name)) in names.iter_mut().zip(keyed) {
        *slot = name;
    }
}

/// Helm's function map: Sprig (without `env`/`expandenv`), the encoding functions, and stubs for
/// the functions the engine binds (`include`, `tpl`, `required`, `lookup`).
pub fn func_map() -> FuncMap {
    let mut f = signet_gotemplate::sprig::functions();
    f.remove("env");
    f.remove("expandenv");
    f.extend(crate::yaml::encoding_functions());
    // DNS lookups are disabled, as in Helm unless --enable-dns.
    f.insert(
        "getHostByName".into(),
        Arc::new(|_: &[Value]| Ok(Value::str(""))),
    );
    f
}

impl Engine {
    /// How this engine's template sets parse a file (Helm's functions, Go's delimiters), for
    /// parsing outside a render: the parse benchmark.
    pub fn parse_env(&self) -> ParseEnv {
        self.new_set().parse_env()
    }

    /// A template set with Helm's functions bound to this engine.
    pub(crate) fn new_set(&self) -> Template {
        let mut t = Template::with_funcs(ROOT_NAME, func_map());
        // Certificate generators draw RSA keys generated ahead on spare cores.
        if self.race_key_generation {
            t.race_certificate_keys();
        } else {
            t.prefetch_certificate_keys();
        }
        t.set_missing_key(if self.strict {
            MissingKey::Error
        } else {
            MissingKey::Zero
        });
        let included: Arc<Mutex<HashMap<String, i64>>> = Arc::default();

        let counts = included.clone();
        let include: EngineFn = Arc::new(move |ctx: &mut ExecContext<'_>, args: &[Value]| {
            if args.len() != 2 {
                return Err(format!(
                    "wrong number of args for include: want 2 got {}",
                    args.len()
                ));
            }
            let name = string_arg("include", &args[..1])?;
            if !ctx.has_template(&name) {
                // Helm executes includes on its root template, so Go names that one.
                return Err(format!(
                    "template: no template {} associated with template {}",
                    signet_gotemplate::fmt::quote(&name),
                    signet_gotemplate::fmt::quote(ROOT_NAME)
                ));
            }
            {
                let mut c = counts
                    .lock()
                    .map_err(|_| "include state poisoned".to_string())?;
                let n = c.entry(name.clone()).or_insert(0);
                if *n > MAX_INCLUDE_NESTING {
                    return Err(format!(
                        "rendering template has a nested reference name: {name}: unable to execute template"
                    ));
                }
                *n += 1;
            }
            let out = ctx.execute_template(&name, &args[1]);
            if let Ok(mut c) = counts.lock()
                && let Some(n) = c.get_mut(&name)
            {
                *n -= 1;
            }
            out
        });
        t.add_engine_func("include", include);

        let tpl: EngineFn = Arc::new(move |ctx: &mut ExecContext<'_>, args: &[Value]| {
            if args.len() != 2 {
                return Err(format!(
                    "wrong number of args for tpl: want 2 got {}",
                    args.len()
                ));
            }
            let text = string_arg("tpl", &args[..1])?;
            // Go executes the freshly parsed tree even when it is empty (whitespace only), while
            // the set keeps an existing non-empty `gotpl`: executing by name would re-run an
            // enclosing `tpl` text and recurse.
            if text.trim().is_empty() {
                return Ok(Value::from(text));
            }
            // Text without an action renders as itself; skip copying the set and parsing (charts
            // pass most values through `tpl` whether or not they hold templates).
            if !text.contains("{{") {
                return Ok(Value::from(text.replace("<no value>", "")));
            }
            match ctx.execute_text(ROOT_NAME, &text, &args[1]) {
                Ok(Value::String(s)) => Ok(Value::from(s.replace("<no value>", ""))),
                Ok(other) => Ok(strip_no_value(other)),
                Err(e) if e.starts_with("template: ") && !e.contains("executing") => Err(format!(
                    "cannot parse template {}: {e}",
                    signet_gotemplate::fmt::quote(&text)
                )),
                Err(e) => Err(format!(
                    "error during tpl function execution for {}: {e}",
                    signet_gotemplate::fmt::quote(&text)
                )),
            }
        });
        t.add_engine_func("tpl", tpl);

        let lint = self.lint_mode;
        let mut extra = FuncMap::new();
        extra.insert(
            "required".into(),
            Arc::new(move |args: &[Value]| {
                if args.len() != 2 {
                    return Err(format!(
                        "wrong number of args for required: want 2 got {}",
                        args.len()
                    ));
                }
                let warn = string_arg("required", &args[..1])?;
                let missing = match &args[1] {
                    Value::Nil => true,
                    Value::String(s) => s.is_empty(),
                    _ => false,
                };
                if missing {
                    if lint {
                        return Ok(Value::str(""));
                    }
                    return Err(format!("{ERR_START}{warn}{ERR_END}"));
                }
                Ok(args[1].clone())
            }),
        );
        extra.insert(
            "fail".into(),
            Arc::new(move |args: &[Value]| {
                let msg = string_arg("fail", args)?;
                if lint {
                    return Ok(Value::str(""));
                }
                Err(format!("{ERR_START}{msg}{ERR_END}"))
            }),
        );
        let lookup = self.lookup.clone();
        extra.insert(
            "lookup".into(),
            Arc::new(move |args: &[Value]| {
                if args.len() != 4 {
                    return Err(format!(
                        "wrong number of args for lookup: want 4 got {}",
                        args.len()
                    ));
                }
                let s = args
                    .iter()
                    .map(|a| string_arg("lookup", std::slice::from_ref(a)))
                    .collect::<Result<Vec<_>, _>>()?;
                lookup.lookup(&s[0], &s[1], &s[2], &s[3])
            }),
        );
        t.add_funcs(extra);
        t
    }

    /// Helm's `Engine.Render`: every template of the chart tree rendered with `top` (the map with
    /// `Values`, `Release`, `Capabilities`). Keys are full template paths (`chart/templates/x.yaml`);
    /// partials are not in the result.
    pub fn render(
        &self,
        chart: &Chart,
        top: &Value,
    ) -> Result<BTreeMap<String, String>, RenderError> {
        fn wrap(c: &Chart) -> ResolvedChart<'_> {
            ResolvedChart {
                source: c,
                metadata: c.metadata.clone(),
                values: Value::empty_map(),
                dependencies: c.dependencies.iter().map(wrap).collect(),
            }
        }
        self.render_resolved(&wrap(chart), top)
    }

    /// [`Engine::render`] over a chart tree whose dependencies were processed.
    pub fn render_resolved(
        &self,
        chart: &ResolvedChart<'_>,
        top: &Value,
    ) -> Result<BTreeMap<String, String>, RenderError> {
        self.render_resolved_with(chart, top, &mut || Ok(()), &mut |_, _| {})
    }

    /// [`Engine::render_resolved`] with two hooks: `before_error` runs before a parse or execution
    /// error is returned, and its own error, if any, wins — for checks that run alongside the
    /// render but come first in Helm (after a successful render the caller takes their verdict
    /// itself); `on_rendered` gets each file as soon as it is rendered (so its manifests can be
    /// checked while the rest render).
    pub fn render_resolved_with<E: From<RenderError>>(
        &self,
        chart: &ResolvedChart<'_>,
        top: &Value,
        before_error: &mut dyn FnMut() -> Result<(), E>,
        on_rendered: &mut dyn FnMut(&str, &str),
    ) -> Result<BTreeMap<String, String>, E> {
        let mut tpls = BTreeMap::new();
        collect_templates(chart, None, top, &mut tpls);
        self.render_renderables(tpls, self.new_set(), None, before_error, on_rendered)
    }

    /// [`Engine::render_resolved_with`] into `set` (made by [`Engine::new_set`]), taking the
    /// templates that `ahead` parsed with that set's environment instead of parsing them again.
    pub(crate) fn render_resolved_ahead<E: From<RenderError>>(
        &self,
        chart: &ResolvedChart<'_>,
        top: &Value,
        set: Template,
        ahead: Option<&ParseAhead<'_>>,
        before_error: &mut dyn FnMut() -> Result<(), E>,
        on_rendered: &mut dyn FnMut(&str, &str),
    ) -> Result<BTreeMap<String, String>, E> {
        let mut tpls = BTreeMap::new();
        collect_templates(chart, None, top, &mut tpls);
        self.render_renderables(tpls, set, ahead, before_error, on_rendered)
    }

    /// Executes one template text with Helm's functions (no `<no value>` stripping), as Helm's
    /// `funcMap` tests do.
    pub fn execute_text(
        &self,
        name: &str,
        text: &str,
        data: &Value,
    ) -> Result<String, RenderError> {
        let mut set = self.new_set();
        set.parse_named(name, text)
            .map_err(|e| RenderError::Parse(e.to_string()))?;
        set.execute_template(name, data)
            .map_err(|e| RenderError::Exec(e.to_string()))
    }

    /// Every function name templates can call besides Go's builtins.
    pub fn function_names() -> Vec<String> {
        let mut names: Vec<String> = func_map().into_keys().collect();
        names.extend(["include", "tpl", "required", "fail", "lookup"].map(String::from));
        names.sort();
        names.dedup();
        names
    }

    /// Renders a flat map of named templates, each with its own dot (Helm's internal `render`).
    pub fn render_named(
        &self,
        templates: Vec<(String, String, Value)>,
    ) -> Result<BTreeMap<String, String>, RenderError> {
        let tpls = templates
            .into_iter()
            .map(|(name, text, dot)| {
                (
                    name,
                    Renderable {
                        text: Cow::Owned(text),
                        dot,
                        base_path: String::new(),
                    },
                )
            })
            .collect();
        self.render_renderables(
            tpls,
            self.new_set(),
            None,
            &mut || Ok::<_, RenderError>(()),
            &mut |_, _| {},
        )
    }

    /// Parses `tpls` into `set` in Helm's order (taking what `ahead` parsed where it matches),
    /// then executes every non-partial template.
    fn render_renderables<E: From<RenderError>>(
        &self,
        tpls: BTreeMap<String, Renderable<'_>>,
        mut set: Template,
        ahead: Option<&ParseAhead<'_>>,
        before_error: &mut dyn FnMut() -> Result<(), E>,
        on_rendered: &mut dyn FnMut(&str, &str),
    ) -> Result<BTreeMap<String, String>, E> {
        let mut keys: Vec<String> = tpls.keys().cloned().collect();
        sort_templates(&mut keys);
        let parse_error = |name: &str, e: signet_gotemplate::Error| {
            RenderError::Parse(cleanup_parse_error(name, &e.to_string()))
        };
        let parsed = match ahead {
            None => keys.iter().try_for_each(|name| {
                set.parse_named(name, &tpls[name].text)
                    .map(drop)
                    .map_err(|e| parse_error(name, e))
            }),
            Some(ahead) => {
                let files: Vec<(&str, &str)> = keys
                    .iter()
                    .map(|name| (name.as_str(), &*tpls[name].text))
                    .collect();
                // Added in Helm's order, stopping at the first error, as parsing one by one would.
                ahead
                    .parse_all(&files)
                    .into_iter()
                    .zip(&keys)
                    .try_for_each(|(parsed, name)| {
                        set.add_parsed(parsed.map_err(|e| parse_error(name, e))?);
                        Ok(())
                    })
            }
        };
        if let Err(e) = parsed {
            before_error()?;
            return Err(e.into());
        }
        // Templates execute without waiting for `before_error`'s checks (a schema validation
        // would otherwise hold up every render): only a failure asks for them first.
        let mut rendered = BTreeMap::new();
        for name in &keys {
            if is_partial(name) {
                continue;
            }
            let r = &tpls[name];
            set_template_info(&r.dot, name, &r.base_path);
            let out = match set.execute_template_bytes(name, &r.dot) {
                Ok(out) => out,
                Err(e) => {
                    before_error()?;
                    return Err(RenderError::Exec(reformat_exec_error(&e.to_string())).into());
                }
            };
            let out = output_text(name, out);
            // Most outputs have no "<no value>": skip the copy `replace` would make of them.
            let out = if out.contains("<no value>") {
                out.replace("<no value>", "")
            } else {
                out
            };
            on_rendered(name, &out);
            rendered.insert(name.clone(), out);
        }
        if self.skip_teardown {
            std::mem::forget(set);
            std::mem::forget(tpls);
        }
        Ok(rendered)
    }
}

/// A rendered file's bytes as text. Go strings may hold any bytes, so a template can write bytes
/// that are not UTF-8 (a binary file's content): Helm's YAML reader then refuses the manifest,
/// so they are kept escaped (see [`signet_gotemplate::gostr`]) for the manifest check to report
/// as go-yaml does. `NOTES.txt` is never read as YAML: its invalid bytes read as U+FFFD.
fn output_text(name: &str, out: Vec<u8>) -> String {
    match String::from_utf8(out) {
        Ok(s) => s,
        Err(e) if name.ends_with("/NOTES.txt") => {
            signet_gotemplate::gostr::lossy(e.as_bytes()).into_owned()
        }
        Err(e) => signet_gotemplate::gostr::escape(e.as_bytes()),
    }
}

/// `tpl`'s removal of `<no value>` from a non-UTF-8 result, on its bytes.
fn strip_no_value(v: Value) -> Value {
    let Value::Binary(b) = &v else {
        return v;
    };
    const NO_VALUE: &[u8] = b"<no value>";
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(NO_VALUE) {
            i += NO_VALUE.len();
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Value::from_go_bytes(out)
}

/// Sets `.Template` on the dot in place, as Helm does (`vals["Template"] = …`): every template of a
/// chart shares one dot, so what one template stores in `$` (a merged `.Values`, any key) the
/// later ones see, and `.Subcharts.NAME.Template` names that subchart's last rendered template.
fn set_template_info(dot: &Value, name: &str, base_path: &str) {
    let Value::Map(m) = dot else {
        return;
    };
    let mut t = BTreeMap::new();
    t.insert("Name".to_string(), Value::str(name));
    t.insert("BasePath".to_string(), Value::str(base_path));
    m.borrow_mut().insert("Template".to_string(), Value::map(t));
}

/// Helm's `recAllTpls`: builds this chart's dot, recurses into subcharts, and records templates.
fn collect_templates<'a>(
    chart: &ResolvedChart<'a>,
    parent: Option<(&str, &Value)>,
    top: &Value,
    out: &mut BTreeMap<String, Renderable<'a>>,
) -> Value {
    let get = |k: &str| match top {
        Value::Map(m) => m.borrow().get(k).cloned().unwrap_or(Value::Nil),
        _ => Value::Nil,
    };
    let is_root = parent.is_none();
    let full_path = match parent {
        None => chart.name().to_string(),
        Some((p, _)) => format!("{p}/charts/{}", chart.name()),
    };
    let values = match parent {
        None => get("Values"),
        Some((_, parent_dot)) => scoped_values(parent_dot, chart.name()),
    };
    let subcharts = Value::empty_map();
    let mut next = BTreeMap::new();
    next.insert("Chart".to_string(), chart_object(&chart.metadata, is_root));
    next.insert(
        "Files".to_string(),
        Value::Object(Rc::new(Files::new(
            &chart.source.files,
            &chart.source.unread_files,
        ))),
    );
    next.insert("Release".to_string(), get("Release"));
    next.insert("Capabilities".to_string(), get("Capabilities"));
    next.insert("Values".to_string(), values);
    next.insert("Subcharts".to_string(), subcharts.clone());
    let next = Value::map(next);
    for dep in &chart.dependencies {
        let child = collect_templates(dep, Some((&full_path, &next)), top, out);
        if let Value::Map(s) = &subcharts {
            s.borrow_mut().insert(dep.name().to_string(), child);
        }
    }
    for t in chart_templates(chart.source) {
        out.insert(
            format!("{full_path}/{}", t.name),
            Renderable {
                text: template_text(&t.data),
                dot: next.clone(),
                base_path: format!("{full_path}/templates"),
            },
        );
    }
    next
}

/// Whether a template path names a partial (`_helpers.tpl`): parsed for its defines, never
/// rendered.
pub(crate) fn is_partial(path: &str) -> bool {
    path.rsplit('/')
        .next()
        .is_some_and(|base| base.starts_with('_'))
}

/// The template files `chart` contributes to a release: all of them, or a library chart's
/// partials only.
pub(crate) fn chart_templates(chart: &Chart) -> impl Iterator<Item = &ChartFile> {
    let library = chart.metadata.is_library();
    chart
        .templates
        .iter()
        .filter(move |t| !library || is_partial(&t.name))
}

/// A template file's text as Helm reads it (invalid UTF-8 replaced). Valid text (nearly every
/// file) is checked by the fast validator and borrowed.
pub(crate) fn template_text(data: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(data) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(data),
    }
}

/// `vals.Table("Values." + name)` on the parent's dot: the subchart's values, or an empty map.
fn scoped_values(parent_dot: &Value, name: &str) -> Value {
    let Value::Map(dot) = parent_dot else {
        return Value::empty_map();
    };
    let values = dot.borrow().get("Values").cloned();
    match values {
        Some(Value::Map(v)) => match v.borrow().get(name) {
            Some(m @ Value::Map(_)) => m.clone(),
            _ => Value::empty_map(),
        },
        _ => Value::empty_map(),
    }
}

/// Helm's `cleanupParseError`: `parse error at (FILE:LINE): MESSAGE`.
fn cleanup_parse_error(filename: &str, err: &str) -> String {
    let tokens: Vec<&str> = err.splitn(3, ": ").collect();
    if tokens.len() == 1 {
        return format!("parse error in ({filename}): {err}");
    }
    let location = tokens[1];
    let message = tokens.get(2).copied().unwrap_or("");
    format!("parse error at ({location}): {message}")
}

/// Helm's `reformatExecErrorMsg`: a `required`/`fail` message becomes
/// `execution error at (FILE:LINE:COL): MESSAGE`; other errors keep Go's text.
fn reformat_exec_error(err: &str) -> String {
    let tokens: Vec<&str> = err.splitn(3, ": ").collect();
    if tokens.len() != 3 {
        return err.to_string();
    }
    if let Some(start) = tokens[2].find(ERR_START)
        && let Some(end) = tokens[2].rfind(ERR_END)
        && end >= start + ERR_START.len()
    {
        let msg = &tokens[2][start + ERR_START.len()..end];
        return format!("execution error at ({}): {msg}", tokens[1]);
    }
    let clean = err.replace(ERR_START, "").replace(ERR_END, "");
    match trace_chain(&clean) {
        Some(trace) => trace,
        None => clean,
    }
}

/// Helm 4's traceable error layout: each `template: LOC: executing "NAME" at <NODE>: MSG` level of
/// an `include` chain on its own indented lines. `None` when a level does not fit (Helm then keeps
/// Go's one-line message).
fn trace_chain(err: &str) -> Option<String> {
    let mut out = String::new();
    let mut rest = err;
    loop {
        let body = rest.strip_prefix("template: ")?;
        let Some((location, after)) = body.split_once(": executing ") else {
            out.push_str(rest);
            break;
        };
        let (function, after) = after.split_once(" at ")?;
        let (node, message) = after.split_once(": ")?;
        out.push_str(&format!(
            "{location}\n  executing {function} at {node}:\n    "
        ));
        match message
            .strip_prefix("error calling ")
            .and_then(|m| m.split_once(": "))
        {
            Some((func, inner)) if inner.starts_with("template: ") => {
                out.push_str(&format!("error calling {func}:\n"));
                rest = inner;
            }
            Some(_) => return None,
            None => {
                out.push_str(message);
                break;
            }
        }
    }
    Some(out.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render_one(text: &str) -> Result<BTreeMap<String, String>, RenderError> {
        let mut values = BTreeMap::new();
        values.insert("Values".to_string(), Value::empty_map());
        Engine::default().render_named(vec![(
            "c3/templates/a.yaml".into(),
            text.into(),
            Value::map(values),
        )])
    }

    #[test]
    fn template_text_borrows_valid_text_and_replaces_invalid_bytes() {
        assert!(matches!(
            template_text(b"a: {{ .x }}"),
            Cow::Borrowed("a: {{ .x }}")
        ));
        assert_eq!(template_text(b"a\xffb"), "a\u{FFFD}b");
    }

    // Expected texts are what helm v4.1.4 prints for the same templates.
    #[test]
    fn helm4_traceable_error_layout() {
        let err = render_one("a: {{ .Values.x.y }}\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "c3/templates/a.yaml:1:13\n  executing \"c3/templates/a.yaml\" at <.Values.x.y>:\n    nil pointer evaluating interface {}.y"
        );
        let err = render_one(
            "{{ define \"inner\" }}{{ .Values.x.y }}{{ end }}{{ define \"outer\" }}{{ include \"inner\" . }}{{ end }}a: {{ include \"outer\" . }}\n",
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            err,
            "c3/templates/a.yaml:1:104\n  executing \"c3/templates/a.yaml\" at <include \"outer\" .>:\n    error calling include:\nc3/templates/a.yaml:1:69\n  executing \"outer\" at <include \"inner\" .>:\n    error calling include:\nc3/templates/a.yaml:1:30\n  executing \"inner\" at <.Values.x.y>:\n    nil pointer evaluating interface {}.y"
        );
        let err = render_one("a: {{ include \"nope\" . }}\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "c3/templates/a.yaml:1:6\n  executing \"c3/templates/a.yaml\" at <include \"nope\" .>:\n    error calling include:\ntemplate: no template \"nope\" associated with template \"gotpl\""
        );
        let err = render_one("a: {{ index .Values 1 }}\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "template: c3/templates/a.yaml:1:6: executing \"c3/templates/a.yaml\" at <index .Values 1>: error calling index: value has type int; should be string"
        );
        let err = render_one(
            "{{ define \"inner\" }}{{ fail \"boom\" }}{{ end }}a: {{ include \"inner\" . }}\n",
        )
        .unwrap_err()
        .to_string();
        assert_eq!(err, "execution error at (c3/templates/a.yaml:1:52): boom");
        let err = render_one("a: {{ tpl \"{{ .Values.x.y }}\" . }}\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "template: c3/templates/a.yaml:1:6: executing \"c3/templates/a.yaml\" at <tpl \"{{ .Values.x.y }}\" .>: error calling tpl: error during tpl function execution for \"{{ .Values.x.y }}\": template: gotpl:1:10: executing \"gotpl\" at <.Values.x.y>: nil pointer evaluating interface {}.y"
        );
        let err = render_one("a: {{ .Values.q | upper | foo }}")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "parse error at (c3/templates/a.yaml:1): function \"foo\" not defined"
        );
    }
}
