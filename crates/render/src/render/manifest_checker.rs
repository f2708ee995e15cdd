//! Checking rendered files on spare cores while the engine renders the rest.
//!
//! Helm decodes every rendered manifest in full before sorting; for charts that ship big CRDs that
//! decode costs more than rendering. Template execution is single-threaded (its values are shared
//! `Rc` trees), but a rendered file is plain text, and classifying it ([`classify_file`]) depends on
//! nothing else. So each file goes to a queue the moment it is rendered; worker threads classify
//! files from it, and the rendering thread joins in once it is done. The outcome is exactly the
//! sequential one: results are assembled in path order, and the first failing path is the error.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Condvar, Mutex, MutexGuard};

use super::manifests::{ManifestError, SortedManifests, classify_file};

/// Each rendered file's manifests, by path.
pub type Classified = BTreeMap<String, Result<SortedManifests, ManifestError>>;

/// Runs `render` (which hands each rendered file to its callback) while classifying the files it
/// produces on other threads; returns what `render` returned and every classified file.
pub fn render_and_classify<T, E>(
    render: impl FnOnce(&mut dyn FnMut(&str, &str)) -> Result<T, E>,
) -> Result<(T, Classified), E> {
    let queue = Queue::default();
    let results = Mutex::new(Classified::new());
    let rendered = std::thread::scope(|scope| {
        for _ in 0..CHECKERS.min(super::spare_cores()) {
            scope.spawn(|| {
                super::lower_thread_priority();
                while let Some(job) = queue.next(true) {
                    job.run(&results);
                }
            });
        }
        let rendered = render(&mut |path, content| queue.push(path, content));
        if rendered.is_err() {
            // Nobody will read the results: stop the workers early.
            queue.clear();
        }
        queue.close();
        while let Some(job) = queue.next(false) {
            job.run(&results);
        }
        rendered
    })?;
    let results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    Ok((rendered, results))
}

/// Threads besides the caller's worth starting: one per spare core, this many at most.
const CHECKERS: usize = 3;

struct Job {
    path: String,
    content: String,
}

impl Job {
    fn run(self, results: &Mutex<Classified>) {
        let classified = classify_file(&self.path, &self.content);
        lock(results).insert(self.path, classified);
    }
}

#[derive(Default)]
struct Queue {
    state: Mutex<QueueState>,
    changed: Condvar,
}

#[derive(Default)]
struct QueueState {
    jobs: VecDeque<Job>,
    closed: bool,
}

impl Queue {
    fn push(&self, path: &str, content: &str) {
        // NOTES are not manifests; the release drops them before sorting.
        if path.ends_with("NOTES.txt") {
            return;
        }
        lock(&self.state).jobs.push_back(Job {
            path: path.to_string(),
            content: content.to_string(),
        });
        self.changed.notify_one();
    }

    /// The next job; with `wait`, blocks until one arrives or the queue closes.
    fn next(&self, wait: bool) -> Option<Job> {
        let mut state = lock(&self.state);
        loop {
            if let Some(job) = state.jobs.pop_front() {
                return Some(job);
            }
            if state.closed || !wait {
                return None;
            }
            state = self
                .changed
                .wait(state)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }

    fn clear(&self) {
        lock(&self.state).jobs.clear();
    }

    fn close(&self) {
        lock(&self.state).closed = true;
        self.changed.notify_all();
    }
}

/// Locks, taking over a lock whose holder panicked: the protected data stays consistent because
/// every critical section here is a single push, pop or insert.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_every_rendered_file_except_notes() {
        let (out, classified) = render_and_classify(|sink| {
            for i in 0..50 {
                sink(
                    &format!("c/templates/f{i:02}.yaml"),
                    &format!("kind: K{i}\n"),
                );
            }
            sink("c/templates/NOTES.txt", "not yaml: [");
            Ok::<_, ()>("done")
        })
        .unwrap();
        assert_eq!(out, "done");
        assert_eq!(classified.len(), 50);
        for (i, (path, result)) in classified.iter().enumerate() {
            assert_eq!(path, &format!("c/templates/f{i:02}.yaml"));
            let sorted = result.as_ref().unwrap();
            assert_eq!(sorted.manifests[0].kind, format!("K{i}"));
        }
    }

    #[test]
    fn keeps_each_files_own_error() {
        let (_, classified) = render_and_classify(|sink| {
            sink("c/templates/a.yaml", "kind: [");
            sink("c/templates/b.yaml", "kind: B\n");
            Ok::<_, ()>(())
        })
        .unwrap();
        assert!(classified["c/templates/a.yaml"].is_err());
        assert!(classified["c/templates/b.yaml"].is_ok());
    }

    #[test]
    fn a_failed_render_returns_its_error() {
        let result = render_and_classify(|sink| {
            sink("c/templates/a.yaml", "kind: A\n");
            Err::<(), _>("boom")
        });
        assert_eq!(result.unwrap_err(), "boom");
    }
}
