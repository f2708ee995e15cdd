//! The RSA keys of Sprig's certificate generators (`genCA`, `genSelfSignedCert`,
//! `genSignedCert`) for one template set: a [`KeySupply`] hands out fresh 2048-bit keys, each
//! made of two 1024-bit primes that it searches on the machine's cores, ahead of need when the
//! set's templates call those generators more than once. A prime search is a draw of random
//! length, so the cores search primes, not whole keys: a key is the first two primes found
//! anywhere, and a render needing k keys waits for about 2k / cores prime searches.
//!
//! Policy, and why (counted in primes, two per key):
//! - Nothing runs until the first key is requested: most charts' generator calls sit in branches
//!   their values disable, and those renders must not pay for background work.
//! - Look-ahead is bounded by both the spare cores (`available_parallelism - 1`) and the
//!   generator calls the running template may still make: the calls the parser saw in its file
//!   and in files that only define templates (helpers it may include), plus those of text parsed
//!   while it runs (`tpl`), minus the keys it already took ([`KeySupply::parsed`],
//!   [`KeySupply::executing`]). So a render searches at most one unused prime per spare core,
//!   and none when its templates call the generators no more often than they are written.
//! - A racing supply ([`KeySupply::racing`], for a one-shot process that only waits for its
//!   render) trades CPU for latency: a request that finds no prime ready has every idle core
//!   (the spare ones, and its own while it waits) search one, and takes the first found. The
//!   other primes serve later calls or are discarded: still at most one unused prime per spare
//!   core.
//! - A request that finds no ready prime takes the first prime any running search finds (its
//!   own included); with nothing else running it searches on the calling thread. Each search
//!   starts from an independent draw from the CSPRNG and sieves upwards, which favours primes
//!   after long gaps (as OpenSSL's search long did); taking the first one found favours short
//!   searches, so it moves the choice slightly towards uniform over the primes, never towards
//!   fewer of them.
//! - The supply belongs to one template set: primes never reach another render. Dropping it
//!   discards ready primes at once; searches still running are detached and discard their prime
//!   when they finish, so the end of a render never waits for them. Keys are never logged.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};

use super::keys::{self, KeyPair};

/// Primes in an RSA key.
const PRIMES_PER_KEY: usize = 2;

/// Template functions that take one fresh key from the supply per call.
const KEY_DRAWING_FUNCTIONS: [&str; 3] = ["genCA", "genSelfSignedCert", "genSignedCert"];

/// Whether a call of template function `name` draws a key from the supply (what the parser
/// counts for [`KeySupply::parsed`]).
pub(crate) fn draws_certificate_key(name: &str) -> bool {
    name.starts_with("gen") && KEY_DRAWING_FUNCTIONS.contains(&name)
}

/// Fresh RSA-2048 keys for one template set's certificate generators.
pub(crate) struct KeySupply {
    primes: Prefetcher<rsa::BigUint>,
    calls: Mutex<ParsedCalls>,
}

/// Key-drawing calls the parser saw.
#[derive(Default)]
struct ParsedCalls {
    /// Per parsed template file with content of its own.
    by_file: HashMap<String, usize>,
    /// In files that only define templates (any template may include those).
    in_helpers: usize,
}

/// What a parsed text is, for counting its key-drawing calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ParsedText {
    /// A template file that is executed by name.
    File,
    /// A file of `define`s only (its main template is empty).
    DefinesOnly,
    /// Text parsed by a running template (`tpl`), executed right away.
    DuringExecution,
}

impl KeySupply {
    /// A supply that generates every key on the calling thread when asked (Sprig's own map).
    pub(crate) fn on_demand() -> KeySupply {
        KeySupply::with_spare_cores(Some(0))
    }

    /// A supply that generates keys ahead of need on the machine's spare cores.
    pub(crate) fn prefetching() -> KeySupply {
        KeySupply::with_spare_cores(None)
    }

    /// A prefetching supply whose requests race generations on every idle core.
    pub(crate) fn racing() -> KeySupply {
        let mut supply = KeySupply::prefetching();
        supply.primes.race = true;
        supply
    }

    fn with_spare_cores(spare: Option<usize>) -> KeySupply {
        KeySupply {
            primes: Prefetcher::new(Arc::new(keys::generate_rsa_prime), spare),
            calls: Mutex::new(ParsedCalls::default()),
        }
    }

    /// Records that the parse of `name` found `calls` calls of the key-drawing functions.
    pub(crate) fn parsed(&self, name: &str, calls: usize, text: ParsedText) {
        if calls == 0 {
            return;
        }
        match text {
            ParsedText::File => {
                // A re-parse replaces the file's templates.
                lock(&self.calls).by_file.insert(name.to_string(), calls);
            }
            ParsedText::DefinesOnly => {
                let mut parsed = lock(&self.calls);
                parsed.in_helpers = parsed.in_helpers.saturating_add(calls);
            }
            ParsedText::DuringExecution => self.primes.expect(calls.saturating_mul(PRIMES_PER_KEY)),
        }
    }

    /// A top-level execution of template `name` starts: it may make the calls of its own file
    /// and of the define-only files.
    pub(crate) fn executing(&self, name: &str) {
        let calls = {
            let parsed = lock(&self.calls);
            let own = parsed.by_file.get(name).copied().unwrap_or(0);
            own.saturating_add(parsed.in_helpers)
        };
        self.primes.begin(calls.saturating_mul(PRIMES_PER_KEY));
    }

    /// A fresh RSA-2048 key, whose primes were never handed out before.
    pub(super) fn take(&self) -> Result<KeyPair, String> {
        let p = self.primes.take()?;
        let mut q = self.primes.take()?;
        while !keys::primes_far_enough_apart(&p, &q) {
            q = self.primes.take()?;
        }
        KeyPair::rsa_from_primes(p, q)
    }
}

/// Makes one item (a prime) per call; may run on any thread.
type Generate<T> = Arc<dyn Fn() -> Result<T, String> + Send + Sync>;

/// Generic over the item so that tests can drive it with a controllable generator.
struct Prefetcher<T: Send + 'static> {
    shared: Arc<Shared<T>>,
    generate: Generate<T>,
    /// Background generations allowed besides the requester's own; unset until the first
    /// request looks up the spare cores, when not fixed at construction.
    spare: OnceLock<usize>,
    /// A request that finds no item ready starts generations on all idle cores, not one.
    race: bool,
}

/// What the requesting thread and the generator threads share.
struct Shared<T> {
    state: Mutex<State<T>>,
    /// Signalled whenever a generation ends (with or without an item).
    finished: Condvar,
}

struct State<T> {
    ready: VecDeque<T>,
    /// Generations running on background threads.
    in_flight: usize,
    /// Calls the running execution may make, and items it took so far.
    expected: usize,
    served: usize,
    /// Set when the supply is dropped: finishing generations discard their item.
    closed: bool,
    /// Background generations started, and items they made (for tests: they show what ran
    /// off the caller's thread).
    started: usize,
    made_in_background: usize,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere while holding the lock leaves counters that are still consistent
    // enough to hand out or generate keys; never propagate it as a second panic.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<T: Send + 'static> Prefetcher<T> {
    fn new(generate: Generate<T>, spare: Option<usize>) -> Self {
        Prefetcher {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    ready: VecDeque::new(),
                    in_flight: 0,
                    expected: 0,
                    served: 0,
                    closed: false,
                    started: 0,
                    made_in_background: 0,
                }),
                finished: Condvar::new(),
            }),
            generate,
            spare: spare.map(OnceLock::from).unwrap_or_default(),
            race: false,
        }
    }

    /// The calls the running template may still make grew by `calls`.
    fn expect(&self, calls: usize) {
        let mut state = lock(&self.shared.state);
        state.expected = state.expected.saturating_add(calls);
    }

    /// A new top-level execution that may make `calls` calls starts. Keys ready or running
    /// from the previous one stay for it.
    fn begin(&self, calls: usize) {
        let mut state = lock(&self.shared.state);
        state.expected = calls;
        state.served = 0;
    }

    fn spare_cores(&self) -> usize {
        *self.spare.get_or_init(|| {
            std::thread::available_parallelism()
                .map(|n| n.get().saturating_sub(1))
                .unwrap_or(0)
        })
    }

    fn take(&self) -> Result<T, String> {
        let spare = self.spare_cores();
        let mut state = lock(&self.shared.state);
        state.served = state.served.saturating_add(1);
        // Keys the templates may still ask for after this one, as far as spare cores allow.
        let look_ahead = spare.min(state.expected.saturating_sub(state.served));
        if let Some(item) = state.ready.pop_front() {
            self.top_up(&mut state, look_ahead);
            return Ok(item);
        }
        // One generation for this request (unless enough are running already) plus the
        // look-ahead, or when racing one per idle core; the first to finish serves this request.
        let running = 1 + if self.race { spare } else { look_ahead };
        if state.in_flight == 0 && running == 1 {
            drop(state);
            return (self.generate)();
        }
        self.top_up(&mut state, running);
        loop {
            if let Some(item) = state.ready.pop_front() {
                return Ok(item);
            }
            if state.in_flight == 0 {
                // Every running generation failed (or none could start): generate here, which
                // also reports the generator's own error.
                drop(state);
                return (self.generate)();
            }
            state = self
                .shared
                .finished
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Starts background generations until `target` items are ready or running.
    fn top_up(&self, state: &mut State<T>, target: usize) {
        while state.ready.len() + state.in_flight < target {
            if !self.spawn_one(state) {
                break;
            }
        }
    }

    /// Starts one detached background generation; false if no thread could be started.
    fn spawn_one(&self, state: &mut State<T>) -> bool {
        let shared = Arc::clone(&self.shared);
        let generate = Arc::clone(&self.generate);
        let spawned = std::thread::Builder::new()
            .name("signet-keygen".into())
            .spawn(move || {
                // Counts the generation as ended even if the generator panics, so that a
                // waiting request falls back to generating instead of waiting forever.
                let mut ending = Ending {
                    shared: &shared,
                    item: None,
                };
                ending.item = generate().ok();
            });
        match spawned {
            Ok(_detached) => {
                state.in_flight += 1;
                state.started += 1;
                true
            }
            Err(_) => false,
        }
    }
}

/// Records the end of one background generation: hands its item over (or discards it when the
/// supply is gone) and wakes waiting requests.
struct Ending<'a, T> {
    shared: &'a Shared<T>,
    item: Option<T>,
}

impl<T> Drop for Ending<'_, T> {
    fn drop(&mut self) {
        let item = self.item.take();
        let mut state = lock(&self.shared.state);
        state.in_flight = state.in_flight.saturating_sub(1);
        if let Some(item) = item {
            state.made_in_background += 1;
            if !state.closed {
                state.ready.push_back(item);
            }
        }
        drop(state);
        self.shared.finished.notify_all();
    }
}

impl<T: Send + 'static> Drop for Prefetcher<T> {
    fn drop(&mut self) {
        let unused = {
            let mut state = lock(&self.shared.state);
            state.closed = true;
            std::mem::take(&mut state.ready)
        };
        // Dropped outside the lock; running generations are not waited for.
        drop(unused);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc;

    /// A generator of numbered items whose calls from `gate_from` on block until the gate
    /// opens, and that reports each finished call.
    struct Gated {
        calls: AtomicUsize,
        gate_from: usize,
        open: Mutex<bool>,
        opened: Condvar,
        done: Mutex<mpsc::Sender<usize>>,
    }

    impl Gated {
        fn new(gate_from: usize) -> (Arc<Gated>, mpsc::Receiver<usize>) {
            let (tx, rx) = mpsc::channel();
            let g = Arc::new(Gated {
                calls: AtomicUsize::new(0),
                gate_from,
                open: Mutex::new(false),
                opened: Condvar::new(),
                done: Mutex::new(tx),
            });
            (g, rx)
        }

        fn make(&self) -> Result<Item, String> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            if n >= self.gate_from {
                let mut open = self.open.lock().unwrap();
                while !*open {
                    open = self.opened.wait(open).unwrap();
                }
            }
            let _ = self.done.lock().unwrap().send(n);
            Ok(Item(n))
        }

        fn release(&self) {
            *self.open.lock().unwrap() = true;
            self.opened.notify_all();
        }

        fn generator(self: &Arc<Self>) -> Generate<Item> {
            let g = Arc::clone(self);
            Arc::new(move || g.make())
        }
    }

    #[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
    struct Item(usize);

    fn background_made<T: Send + 'static>(p: &Prefetcher<T>) -> usize {
        lock(&p.shared.state).made_in_background
    }

    fn background_started<T: Send + 'static>(p: &Prefetcher<T>) -> usize {
        lock(&p.shared.state).started
    }

    #[test]
    fn first_request_starts_look_ahead_on_spare_cores() {
        let (g, _done) = Gated::new(usize::MAX);
        let p = Prefetcher::new(g.generator(), Some(2));
        p.expect(3);
        let mut items = vec![p.take().unwrap()];
        // The first request started its own generation and two look-ahead ones, all on
        // background threads: the remaining two requests find them ready or running.
        assert_eq!(background_started(&p), 3);
        items.push(p.take().unwrap());
        items.push(p.take().unwrap());
        assert_eq!(background_started(&p), 3, "no generation beyond the calls");
        assert_eq!(g.calls.load(Ordering::SeqCst), 3);
        assert_eq!(background_made(&p), 3);
        items.sort();
        assert_eq!(items, vec![Item(0), Item(1), Item(2)]);
    }

    #[test]
    fn nothing_runs_before_the_first_request_nor_without_spare_cores() {
        let (g, _done) = Gated::new(usize::MAX);
        let p = Prefetcher::new(g.generator(), Some(4));
        p.expect(5);
        assert_eq!(background_started(&p), 0);
        assert_eq!(g.calls.load(Ordering::SeqCst), 0);
        let (g1, _done1) = Gated::new(usize::MAX);
        let single = Prefetcher::new(g1.generator(), Some(0));
        single.expect(5);
        assert_eq!(single.take().unwrap(), Item(0));
        assert_eq!(single.take().unwrap(), Item(1));
        assert_eq!(
            background_started(&single),
            0,
            "generated on the caller's thread"
        );
    }

    #[test]
    fn a_racing_request_uses_every_idle_core_and_later_calls_take_the_spare_items() {
        let (g, _done) = Gated::new(usize::MAX);
        let mut p = Prefetcher::new(g.generator(), Some(2));
        p.race = true;
        p.expect(1);
        let first = p.take().unwrap();
        // One announced call, yet three generations: the two spare cores and the requester's.
        assert_eq!(background_started(&p), 3);
        // Once they have all finished, two items wait; the next requests take them without
        // starting anything, and only the one after that starts generations again.
        while lock(&p.shared.state).in_flight > 0 {
            std::thread::yield_now();
        }
        let mut items = vec![first, p.take().unwrap(), p.take().unwrap()];
        assert_eq!(background_started(&p), 3);
        items.push(p.take().unwrap());
        assert_eq!(background_started(&p), 6);
        items.sort();
        items.dedup();
        assert_eq!(items.len(), 4, "every request gets its own item");
        // Without spare cores a racing request generates on its own thread, as any other.
        let (g0, _done0) = Gated::new(usize::MAX);
        let mut alone = Prefetcher::new(g0.generator(), Some(0));
        alone.race = true;
        assert_eq!(alone.take().unwrap(), Item(0));
        assert_eq!(background_started(&alone), 0);
    }

    #[test]
    fn requests_beyond_the_announced_calls_still_get_items() {
        let (g, _done) = Gated::new(usize::MAX);
        let p = Prefetcher::new(g.generator(), Some(3));
        p.expect(1);
        let mut items: Vec<Item> = (0..5).map(|_| p.take().unwrap()).collect();
        // One announced call: no look-ahead at all, every item made on demand.
        assert_eq!(background_started(&p), 0);
        assert_eq!(g.calls.load(Ordering::SeqCst), 5);
        items.sort();
        items.dedup();
        assert_eq!(items.len(), 5);
    }

    #[test]
    fn dropping_with_generations_running_does_not_wait_and_discards_their_items() {
        // Calls 0 and 1 finish at once; call 2 (look-ahead) blocks until released.
        let (g, done) = Gated::new(2);
        let p = Prefetcher::new(g.generator(), Some(2));
        p.expect(3);
        let first = p.take().unwrap();
        assert!(first == Item(0) || first == Item(1));
        let shared = Arc::clone(&p.shared);
        assert_eq!(lock(&shared.state).started, 3);
        assert!(
            lock(&shared.state).in_flight >= 1,
            "call 2 is still running"
        );
        // Dropping returns while call 2 is still blocked (were it joined, this would hang).
        drop(p);
        assert!(lock(&shared.state).closed);
        assert!(lock(&shared.state).ready.is_empty(), "ready items dropped");
        g.release();
        // Wait for the blocked generation to end; its item must be discarded.
        let mut finished = 0;
        while finished < 3 {
            done.recv().unwrap();
            finished += 1;
        }
        let state = loop {
            let state = lock(&shared.state);
            if state.in_flight == 0 {
                break state;
            }
            drop(state);
            std::thread::yield_now();
        };
        assert!(state.ready.is_empty());
    }

    #[test]
    fn a_failing_background_generation_falls_back_to_generating_here() {
        let calls = Arc::new(AtomicUsize::new(0));
        let c = Arc::clone(&calls);
        let gen_: Generate<usize> = Arc::new(move || {
            let n = c.fetch_add(1, Ordering::SeqCst);
            if std::thread::current().name() == Some("signet-keygen") {
                Err("background failure".into())
            } else {
                Ok(n)
            }
        });
        let p = Prefetcher::new(gen_, Some(1));
        p.expect(2);
        // Both background generations fail; the request generates on its own thread.
        assert!(p.take().is_ok());
        assert_eq!(background_started(&p), 2);
        assert_eq!(background_made(&p), 0);
        assert!(p.take().is_ok());
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }

    #[test]
    fn a_prefetching_set_counts_its_generator_calls_and_draws_from_its_supply() {
        let mut t = crate::Template::with_funcs("t", crate::sprig::functions());
        t.prefetch_certificate_keys();
        t.parse(concat!(
            r#"{{$ca := genCA "ca" 1}}{{if false}}{{genSelfSignedCert "x" nil nil 1}}{{end}}"#,
            r#"{{$c := genSignedCert "leaf" nil nil 1 $ca}}{{genPrivateKey "ecdsa" | len | lt 0}}"#,
            r#" {{genCAWithKey "k" 1 (genPrivateKey "ed25519") | toString | len | lt 0}}"#,
            r#" {{$ca.Key | eq $c.Key}} {{$c.Cert | hasPrefix "-----BEGIN CERTIFICATE-----"}}"#,
        ))
        .unwrap();
        let keys = t.key_supply().expect("the set has a supply");
        assert_eq!(lock(&keys.calls).by_file.get("t"), Some(&3));
        assert_eq!(
            t.execute(&crate::Value::Nil).unwrap(),
            "true true false true"
        );
        let state = lock(&keys.primes.shared.state);
        assert_eq!(state.expected, 3 * PRIMES_PER_KEY);
        // genCA and genSignedCert drew from the set's supply; the other generators did not.
        assert_eq!(state.served, 2 * PRIMES_PER_KEY);
    }

    #[test]
    fn an_execution_expects_the_calls_of_its_file_its_helpers_and_its_tpl_texts() {
        let mut t = crate::Template::with_funcs("t", crate::sprig::functions());
        let tpl: crate::EngineFn = Arc::new(|ctx, a| {
            let text = crate::fmt::sprint(&a[0]);
            ctx.execute_text("inline", &text, &crate::Value::Nil)
        });
        t.add_engine_func("tpl", tpl);
        t.prefetch_certificate_keys();
        t.parse_named(
            "a",
            r#"{{$x := genCA "a" 1}}{{if false}}{{genCA "b" 1}}{{end}}"#,
        )
        .unwrap();
        t.parse_named(
            "_h",
            r#"{{define "h"}}{{genSelfSignedCert "h" nil nil 1}}{{end}}"#,
        )
        .unwrap();
        t.parse_named("b", r#"{{tpl "{{genCA \"c\" 1 | len | lt 0}}"}}"#)
            .unwrap();
        let keys = t.key_supply().expect("the set has a supply");
        let expected_and_served = || {
            let state = lock(&keys.primes.shared.state);
            (state.expected, state.served)
        };
        t.execute_template("a", &crate::Value::Nil).unwrap();
        assert_eq!(
            expected_and_served(),
            ((2 + 1) * PRIMES_PER_KEY, PRIMES_PER_KEY)
        );
        // Its own file has no calls, its helpers one, and the text it parsed one.
        assert_eq!(t.execute_template("b", &crate::Value::Nil).unwrap(), "true");
        assert_eq!(
            expected_and_served(),
            ((1 + 1) * PRIMES_PER_KEY, PRIMES_PER_KEY)
        );
    }

    #[test]
    fn prefetched_rsa_keys_are_distinct_fresh_keys() {
        let supply = KeySupply::with_spare_cores(Some(2));
        supply.primes.expect(3 * PRIMES_PER_KEY);
        let pems: Vec<String> = (0..3)
            .map(|_| supply.take().unwrap().to_pem().unwrap())
            .collect();
        assert!(
            background_made(&supply.primes) >= 4,
            "primes searched ahead"
        );
        for pem in &pems {
            assert!(pem.starts_with("-----BEGIN RSA PRIVATE KEY-----\n"));
            let KeyPair::Rsa(key) = KeyPair::from_pem(pem).unwrap() else {
                panic!("not an RSA key");
            };
            assert_eq!(rsa::traits::PublicKeyParts::size(&*key), 256);
            assert_eq!(rsa::traits::PublicKeyParts::n(&*key).bits(), 2048);
            assert_eq!(
                rsa::traits::PublicKeyParts::e(&*key),
                &rsa::BigUint::from(65537u32)
            );
            key.validate()
                .expect("n = pq, and d inverts e mod p-1 and q-1");
            let [p, q] = rsa::traits::PrivateKeyParts::primes(&*key) else {
                panic!("two primes")
            };
            assert!(keys::primes_far_enough_apart(p, q));
        }
        assert_ne!(pems[0], pems[1]);
        assert_ne!(pems[0], pems[2]);
        assert_ne!(pems[1], pems[2]);
    }
}
