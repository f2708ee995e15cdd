//! The template-set API: parse named templates into one set (Go's `*template.Template` with its
//! associated templates), configure delimiters, options and functions, and execute.
//!
//! # Functions
//! Three kinds of functions are callable from templates, looked up in this order:
//! 1. engine functions ([`EngineFn`]) registered with [`Template::add_engine_func`]: they receive an
//!    [`ExecContext`] and can execute another template of the set ([`ExecContext::execute_template`],
//!    Helm's `include`) or parse and execute new text with the same functions
//!    ([`ExecContext::execute_text`], Helm's `tpl`). Nested executions count towards the depth
//!    limit ([`Limits::max_depth`]) and each produced string towards the output bound;
//! 2. pure functions ([`Func`]) from the [`FuncMap`]s given to [`Template::add_funcs`];
//! 3. Go's builtins.
//!
//! A function's `Err(msg)` is reported as `error calling NAME: msg`, except messages starting with
//! `wrong number of args for ` or `wrong type for value`, which Go reports without that prefix.

use rustc_hash::FxHashMap as HashMap;
use std::rc::Rc;
use std::sync::Arc;

use crate::error::Error;
use crate::exec::State;
use crate::parse::{ParseConfig, Tree, parse};
use crate::value::{Func, FuncMap, Value};

/// A function that needs the engine (Helm's `include`, `tpl`). Its `Err(msg)` is reported like a
/// pure function's.
pub type EngineFn =
    Arc<dyn Fn(&mut ExecContext<'_>, &[Value]) -> Result<Value, String> + Send + Sync>;

/// Go's `missingkey` option: what a missing map key evaluates to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MissingKey {
    /// `missingkey=default` / `invalid`: the "no value" (prints `<no value>`).
    #[default]
    Default,
    /// `missingkey=zero`: the zero value of the map's element type (nil for `interface{}`).
    Zero,
    /// `missingkey=error`: execution stops with an error.
    Error,
}

/// Resource bounds for one execution.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Nested `template`/`include`/`tpl` calls (Go: 100000; Helm bounds `include` at 1000 per name).
    pub max_depth: usize,
    /// Bytes one execution (and each nested one) may produce.
    pub max_output: usize,
    /// Nodes evaluated in one top-level execution, so hostile templates cannot spin forever.
    pub max_steps: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 10_000,
            max_output: 256 * 1024 * 1024,
            max_steps: 200_000_000,
        }
    }
}

/// Functions of a set: shared by clones (and by `tpl`'s temporary sets).
#[derive(Clone, Default)]
pub(crate) struct Funcs {
    pub(crate) pure: HashMap<String, Func>,
    pub(crate) engine: HashMap<String, EngineFn>,
    /// The set's own RSA keys for Sprig's certificate generators, if it prefetches them.
    pub(crate) key_supply: Option<Arc<crate::sprig::KeySupply>>,
}

impl Funcs {
    pub(crate) fn has(&self, name: &str) -> bool {
        self.engine.contains_key(name)
            || self.pure.contains_key(name)
            || crate::builtins::is_builtin(name)
    }
}

/// The shared part of a template set: trees, functions, options. A set made by `tpl` is an
/// overlay: its own definitions shadow those of `parent`, which it shares instead of copying.
#[derive(Clone)]
pub(crate) struct Set {
    pub(crate) trees: HashMap<String, Rc<Tree>>,
    pub(crate) parent: Option<Rc<Set>>,
    pub(crate) funcs: Rc<Funcs>,
    pub(crate) missing_key: MissingKey,
    pub(crate) left_delim: String,
    pub(crate) right_delim: String,
    pub(crate) limits: Limits,
}

impl Set {
    /// The template called `name`, looking through overlays.
    pub(crate) fn lookup(&self, name: &str) -> Option<Rc<Tree>> {
        match self.trees.get(name) {
            Some(t) => Some(t.clone()),
            None => self.parent.as_ref().and_then(|p| p.lookup(name)),
        }
    }

    /// An empty overlay on `parent` with the same functions and options.
    pub(crate) fn overlay(parent: &Rc<Set>) -> Set {
        Set {
            trees: HashMap::default(),
            parent: Some(parent.clone()),
            funcs: parent.funcs.clone(),
            missing_key: parent.missing_key,
            left_delim: parent.left_delim.clone(),
            right_delim: parent.right_delim.clone(),
            limits: parent.limits,
        }
    }

    /// Parse `text` as template `name` and add its trees (see [`Set::add_parsed`]).
    pub(crate) fn parse_into(&mut self, name: &str, text: &str) -> Result<(), Error> {
        let funcs = self.funcs.clone();
        let parsed = parse_file(
            name,
            text,
            &self.left_delim,
            &self.right_delim,
            funcs.key_supply.is_some(),
            &|f| funcs.has(f),
        )?;
        self.add_parsed(parsed);
        Ok(())
    }

    /// Add the trees of a parsed file, with Go's `AddParseTree` rule: an empty (whitespace-only)
    /// definition never replaces an existing one; anything else replaces.
    fn add_parsed(&mut self, parsed: ParsedFile) {
        let ParsedFile {
            name,
            trees,
            key_calls,
        } = parsed;
        if let Some(keys) = &self.funcs.key_supply {
            use crate::sprig::ParsedText;
            let text = if self.parent.is_some() {
                ParsedText::DuringExecution
            } else if trees.iter().any(|t| *t.name == *name && !t.is_empty()) {
                ParsedText::File
            } else {
                ParsedText::DefinesOnly
            };
            keys.parsed(&name, key_calls, text);
        }
        for tree in trees {
            if tree.is_empty() && self.lookup(&tree.name).is_some() {
                continue;
            }
            self.trees.insert(tree.name.to_string(), Rc::new(tree));
        }
    }
}

/// Parse `text` as template `name`; `has_func` says which function names the set defines. When
/// `count_keys`, the parser's function-name checks also count the calls that draw certificate keys.
fn parse_file(
    name: &str,
    text: &str,
    left_delim: &str,
    right_delim: &str,
    count_keys: bool,
    has_func: &dyn Fn(&str) -> bool,
) -> Result<ParsedFile, Error> {
    let key_calls = std::cell::Cell::new(0usize);
    let check = |f: &str| {
        if count_keys && crate::sprig::draws_certificate_key(f) {
            key_calls.set(key_calls.get() + 1);
        }
        has_func(f)
    };
    let cfg = ParseConfig {
        left_delim,
        right_delim,
        has_func: &check,
    };
    let trees = parse(name, text, &cfg).map_err(Error::Parse)?;
    Ok(ParsedFile {
        name: name.to_string(),
        trees,
        key_calls: key_calls.get(),
    })
}

/// One file parsed for a set, not yet added to it. It can be made on another thread
/// ([`ParseEnv::parse`]) and added with [`Template::add_parsed`].
#[derive(Debug)]
pub struct ParsedFile {
    name: String,
    trees: Vec<Tree>,
    /// Calls of certificate generators that draw a key (for the set's key supply).
    key_calls: usize,
}

impl ParsedFile {
    /// The template name the file was parsed as.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What parsing the same text as template `name` gives, without parsing it again: the
    /// trees are shared, the file's own tree and the source (for error locations) renamed.
    /// `None` where a definition's name is one of the two file names (parsing would differ).
    pub fn renamed(&self, name: &str) -> Option<ParsedFile> {
        let own = |t: &&Tree| *t.name == *self.name;
        let defines_a_file_name = self
            .trees
            .iter()
            .filter(|t| !own(t))
            .any(|t| *t.name == *self.name || *t.name == *name);
        if defines_a_file_name || self.trees.iter().filter(own).count() != 1 {
            return None;
        }
        let text = self.trees.first()?.source.text.clone();
        let source = Arc::new(crate::parse::Source {
            parse_name: name.to_string(),
            text,
        });
        let trees = self
            .trees
            .iter()
            .map(|t| Tree {
                name: if own(&t) { name.into() } else { t.name.clone() },
                source: source.clone(),
                root: t.root.clone(),
            })
            .collect();
        Some(ParsedFile {
            name: name.to_string(),
            trees,
            key_calls: self.key_calls,
        })
    }
}

/// What parsing needs from a set (delimiters, defined function names, whether to count
/// key-drawing calls), detached from it so that other threads can parse files for it.
#[derive(Clone, Debug)]
pub struct ParseEnv {
    left_delim: String,
    right_delim: String,
    funcs: Arc<rustc_hash::FxHashSet<String>>,
    count_keys: bool,
}

impl ParseEnv {
    /// Parse `text` as template `name` exactly as [`Template::parse_named`] would on the set this
    /// environment was taken from (same trees, same errors).
    pub fn parse(&self, name: &str, text: &str) -> Result<ParsedFile, Error> {
        parse_file(
            name,
            text,
            &self.left_delim,
            &self.right_delim,
            self.count_keys,
            &|f| self.funcs.contains(f) || crate::builtins::is_builtin(f),
        )
    }
}

/// A set of named templates with a main template, like Go's `*template.Template`.
#[derive(Clone)]
pub struct Template {
    name: String,
    /// Shared with running executions; copied on write by the mutating methods.
    set: Rc<Set>,
}

impl Template {
    /// An empty set whose main template is `name`, with Go's builtins only.
    pub fn new(name: impl Into<String>) -> Template {
        Template {
            name: name.into(),
            set: Rc::new(Set {
                trees: HashMap::default(),
                parent: None,
                funcs: Rc::new(Funcs::default()),
                missing_key: MissingKey::Default,
                left_delim: "{{".into(),
                right_delim: "}}".into(),
                limits: Limits::default(),
            }),
        }
    }

    /// An empty set with extra pure functions (e.g. `sprig::functions()`).
    pub fn with_funcs(name: impl Into<String>, funcs: FuncMap) -> Template {
        let mut t = Template::new(name);
        t.add_funcs(funcs);
        t
    }

    /// The main template's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Add pure functions; later additions replace earlier ones of the same name. Must happen
    /// before parsing templates that use them.
    pub fn add_funcs(&mut self, funcs: FuncMap) -> &mut Self {
        let f = Rc::make_mut(&mut Rc::make_mut(&mut self.set).funcs);
        f.pure.extend(funcs);
        self
    }

    /// Let Sprig's certificate generators of this set (`genCA`, `genSelfSignedCert`,
    /// `genSignedCert`, where already added) draw their RSA keys from a supply owned by the set:
    /// from the first key requested, it searches the primes of the keys that the executing
    /// template may still need on spare cores (at most one prime per spare core ahead, at most
    /// as many as its file and the define-only files have calls). Keys are fresh for every call
    /// and never outlive the set. Call it after adding Sprig's functions and before parsing.
    pub fn prefetch_certificate_keys(&mut self) -> &mut Self {
        self.use_key_supply(crate::sprig::KeySupply::prefetching())
    }

    /// [`Template::prefetch_certificate_keys`], and a call that finds no prime ready has every
    /// idle core search one and takes the first found: lower latency for more CPU (at most one
    /// unused prime per spare core). For a process that only waits for its render.
    pub fn race_certificate_keys(&mut self) -> &mut Self {
        self.use_key_supply(crate::sprig::KeySupply::racing())
    }

    fn use_key_supply(&mut self, keys: crate::sprig::KeySupply) -> &mut Self {
        let keys = Arc::new(keys);
        let funcs = Rc::make_mut(&mut Rc::make_mut(&mut self.set).funcs);
        for (name, func) in crate::sprig::certificate_functions(&keys) {
            if let Some(slot) = funcs.pure.get_mut(&name) {
                *slot = func;
            }
        }
        funcs.key_supply = Some(keys);
        self
    }

    #[cfg(test)]
    pub(crate) fn key_supply(&self) -> Option<&Arc<crate::sprig::KeySupply>> {
        self.set.funcs.key_supply.as_ref()
    }

    /// Add one engine-aware function (see the module docs).
    pub fn add_engine_func(&mut self, name: impl Into<String>, func: EngineFn) -> &mut Self {
        Rc::make_mut(&mut Rc::make_mut(&mut self.set).funcs)
            .engine
            .insert(name.into(), func);
        self
    }

    /// Action delimiters for subsequent parses (empty strings mean the defaults `{{`, `}}`).
    pub fn delims(&mut self, left: &str, right: &str) -> &mut Self {
        let set = Rc::make_mut(&mut self.set);
        set.left_delim = if left.is_empty() { "{{" } else { left }.into();
        set.right_delim = if right.is_empty() { "}}" } else { right }.into();
        self
    }

    /// Go's `Option("missingkey=…")`.
    pub fn option(&mut self, opt: &str) -> Result<&mut Self, Error> {
        let mk = match opt {
            "missingkey=default" | "missingkey=invalid" => MissingKey::Default,
            "missingkey=zero" => MissingKey::Zero,
            "missingkey=error" => MissingKey::Error,
            _ => return Err(Error::Option(format!("unrecognized option: {opt}"))),
        };
        Rc::make_mut(&mut self.set).missing_key = mk;
        Ok(self)
    }

    pub fn set_missing_key(&mut self, mk: MissingKey) -> &mut Self {
        Rc::make_mut(&mut self.set).missing_key = mk;
        self
    }

    pub fn set_limits(&mut self, limits: Limits) -> &mut Self {
        Rc::make_mut(&mut self.set).limits = limits;
        self
    }

    pub fn limits(&self) -> Limits {
        self.set.limits
    }

    /// Parse `text` as the main template (its `define`s join the set).
    pub fn parse(&mut self, text: &str) -> Result<&mut Self, Error> {
        let name = self.name.clone();
        Rc::make_mut(&mut self.set).parse_into(&name, text)?;
        Ok(self)
    }

    /// Parse `text` as template `name` of this set (Go's `t.New(name).Parse(text)`): how Helm
    /// parses every chart file into one set. Later definitions replace earlier ones.
    pub fn parse_named(&mut self, name: &str, text: &str) -> Result<&mut Self, Error> {
        Rc::make_mut(&mut self.set).parse_into(name, text)?;
        Ok(self)
    }

    /// A snapshot of what parsing needs from this set, for parsing files on other threads. Later
    /// changes to the set (functions, delimiters) do not reach it.
    pub fn parse_env(&self) -> ParseEnv {
        let funcs = &self.set.funcs;
        ParseEnv {
            left_delim: self.set.left_delim.clone(),
            right_delim: self.set.right_delim.clone(),
            funcs: Arc::new(
                funcs
                    .pure
                    .keys()
                    .chain(funcs.engine.keys())
                    .cloned()
                    .collect(),
            ),
            count_keys: funcs.key_supply.is_some(),
        }
    }

    /// Add a file parsed by [`ParseEnv::parse`] under its name, as [`Template::parse_named`]
    /// would have added it. The environment must be this set's, taken after its last change of
    /// functions or delimiters.
    pub fn add_parsed(&mut self, parsed: ParsedFile) -> &mut Self {
        Rc::make_mut(&mut self.set).add_parsed(parsed);
        self
    }

    /// Names of the templates defined in the set, sorted.
    pub fn defined_templates(&self) -> Vec<String> {
        let mut names: Vec<String> = self.set.trees.keys().cloned().collect();
        names.sort();
        names
    }

    /// Go's parse-tree `String()` of template `name`, text nodes quoted (for tests and debugging).
    pub fn tree_string(&self, name: &str) -> Option<String> {
        let tree = self.set.trees.get(name)?;
        Some(crate::parse::list_string(&tree.root, true))
    }

    /// The parse tree of template `name` as Go's `Tree.Root.String()` prints it (text as is;
    /// [`Template::tree_string`] quotes text as Go's parse tests do).
    pub fn go_tree_string(&self, name: &str) -> Option<String> {
        let tree = self.set.trees.get(name)?;
        Some(crate::parse::list_string(&tree.root, false))
    }

    /// Whether the set has a template called `name`.
    pub fn has_template(&self, name: &str) -> bool {
        self.set.trees.contains_key(name)
    }

    /// Execute the main template with `data` as dot.
    pub fn execute(&self, data: &Value) -> Result<String, Error> {
        self.execute_template(&self.name, data)
    }

    /// Execute the template called `name` with `data` as dot. Output that is not UTF-8 (a
    /// non-UTF-8 Go string printed) reads with each invalid byte as U+FFFD; use
    /// [`Template::execute_template_bytes`] for the exact bytes.
    pub fn execute_template(&self, name: &str, data: &Value) -> Result<String, Error> {
        self.execute_template_bytes(name, data)
            .map(|b| match String::from_utf8(b) {
                Ok(s) => s,
                Err(e) => crate::gostr::lossy(e.as_bytes()).into_owned(),
            })
    }

    /// Execute the template called `name` with `data` as dot, giving the output's bytes exactly
    /// as Go would write them.
    pub fn execute_template_bytes(&self, name: &str, data: &Value) -> Result<Vec<u8>, Error> {
        let Some(tree) = self.set.lookup(name) else {
            return Err(Error::Exec(if name == self.name {
                format!(
                    "template: {name}: {} is an incomplete or empty template",
                    crate::fmt::quote(name)
                )
            } else {
                format!(
                    "template: no template {} associated with template {}",
                    crate::fmt::quote(name),
                    crate::fmt::quote(&self.name)
                )
            }));
        };
        if let Some(keys) = &self.set.funcs.key_supply {
            keys.executing(name);
        }
        let mut state = State::new(self.set.clone(), tree);
        state.run_top(data).map_err(Error::Exec)
    }
}

impl std::fmt::Debug for Template {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Template")
            .field("name", &self.name)
            .field("templates", &self.defined_templates())
            .field("missing_key", &self.set.missing_key)
            .finish_non_exhaustive()
    }
}

/// What an [`EngineFn`] may do with the running execution.
pub struct ExecContext<'a> {
    pub(crate) state: &'a mut State,
}

impl ExecContext<'_> {
    /// Name of the template being executed.
    pub fn template_name(&self) -> &str {
        self.state.template_name()
    }

    /// Current nesting depth of template calls.
    pub fn depth(&self) -> usize {
        self.state.depth()
    }

    /// Whether the current set has a template called `name`.
    pub fn has_template(&self, name: &str) -> bool {
        self.state.set().lookup(name).is_some()
    }

    /// Execute template `name` of the current set with `data` as dot and return its output
    /// (Helm's `include`) as a Go string (its bytes kept, UTF-8 or not). The error is the full
    /// Go-style message of the failure inside.
    pub fn execute_template(&mut self, name: &str, data: &Value) -> Result<Value, String> {
        self.state
            .execute_nested(None, name, data)
            .map(Value::from_go_bytes)
    }

    /// Parse `text` as template `name` into a copy of the current set (its `define`s do not leak
    /// into the caller's set) and execute it with `data` (Helm's `tpl`).
    pub fn execute_text(&mut self, name: &str, text: &str, data: &Value) -> Result<Value, String> {
        let mut set = Set::overlay(self.state.set_rc());
        set.parse_into(name, text).map_err(|e| e.to_string())?;
        self.state
            .execute_nested(Some(Rc::new(set)), name, data)
            .map(Value::from_go_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILES: [(&str, &str); 4] = [
        (
            "_helpers.tpl",
            "{{ define \"name\" }}{{ .n | upper }}{{ end }}{{ define \"empty\" }}x{{ end }}",
        ),
        // An empty redefinition never replaces a non-empty one.
        ("_empty.tpl", "{{ define \"empty\" }}  {{ end }}"),
        (
            "page",
            "{{ template \"name\" . }}-{{ template \"empty\" }}-{{ \"lit\" }}",
        ),
        ("bad", "{{ nosuchfunc }}"),
    ];

    fn set() -> Template {
        Template::with_funcs("page", crate::sprig::functions())
    }

    fn assert_send<T: Send>(_: &T) {}

    #[test]
    fn files_parsed_on_another_thread_join_the_set_as_parse_named_would() {
        let mut one_by_one = set();
        let mut errors = Vec::new();
        for (name, text) in FILES {
            if let Err(e) = one_by_one.parse_named(name, text) {
                errors.push(e);
            }
        }
        let mut via_env = set();
        let env = via_env.parse_env();
        let parsed = std::thread::scope(|s| {
            s.spawn(|| FILES.map(|(name, text)| env.parse(name, text)))
                .join()
                .unwrap()
        });
        let mut env_errors = Vec::new();
        for file in parsed {
            match file {
                Ok(file) => {
                    assert_send(&file);
                    via_env.add_parsed(file);
                }
                Err(e) => env_errors.push(e),
            }
        }
        assert_eq!(env_errors, errors);
        assert_eq!(errors.len(), 1);
        assert_eq!(via_env.defined_templates(), one_by_one.defined_templates());
        for name in one_by_one.defined_templates() {
            assert_eq!(via_env.tree_string(&name), one_by_one.tree_string(&name));
        }
        let data = Value::from_json(&serde_json::json!({"n": "a"}));
        assert_eq!(via_env.execute(&data).unwrap(), "A-x-lit");
        assert_eq!(via_env.execute(&data), one_by_one.execute(&data));
    }

    #[test]
    fn a_renamed_file_is_the_file_parsed_under_the_new_name() {
        let text = "{{ define \"h\" }}{{ .n | upper }}{{ end }}{{ template \"h\" . }}{{ .x.y }}";
        let env = set().parse_env();
        let renamed = env
            .parse("lib-a/_h.tpl", text)
            .unwrap()
            .renamed("lib-b/_h.tpl");
        let mut via_rename = set();
        via_rename.add_parsed(renamed.expect("renames"));
        let mut parsed = set();
        parsed.parse_named("lib-b/_h.tpl", text).unwrap();
        assert_eq!(via_rename.defined_templates(), parsed.defined_templates());
        assert_eq!(
            via_rename.defined_templates(),
            ["h".to_string(), "lib-b/_h.tpl".to_string()]
        );
        for name in parsed.defined_templates() {
            assert_eq!(via_rename.tree_string(&name), parsed.tree_string(&name));
        }
        let data = Value::from_json(&serde_json::json!({"n": "a", "x": 1}));
        // An execution error names the file and the line through the renamed source.
        let error = via_rename
            .execute_template("lib-b/_h.tpl", &data)
            .unwrap_err();
        assert!(error.to_string().contains("lib-b/_h.tpl:1:"), "{error}");
        assert_eq!(
            Some(error),
            parsed.execute_template("lib-b/_h.tpl", &data).err()
        );
        // A definition named like a file: parsing could differ, so no rename is offered.
        let odd = env.parse("a", "{{ define \"b\" }}x{{ end }}").unwrap();
        assert!(odd.renamed("b").is_none());
        assert!(odd.renamed("c").is_some());
    }

    #[test]
    fn deep_nesting_parses_on_a_spawned_threads_smaller_stack() {
        let env = set().parse_env();
        let texts = [
            format!("{{{{ {}1{} }}}}", "(".repeat(999), ")".repeat(999)),
            format!("{}x{}", "{{ if 1 }}".repeat(999), "{{ end }}".repeat(999)),
            format!("{}x{}", "{{ if 1 }}".repeat(1200), "{{ end }}".repeat(1200)),
        ];
        let here: Vec<_> = texts
            .iter()
            .map(|t| set().parse_named("deep", t).err())
            .collect();
        let there: Vec<_> =
            std::thread::spawn(move || texts.iter().map(|t| env.parse("deep", t).err()).collect())
                .join()
                .unwrap();
        assert_eq!(there, here);
        assert!(here[..2].iter().all(Option::is_none));
        assert!(here[2].is_some());
    }

    #[test]
    fn the_environment_has_the_sets_delimiters_and_functions() {
        let mut t = set();
        t.delims("[[", "]]");
        t.add_funcs(FuncMap::from([(
            "shout".to_string(),
            Arc::new(|_: &[Value]| Ok(Value::from("HEY"))) as Func,
        )]));
        let env = t.parse_env();
        t.add_parsed(env.parse("page", "[[ shout ]] {{ x }}").unwrap());
        assert_eq!(t.execute(&Value::Nil).unwrap(), "HEY {{ x }}");
        assert!(
            Template::new("page")
                .parse_env()
                .parse("page", "{{ shout }}")
                .is_err()
        );
    }

    #[test]
    fn key_drawing_calls_are_counted_as_when_parsing_in_the_set() {
        let mut t = set();
        t.prefetch_certificate_keys();
        let text = "{{ genCA \"a\" 1 }}{{ genCA \"b\" 1 }}{{ upper \"x\" }}";
        let file = t.parse_env().parse("page", text).unwrap();
        assert_eq!(file.key_calls, 2);
        let plain = Template::with_funcs("page", crate::sprig::functions());
        assert_eq!(plain.parse_env().parse("page", text).unwrap().key_calls, 0);
    }
}
