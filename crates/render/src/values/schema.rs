//! JSON Schema validation of the final values against each chart's `values.schema.json` (the
//! parent against all values, each subchart against its own scoped values), reported the way
//! Helm 4 does: `values don't meet the specifications of the schema(s) in the following chart(s):`
//! then, per chart, `- at '/path': message` lines with nested failures indented.
//!
//! Helm's validator (santhosh-tekuri/jsonschema) reports one error per failing subschema and
//! groups several failures at one place under `validation failed`; this module rebuilds that
//! tree from the flat error list of the `jsonschema` crate and words messages like Helm. Helm's
//! order of sibling errors follows Go map iteration (random); here siblings are sorted.

use std::borrow::Cow;
use std::collections::BTreeMap;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use signet_gotemplate::Value;

use super::coalesce::ValuesTree;

/// Values that violate a schema, or schemas that cannot be used. `Display` is Helm's message.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum SchemaError {
    #[error(
        "values don't meet the specifications of the schema(s) in the following chart(s):\n{report}"
    )]
    Invalid {
        /// Per chart: `NAME:\n- at '…': …\n`, or why its schema cannot be used.
        report: String,
    },
}

impl SchemaError {
    /// The per-chart part of the message, without Helm's leading sentence (for callers that
    /// print that sentence themselves).
    pub fn report(&self) -> String {
        match self {
            SchemaError::Invalid { report } => report.clone(),
        }
    }
}

/// Validates `values` (the coalesced values of `tree`'s chart) against every schema in the tree.
pub fn validate_against_schemas(tree: &ValuesTree, values: &Value) -> Result<(), SchemaError> {
    prepare_schema_checks(tree, values).run()
}

/// The schema checks of one render, taken from the values on the thread that owns them: what is
/// left (compiling each schema and validating) needs no [`Value`], so the checks are `Send` and
/// may run on another thread while the templates render. The outcome is the same as
/// [`validate_against_schemas`].
pub struct SchemaChecks<'a> {
    steps: Vec<CheckStep<'a>>,
}

enum CheckStep<'a> {
    /// Validate a chart's values (as JSON) against its schema (`values.schema.json` as read:
    /// parsing it is part of the work that may run on another thread).
    Validate {
        chart: &'a str,
        schema: &'a [u8],
        instance: serde_json::Value,
    },
    /// A report line found while walking the values (a subchart's values that are not a map).
    Report(String),
}

/// Walks `tree` and `values` (parent first, subcharts in order) into the checks to run.
pub fn prepare_schema_checks<'a>(tree: &'a ValuesTree, values: &Value) -> SchemaChecks<'a> {
    let mut steps = Vec::new();
    prepare(tree, values, &mut steps);
    SchemaChecks { steps }
}

fn prepare<'a>(tree: &'a ValuesTree, values: &Value, steps: &mut Vec<CheckStep<'a>>) {
    if let Some(schema) = &tree.schema {
        steps.push(CheckStep::Validate {
            chart: &tree.name,
            schema: schema.as_slice(),
            instance: to_json_value(values),
        });
    }
    let Value::Map(m) = values else {
        return;
    };
    for sub in &tree.subcharts {
        let raw = m.borrow().get(&sub.name).cloned();
        match raw {
            None | Some(Value::Nil) => {}
            Some(v @ Value::Map(_)) => prepare(sub, &v, steps),
            Some(other) => steps.push(CheckStep::Report(format!(
                "{}:\ninvalid type for values: expected object (map), got {}\n",
                sub.name,
                other.type_name()
            ))),
        }
    }
}

impl SchemaChecks<'_> {
    /// Whether there is nothing to check: no chart in the tree has a schema.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Parses and compiles each schema (once, even when several charts share it) and validates.
    /// A schema that is not JSON, or not a valid schema, is reported in its chart's place as
    /// Helm reports it, and the other charts are still checked.
    pub fn run(self) -> Result<(), SchemaError> {
        self.run_with(&mut CompiledSchemas::default())
    }

    /// [`SchemaChecks::run`], taking each schema from `compiled` when it is there (compiled
    /// ahead) and compiling it into `compiled` otherwise. The checks and the compiled schemas
    /// stay the caller's, to free or not.
    pub fn run_with(&self, compiled: &mut CompiledSchemas<'_>) -> Result<(), SchemaError> {
        let mut report = String::new();
        for step in &self.steps {
            match step {
                CheckStep::Validate {
                    chart,
                    schema,
                    instance,
                } => match compiled.get(schema) {
                    Ok((schema, validator)) => {
                        if let Some(text) = validate_one(validator, schema, instance) {
                            report.push_str(&format!("{chart}:\n{text}"));
                        }
                    }
                    Err(unreadable) => report.push_str(&format!("{chart}:\n{unreadable}")),
                },
                CheckStep::Report(text) => report.push_str(text),
            }
        }
        if report.is_empty() {
            Ok(())
        } else {
            Err(SchemaError::Invalid { report })
        }
    }
}

/// Parsed and compiled schemas, each under its text, so a schema that appears several times in
/// a tree (a subchart used under two aliases) is compiled once, and so schemas can be compiled
/// before the values they check exist (compiling needs only the text). Never kept across
/// renders.
#[derive(Default)]
pub struct CompiledSchemas<'t> {
    compiled: Vec<CompiledText<'t>>,
}

type Compiled = (serde_json::Value, jsonschema::Validator);

/// A schema text and what compiling it gave: the validator, or why the text cannot be used,
/// in Helm's words where they are known (reported in its chart's place).
type CompiledText<'t> = (Cow<'t, [u8]>, Result<Compiled, String>);

impl<'t> CompiledSchemas<'t> {
    /// Compiles each of `texts` that `wanted` still accepts when it is reached, ahead of the
    /// checks that will ask for it (a check compiles what it finds missing). A text that cannot
    /// be used is only reported if a check asks for it.
    pub fn compile_ahead(
        texts: impl IntoIterator<Item = &'t [u8]>,
        wanted: impl Fn(&'t [u8]) -> bool,
    ) -> CompiledSchemas<'t> {
        let mut compiled = CompiledSchemas::default();
        for text in texts {
            if wanted(text) && compiled.position(text).is_none() {
                compiled.compile(Cow::Borrowed(text));
            }
        }
        compiled
    }

    fn position(&self, text: &[u8]) -> Option<usize> {
        self.compiled
            .iter()
            .position(|(t, _)| std::ptr::eq(t.as_ref(), text) || t.as_ref() == text)
    }

    /// Compiles `text` into a new entry and returns its position.
    fn compile(&mut self, text: Cow<'t, [u8]>) -> usize {
        let parsed = match serde_json::from_slice::<serde_json::Value>(&text) {
            Ok(schema) => match refused_patterns_report(&schema) {
                Some(report) => Err(report),
                None => match jsonschema::validator_for(&schema) {
                    Ok(validator) => Ok((schema, validator)),
                    Err(e) => Err(invalid_schema_report(&schema, &e)),
                },
            },
            Err(e) if e.is_eof() => Err("unexpected EOF".to_string()),
            // What santhosh-tekuri/jsonschema's `UnmarshalJSON` says.
            Err(e) if e.to_string().starts_with("trailing characters") => {
                Err("invalid character after top-level value".to_string())
            }
            Err(e) => Err(e.to_string()),
        };
        self.compiled.push((text, parsed));
        self.compiled.len() - 1
    }

    /// The parsed schema and its validator, or why the text cannot be used.
    fn get(&mut self, text: &[u8]) -> Result<&Compiled, &str> {
        let index = match self.position(text) {
            Some(i) => i,
            None => self.compile(Cow::Owned(text.to_vec())),
        };
        self.compiled[index].1.as_ref().map_err(String::as_str)
    }
}

/// The draft Helm's validator assumes for a schema without `$schema`.
const DEFAULT_META_SCHEMA: &str = "https://json-schema.org/draft/2020-12/schema";

/// Helm's report for JSON that is not a valid schema. santhosh-tekuri/jsonschema checks the
/// document against its draft's meta-schema and prints that check's failures, the same tree as
/// for values, under a line naming the meta-schema. Like Helm's, the report has no final line
/// break. A `pattern` Go's regexp parser refuses is found before this, with Go's own rules
/// ([`refused_patterns_report`]); one the `regex` crates refuse here is one line naming its
/// place, with Go's words where Go refuses it too. Anything else that meets its
/// meta-schema yet does not compile is reported as Helm does where its words are known (a
/// `$ref` that resolves nowhere), else with the place and the validator's own words.
fn invalid_schema_report(
    schema: &serde_json::Value,
    compile_error: &jsonschema::ValidationError<'_>,
) -> String {
    let meta_failures = jsonschema::meta::validator_for(schema)
        .ok()
        .and_then(|meta| validate_one(meta.as_ref(), &serde_json::Value::Null, schema));
    let place = compile_error.instance_path().as_str();
    let failures = match (meta_failures, compile_error.kind()) {
        (Some(tree), _) => tree,
        // Helm's validator checks patterns as part of the meta-schema (format `regex`): its
        // wording, minus Go's parse detail.
        (None, ValidationErrorKind::Format { format }) if format == "regex" => {
            let pattern = compile_error.instance();
            let pattern = pattern
                .as_str()
                .map_or_else(|| pattern.to_string(), str::to_string);
            match signet_gotemplate::sprig::go_regexp_syntax_error(&pattern) {
                Some(go) => format!("- at '{place}': '{pattern}' is not valid regex: {go}"),
                None => format!("- at '{place}': '{pattern}' is not valid regex"),
            }
        }
        // A local `$ref` to nothing: Helm's words.
        (
            None,
            ValidationErrorKind::Referencing(jsonschema::ReferencingError::PointerToNowhere {
                pointer,
            }),
        ) => {
            return format!("json-pointer in \"file:///values.schema.json#{pointer}\" not found");
        }
        // Anything else that is not a meta-schema matter: the validator's words.
        (None, _) => {
            let at = if place.is_empty() {
                String::new()
            } else {
                format!("at '{place}': ")
            };
            return format!(
                "\"file:///values.schema.json#\" cannot be compiled: {at}{compile_error}"
            );
        }
    };
    metaschema_report(schema, &failures)
}

/// Helm's report for a schema that fails its meta-schema, around the tree of `failures`.
fn metaschema_report(schema: &serde_json::Value, failures: &str) -> String {
    format!(
        "\"file:///values.schema.json#\" is not valid against metaschema: jsonschema validation \
         failed with '{}#'\n{}",
        meta_schema_url(schema).trim_end_matches('#'),
        failures.trim_end_matches('\n')
    )
}

fn meta_schema_url(schema: &serde_json::Value) -> &str {
    let declared = schema.get("$schema").and_then(serde_json::Value::as_str);
    declared.unwrap_or(DEFAULT_META_SCHEMA)
}

/// Helm's report for a schema with `pattern`s Go's regexp parser refuses (see
/// [`super::go_patterns`]); `None` when it has none.
fn refused_patterns_report(schema: &serde_json::Value) -> Option<String> {
    // The drafts whose meta-schema is composed of vocabularies, through `allOf`.
    let url = meta_schema_url(schema);
    let nested = url.contains("/draft/2020-12/") || url.contains("/draft/2019-09/");
    let failures = super::go_patterns::refused_patterns(schema, nested)?;
    Some(metaschema_report(schema, &failures))
}

/// Plain JSON for the validator (numbers as JSON would carry them).
pub fn to_json_value(v: &Value) -> serde_json::Value {
    match v {
        Value::Nil => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Int(i) | Value::Int64(i) => serde_json::Value::from(*i),
        Value::Uint(u) => serde_json::Value::from(*u),
        Value::Float(f) => {
            if f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15 {
                serde_json::Value::from(*f as i64)
            } else {
                serde_json::Number::from_f64(*f)
                    .map(serde_json::Value::Number)
                    .unwrap_or(serde_json::Value::Null)
            }
        }
        Value::String(s) => serde_json::Value::String(s.to_string()),
        Value::Binary(b) => {
            serde_json::Value::String(signet_gotemplate::gostr::lossy(b).into_owned())
        }
        Value::List(l) => serde_json::Value::Array(l.borrow().iter().map(to_json_value).collect()),
        Value::Map(m) => serde_json::Value::Object(
            m.borrow()
                .iter()
                .map(|(k, x)| (k.clone(), to_json_value(x)))
                .collect(),
        ),
        Value::Object(o) => match o.to_data() {
            Some(d) => to_json_value(&d),
            None => serde_json::Value::String(o.go_string()),
        },
    }
}

/// One failure in Helm's tree form.
pub(super) struct Failure {
    /// Where the failure happened (used to place groups).
    pub(super) at: String,
    /// Where Helm says it happened (differs for property names, which it reports at '').
    pub(super) instance: String,
    pub(super) message: String,
    pub(super) causes: Vec<Failure>,
}

/// Schema keywords whose subschemas are named by the next path step: a property name, a
/// definition name, an index.
pub(super) const NAMED_SUBSCHEMA_KEYWORDS: [&str; 10] = [
    "properties",
    "patternProperties",
    "dependentSchemas",
    "allOf",
    "anyOf",
    "oneOf",
    "prefixItems",
    "definitions",
    "$defs",
    "dependencies",
];

pub(super) fn render(failures: &[Failure], depth: usize, out: &mut String) {
    for f in failures {
        out.push_str(&"  ".repeat(depth));
        out.push_str(&format!("- at '{}': {}\n", f.instance, f.message));
        render(&f.causes, depth + 1, out);
    }
}

/// A subschema application (node) keyed by its evaluation path.
#[derive(Default)]
struct Node {
    errors: Vec<(String, Failure, u8)>,
    children: Vec<Vec<String>>,
}

/// Validates `instance` with `validator` (compiled from `schema`); the report text, if invalid.
fn validate_one(
    validator: &jsonschema::Validator,
    schema: &serde_json::Value,
    instance: &serde_json::Value,
) -> Option<String> {
    let mut nodes: BTreeMap<Vec<String>, Node> = BTreeMap::new();
    nodes.insert(Vec::new(), Node::default());
    // Missing properties per (place, instance, dependentRequired trigger).
    type RequiredKey = (Vec<String>, String, Option<String>);
    let mut required: BTreeMap<RequiredKey, Vec<String>> = BTreeMap::new();
    for err in validator.iter_errors(instance) {
        let mut path: Vec<String> = err
            .evaluation_path()
            .as_str()
            .split('/')
            .skip(1)
            .map(|s| s.replace("~1", "/").replace("~0", "~"))
            .filter(|s| s != "$ref" && s != "$dynamicRef")
            .collect();
        let keyword = path.pop().unwrap_or_default();
        let inst = err.instance_path().as_str().to_string();
        if let ValidationErrorKind::Required { property } = err.kind() {
            let name = property
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| property.to_string());
            let trigger = if matches!(keyword.as_str(), "dependentRequired" | "dependencies") {
                dependency_trigger(schema, err.schema_path().as_str(), err.instance(), &name)
            } else {
                None
            };
            required
                .entry((path, inst, trigger))
                .or_default()
                .push(name);
            continue;
        }
        let (message, rank) = message_for(err.kind(), err.instance());
        let mut causes = causes_for(err.kind());
        if matches!(err.kind(), ValidationErrorKind::Contains) {
            causes = contains_causes(schema, err.schema_path().as_str(), err.instance(), &inst);
        }
        ensure_node(&mut nodes, &path);
        if let Some(node) = nodes.get_mut(&path) {
            node.errors.push((
                keyword,
                Failure {
                    at: inst.clone(),
                    instance: if matches!(err.kind(), ValidationErrorKind::PropertyNames { .. }) {
                        String::new()
                    } else {
                        inst
                    },
                    message,
                    causes,
                },
                rank,
            ));
        }
    }
    for ((path, inst, trigger), mut names) in required {
        names.sort();
        let quoted: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
        let message = if let Some(t) = trigger {
            format!("properties {} required, if '{t}' exists", quoted.join(", "))
        } else if names.len() == 1 {
            format!("missing property '{}'", names[0])
        } else {
            format!(
                "missing properties {}",
                names
                    .iter()
                    .map(|n| format!("'{n}'"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        ensure_node(&mut nodes, &path);
        if let Some(node) = nodes.get_mut(&path) {
            node.errors.push((
                "required".into(),
                Failure {
                    at: inst.clone(),
                    instance: inst,
                    message,
                    causes: Vec::new(),
                },
                1,
            ));
        }
    }
    let mut root = build(&mut nodes, &[]);
    if root.is_empty() {
        return None;
    }
    // Helm prints the causes of the validator's top error: when the whole check failed at one
    // place with several failures (a `validation failed` group), they are the top-level lines.
    if root.len() == 1 && root[0].message == "validation failed" && !root[0].causes.is_empty() {
        root = std::mem::take(&mut root[0].causes);
    }
    let mut out = String::new();
    render(&root, 0, &mut out);
    Some(out)
}

/// Creates the node for `path` and links it to its parent subschema application.
fn ensure_node(nodes: &mut BTreeMap<Vec<String>, Node>, path: &[String]) {
    if nodes.contains_key(path) {
        return;
    }
    nodes.insert(path.to_vec(), Node::default());
    let parent = parent_of(path);
    ensure_node(nodes, &parent);
    if let Some(p) = nodes.get_mut(&parent) {
        p.children.push(path.to_vec());
    }
}

/// The enclosing subschema of an applicator step (`properties/x`, `items`, `allOf/0`, …).
fn parent_of(path: &[String]) -> Vec<String> {
    let n = path.len();
    if n >= 2 {
        let two = path[n - 2].as_str();
        if NAMED_SUBSCHEMA_KEYWORDS.contains(&two)
            || (two == "items" && path[n - 1].parse::<usize>().is_ok())
        {
            return path[..n - 2].to_vec();
        }
    }
    path[..n.saturating_sub(1)].to_vec()
}

/// The failures one subschema application reports: a type, enum or const failure alone (Helm's
/// validator stops there), else its keyword failures and each failing child (grouped under
/// `validation failed` when the child has several).
fn build(nodes: &mut BTreeMap<Vec<String>, Node>, path: &[String]) -> Vec<Failure> {
    let Some(node) = nodes.remove(path) else {
        return Vec::new();
    };
    let mut errors = node.errors;
    errors.sort_by(|a, b| a.2.cmp(&b.2).then(a.1.instance.cmp(&b.1.instance)));
    if let Some(pos) = errors.iter().position(|e| e.2 == 0) {
        let first = errors.swap_remove(pos);
        return vec![first.1];
    }
    // Helm's validator checks `required` first, then the object's properties (children), then
    // rejects additional properties; array limits come before the items' own failures.
    let mut ranked: Vec<(u8, Failure)> = errors.into_iter().map(|e| (e.2, e.1)).collect();
    // Failures inside `allOf` branches are reported together under "'allOf' failed".
    let mut all_of: Vec<Failure> = Vec::new();
    for child in node.children {
        let mut failures = build(nodes, &child);
        let n = child.len();
        if n >= 2 && child[n - 2] == "allOf" {
            all_of.append(&mut failures);
            continue;
        }
        match failures.len() {
            0 => {}
            1 => ranked.push((3, failures.remove(0))),
            _ => {
                let instance = common_instance(&failures);
                ranked.push((
                    3,
                    Failure {
                        at: instance.clone(),
                        instance,
                        message: "validation failed".into(),
                        causes: failures,
                    },
                ));
            }
        }
    }
    if !all_of.is_empty() {
        // `allOf` fails where it applies: at this subschema's instance, which its branches'
        // failures may lie below.
        let instance = instance_prefix(&common_instance(&all_of), instance_depth(path));
        ranked.push((
            3,
            Failure {
                at: instance.clone(),
                instance,
                message: "'allOf' failed".into(),
                causes: all_of,
            },
        ));
    }
    ranked.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.instance.cmp(&b.1.instance)));
    ranked.into_iter().map(|(_, f)| f).collect()
}

/// How many levels below the root instance the subschema at evaluation path `path` applies:
/// one per step into a property or an item.
fn instance_depth(path: &[String]) -> usize {
    let mut depth = 0;
    let mut steps = path.iter().map(String::as_str);
    while let Some(step) = steps.next() {
        match step {
            "properties" | "patternProperties" | "prefixItems" => {
                steps.next();
                depth += 1;
            }
            "additionalProperties"
            | "unevaluatedProperties"
            | "additionalItems"
            | "unevaluatedItems"
            | "contains" => depth += 1,
            // `items/N` (a tuple before 2020-12) names its index; plain `items` does not.
            "items" => {
                if steps
                    .clone()
                    .next()
                    .is_some_and(|n| n.parse::<usize>().is_ok())
                {
                    steps.next();
                }
                depth += 1;
            }
            "allOf" | "anyOf" | "oneOf" | "definitions" | "$defs" | "dependentSchemas"
            | "dependencies" => {
                steps.next();
            }
            _ => {}
        }
    }
    depth
}

/// The first `depth` levels of JSON pointer `instance` (`""` for none).
fn instance_prefix(instance: &str, depth: usize) -> String {
    instance
        .split('/')
        .take(depth + 1)
        .collect::<Vec<_>>()
        .join("/")
}

/// The instance location a group of sibling failures share (the shortest common prefix).
fn common_instance(failures: &[Failure]) -> String {
    let mut prefix: Option<Vec<&str>> = None;
    for f in failures {
        let segs: Vec<&str> = f.at.split('/').collect();
        prefix = Some(match prefix {
            None => segs,
            Some(p) => p
                .iter()
                .zip(segs.iter())
                .take_while(|(a, b)| a == b)
                .map(|(a, _)| *a)
                .collect(),
        });
    }
    prefix.map(|p| p.join("/")).unwrap_or_default()
}

fn json_type_name(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

/// How Helm's validator shows a value in messages: strings Go-quoted between single quotes
/// (`'a"b\'c'`), null as Go's `<nil>`, others as JSON.
pub(super) fn display(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => {
            let q = signet_gotemplate::fmt::quote(s);
            let inner = q[1..q.len() - 1].replace("\\\"", "\"").replace('\'', "\\'");
            format!("'{inner}'")
        }
        serde_json::Value::Null => "<nil>".into(),
        other => other.to_string(),
    }
}

/// Message and rank (0: stops other checks at this place, 1: required, 2: other keywords, 4:
/// additional properties; failing children rank 3).
/// The property whose presence made `missing` required under `dependentRequired` (or the
/// array form of `dependencies`).
fn dependency_trigger(
    schema: &serde_json::Value,
    keyword_path: &str,
    instance: &serde_json::Value,
    missing: &str,
) -> Option<String> {
    let deps = schema.pointer(keyword_path)?.as_object()?;
    let present = instance.as_object()?;
    deps.iter()
        .find(|(k, v)| {
            present.contains_key(*k)
                && v.as_array()
                    .is_some_and(|a| a.iter().any(|x| x.as_str() == Some(missing)))
        })
        .map(|(k, _)| k.clone())
}

/// Why each item fails a `contains` schema (Helm lists them under "no items match contains
/// schema"). Only for a `contains` schema reachable by pointer and free of `$ref`.
fn contains_causes(
    schema: &serde_json::Value,
    keyword_path: &str,
    instance: &serde_json::Value,
    at: &str,
) -> Vec<Failure> {
    let Some(sub) = schema.pointer(keyword_path) else {
        return Vec::new();
    };
    if sub.to_string().contains("\"$ref\"") {
        return Vec::new();
    }
    let Ok(validator) = jsonschema::validator_for(sub) else {
        return Vec::new();
    };
    let Some(items) = instance.as_array() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let item_at = format!("{at}/{i}");
        let mut failures: Vec<Failure> = validator
            .iter_errors(item)
            .map(|e| {
                let inst = format!("{item_at}{}", e.instance_path().as_str());
                Failure {
                    at: inst.clone(),
                    instance: inst,
                    message: message_for(e.kind(), e.instance()).0,
                    causes: causes_for(e.kind()),
                }
            })
            .collect();
        match failures.len() {
            0 => {}
            1 => out.push(failures.remove(0)),
            _ => out.push(Failure {
                at: item_at.clone(),
                instance: item_at,
                message: "validation failed".into(),
                causes: failures,
            }),
        }
    }
    out
}

/// The nested failures Helm lists under a combinator (`anyOf`, `oneOf`) or `propertyNames`.
fn causes_for(kind: &ValidationErrorKind) -> Vec<Failure> {
    use ValidationErrorKind as K;
    let one = |e: &jsonschema::ValidationError<'_>| Failure {
        at: e.instance_path().as_str().to_string(),
        instance: e.instance_path().as_str().to_string(),
        message: message_for(e.kind(), e.instance()).0,
        causes: causes_for(e.kind()),
    };
    match kind {
        K::AnyOf { context } | K::OneOfNotValid { context } => {
            context.iter().flatten().map(one).collect()
        }
        K::PropertyNames { error } => vec![Failure {
            // Helm's validator reports property-name failures at the empty location.
            at: String::new(),
            instance: String::new(),
            message: message_for(error.kind(), error.instance()).0,
            causes: causes_for(error.kind()),
        }],
        _ => Vec::new(),
    }
}

fn message_for(kind: &ValidationErrorKind, instance: &serde_json::Value) -> (String, u8) {
    use ValidationErrorKind as K;
    let got = || display(instance);
    let limit = |name: &str, l: &dyn std::fmt::Display, v: String| {
        (format!("{name}: got {v}, want {l}"), 2)
    };
    let len = || match instance {
        serde_json::Value::String(s) => s.chars().count(),
        serde_json::Value::Array(a) => a.len(),
        serde_json::Value::Object(o) => o.len(),
        _ => 0,
    };
    match kind {
        K::Type { kind } => {
            let order = [
                "null", "boolean", "number", "integer", "string", "array", "object",
            ];
            let mut wanted: Vec<String> = match kind {
                TypeKind::Single(t) => vec![t.to_string()],
                TypeKind::Multiple(set) => set.iter().map(|t| t.to_string()).collect(),
            };
            wanted.sort_by_key(|w| order.iter().position(|o| o == w).unwrap_or(order.len()));
            (
                format!(
                    "got {}, want {}",
                    json_type_name(instance),
                    wanted.join(" or ")
                ),
                0,
            )
        }
        // With a list or map among the options, Helm's validator names the keyword only.
        K::Enum { options }
            if options
                .as_array()
                .is_some_and(|a| a.iter().any(|o| o.is_array() || o.is_object())) =>
        {
            ("'enum' failed".to_string(), 0)
        }
        K::Enum { options } => {
            let opts = match options.as_ref() {
                serde_json::Value::Array(a) => a.iter().map(display).collect::<Vec<_>>().join(", "),
                other => display(other),
            };
            (format!("value must be one of {opts}"), 0)
        }
        K::Constant { expected_value } => (format!("value must be {}", display(expected_value)), 0),
        K::Minimum { limit: l } => limit("minimum", l, got()),
        K::Maximum { limit: l } => limit("maximum", l, got()),
        K::ExclusiveMinimum { limit: l } => limit("exclusiveMinimum", l, got()),
        K::ExclusiveMaximum { limit: l } => limit("exclusiveMaximum", l, got()),
        K::MinLength { limit: l } => limit("minLength", l, len().to_string()),
        K::MaxLength { limit: l } => limit("maxLength", l, len().to_string()),
        K::MinItems { limit: l } => limit("minItems", l, len().to_string()),
        K::MaxItems { limit: l } => limit("maxItems", l, len().to_string()),
        K::MinProperties { limit: l } => limit("minProperties", l, len().to_string()),
        K::MaxProperties { limit: l } => limit("maxProperties", l, len().to_string()),
        K::MultipleOf { multiple_of } => (
            format!(
                "multipleOf: got {}, want {}",
                got(),
                crate::yaml::go_json_float(*multiple_of).unwrap_or_default()
            ),
            2,
        ),
        // Quoted as Helm's validator quotes strings (`'^\\d$'` for the pattern `^\d$`).
        K::Pattern { pattern } => (
            format!(
                "{} does not match pattern {}",
                got(),
                display(&serde_json::Value::String(pattern.to_string()))
            ),
            2,
        ),
        K::AdditionalProperties { unexpected } => (
            format!(
                "additional properties {} not allowed",
                unexpected
                    .iter()
                    .map(|u| format!("'{u}'"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            4,
        ),
        K::FalseSchema => ("false schema".into(), 2),
        K::Format { format } => (format!("{} is not valid {format}", got()), 2),
        K::AnyOf { .. } => ("'anyOf' failed".into(), 2),
        K::OneOfNotValid { .. } => ("'oneOf' failed, none matched".into(), 2),
        K::OneOfMultipleValid { context } => {
            let matched: Vec<String> = context
                .iter()
                .enumerate()
                .filter(|(_, errs)| errs.is_empty())
                .map(|(i, _)| i.to_string())
                .collect();
            (
                format!("'oneOf' failed, subschemas {} matched", matched.join(", ")),
                2,
            )
        }
        K::Not { .. } => ("'not' failed".into(), 2),
        K::Contains => ("no items match contains schema".into(), 2),
        K::UniqueItems => {
            let items = instance.as_array().cloned().unwrap_or_default();
            let pair = (0..items.len())
                .flat_map(|i| (i + 1..items.len()).map(move |j| (i, j)))
                .find(|&(i, j)| items[i] == items[j]);
            match pair {
                Some((i, j)) => (format!("items at {i} and {j} are equal"), 2),
                None => ("items are not unique".into(), 2),
            }
        }
        K::PropertyNames { error } => (
            format!("invalid propertyName {}", display(error.instance())),
            2,
        ),
        other => (format!("{other:?}"), 2),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse_values;

    #[test]
    fn helm_like_report() {
        let schema: serde_json::Value = serde_json::from_str(
            r#"{"type":"object","required":["replicas","missing"],
                "properties":{"replicas":{"type":"integer","minimum":2},
                  "name":{"type":"string","enum":["a","b"],"pattern":"^z"},
                  "list":{"type":"array","items":{"type":"string"},"minItems":2}},
                "additionalProperties":{"type":["object","string"]}}"#,
        )
        .unwrap();
        let sub_schema: serde_json::Value = serde_json::from_str(
            r#"{"type":"object","properties":{"port":{"type":"string"}},"additionalProperties":false}"#,
        )
        .unwrap();
        let tree = ValuesTree {
            name: "s".into(),
            defaults: Value::Nil,
            schema: Some(serde_json::to_vec(&schema).unwrap()),
            subcharts: vec![ValuesTree {
                name: "sub".into(),
                defaults: Value::Nil,
                schema: Some(serde_json::to_vec(&sub_schema).unwrap()),
                subcharts: vec![],
            }],
        };
        let values =
            parse_values("replicas: 1\nname: x\nlist: [1]\nnum: 5\nsub: {port: 80, other: 1}\n")
                .unwrap();
        let err = validate_against_schemas(&tree, &values)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "values don't meet the specifications of the schema(s) in the following chart(s):\n\
             s:\n\
             - at '': missing property 'missing'\n\
             - at '/list': validation failed\n  \
               - at '/list': minItems: got 1, want 2\n  \
               - at '/list/0': got number, want string\n\
             - at '/name': value must be one of 'a', 'b'\n\
             - at '/num': got number, want string or object\n\
             - at '/replicas': minimum: got 1, want 2\n\
             sub:\n\
             - at '/port': got number, want string\n\
             - at '': additional properties 'other' not allowed\n"
        );
        let ok = parse_values("replicas: 3\nmissing: m\nsub: {port: '8'}\n").unwrap();
        assert!(validate_against_schemas(&tree, &ok).is_ok());
    }

    #[test]
    fn a_pattern_is_quoted_as_helm_quotes_it() {
        // helm 4.1.4 prints `'x' does not match pattern '^\\d$'` for the pattern `^\d$`.
        let tree = ValuesTree {
            name: "c".into(),
            defaults: Value::Nil,
            schema: Some(br#"{"properties": {"a": {"pattern": "^\\d$"}}}"#.to_vec()),
            subcharts: vec![],
        };
        let values = parse_values("a: x\n").unwrap();
        let err = validate_against_schemas(&tree, &values)
            .unwrap_err()
            .to_string();
        assert!(
            err.ends_with("c:\n- at '/a': 'x' does not match pattern '^\\\\d$'\n"),
            "{err}"
        );
    }

    #[test]
    fn checks_run_on_another_thread_with_the_same_outcome() {
        fn send<T: Send>(_: &T) {}
        let schema: serde_json::Value =
            serde_json::from_str(r#"{"type":"object","required":["a"]}"#).unwrap();
        let tree = ValuesTree {
            name: "top".into(),
            defaults: Value::Nil,
            schema: Some(serde_json::to_vec(&schema).unwrap()),
            subcharts: vec![ValuesTree {
                name: "sub".into(),
                defaults: Value::Nil,
                schema: None,
                subcharts: vec![],
            }],
        };
        let values = parse_values("sub: 3\n").unwrap();
        let checks = prepare_schema_checks(&tree, &values);
        send(&checks);
        let outcome = std::thread::scope(|s| s.spawn(|| checks.run()).join().unwrap());
        assert_eq!(outcome, validate_against_schemas(&tree, &values));
        assert_eq!(
            outcome.unwrap_err().report(),
            "top:\n- at '': missing property 'a'\nsub:\ninvalid type for values: expected object (map), got float64\n"
        );
    }

    #[test]
    fn one_schema_under_two_aliases_checks_each_alias() {
        let schema: serde_json::Value =
            serde_json::from_str(r#"{"type":"object","properties":{"port":{"type":"integer"}}}"#)
                .unwrap();
        let alias = |name: &str| ValuesTree {
            name: name.into(),
            defaults: Value::Nil,
            schema: Some(serde_json::to_vec(&schema).unwrap()),
            subcharts: vec![],
        };
        let tree = ValuesTree {
            name: "top".into(),
            defaults: Value::Nil,
            schema: None,
            subcharts: vec![alias("one"), alias("two")],
        };
        let values = parse_values("one: {port: x}\ntwo: {port: 1}\n").unwrap();
        assert_eq!(
            validate_against_schemas(&tree, &values)
                .unwrap_err()
                .report(),
            "one:\n- at '/port': got string, want integer\n"
        );
        let values = parse_values("one: {port: 1}\ntwo: {port: z}\n").unwrap();
        assert_eq!(
            validate_against_schemas(&tree, &values)
                .unwrap_err()
                .report(),
            "two:\n- at '/port': got string, want integer\n"
        );
        let bad = ValuesTree {
            schema: Some(br#"{"type": 5}"#.to_vec()),
            ..alias("bad")
        };
        let tree = ValuesTree {
            subcharts: vec![alias("one"), bad],
            ..tree
        };
        let values = parse_values("one: {port: 1}\nbad: {}\n").unwrap();
        assert!(
            validate_against_schemas(&tree, &values)
                .unwrap_err()
                .report()
                .starts_with(
                    "bad:\n\"file:///values.schema.json#\" is not valid against metaschema"
                )
        );
    }

    /// A schema that is not a valid schema is reported as helm 4.1.4 reports it (each expected
    /// text is helm's output for the same schema), in its chart's place.
    #[test]
    fn schemas_that_break_their_meta_schema_are_reported_as_helm_does() {
        let report = |schema: &str| {
            let tree = ValuesTree {
                name: "c".into(),
                defaults: Value::Nil,
                schema: Some(schema.as_bytes().to_vec()),
                subcharts: vec![],
            };
            validate_against_schemas(&tree, &parse_values("a: 1\n").unwrap())
                .unwrap_err()
                .to_string()
        };
        let header = |draft: &str| {
            format!(
                "values don't meet the specifications of the schema(s) in the following \
                 chart(s):\nc:\n\"file:///values.schema.json#\" is not valid against metaschema: \
                 jsonschema validation failed with '{draft}'\n"
            )
        };
        let draft_2020 = header("https://json-schema.org/draft/2020-12/schema#");
        assert_eq!(
            report(r#"{"type": 5}"#),
            draft_2020.clone()
                + "- at '': 'allOf' failed\n\
                   \x20 - at '/type': 'anyOf' failed\n\
                   \x20   - at '/type': value must be one of 'array', 'boolean', 'integer', \
                   'null', 'number', 'object', 'string'\n\
                   \x20   - at '/type': got number, want array"
        );
        assert_eq!(
            report(
                r#"{"$schema": "http://json-schema.org/draft-07/schema", "properties": {"b": {"minLength": -1}}}"#
            ),
            header("http://json-schema.org/draft-07/schema#")
                + "- at '/properties/b/minLength': 'allOf' failed\n\
                   \x20 - at '/properties/b/minLength': minimum: got -1, want 0"
        );
        // A pattern Go's regexp refuses: the meta-schema steps to it, and Go's parse error.
        assert_eq!(
            report(r#"{"properties": {"a": {"pattern": "("}}}"#),
            draft_2020.clone()
                + "- at '': 'allOf' failed\n\
                   \x20 - at '/properties/a': 'allOf' failed\n\
                   \x20   - at '/properties/a/pattern': '(' is not valid regex: error parsing \
                   regexp: missing closing ): `(`"
        );
        // Refused by Go though the crates take it (a thousand and one copies).
        assert_eq!(
            report(
                r#"{"$schema": "http://json-schema.org/draft-07/schema#", "pattern": "x{1001}"}"#
            ),
            header("http://json-schema.org/draft-07/schema#")
                + "- at '/pattern': 'x{1001}' is not valid regex: error parsing regexp: invalid \
                   repeat count: `{1001}`"
        );
        // Not a meta-schema failure: a reference to nothing, in helm's words.
        assert_eq!(
            report(r##"{"properties": {"a": {"$ref": "#/$defs/missing"}}}"##),
            "values don't meet the specifications of the schema(s) in the following chart(s):\n\
             c:\njson-pointer in \"file:///values.schema.json#/$defs/missing\" not found"
        );
        assert_eq!(
            report(
                r#"{"$schema": "http://json-schema.org/draft-04/schema#", "properties": {"b": {"required": true}}}"#
            ),
            header("http://json-schema.org/draft-04/schema#")
                + "- at '/properties/b/required': got boolean, want array"
        );
    }

    #[test]
    fn a_schema_that_is_not_json_is_reported_in_its_place_and_the_others_still_run() {
        let chart = |name: &str, schema: &str| ValuesTree {
            name: name.into(),
            defaults: Value::Nil,
            schema: Some(schema.as_bytes().to_vec()),
            subcharts: vec![],
        };
        let tree = ValuesTree {
            subcharts: vec![
                chart("cut", r#"{"type":"object","properties":"#),
                chart(
                    "typed",
                    r#"{"type":"object","properties":{"port":{"type":"integer"}}}"#,
                ),
            ],
            ..chart("top", "{} trailing")
        };
        let values = parse_values("cut: {}\ntyped: {port: x}\n").unwrap();
        assert_eq!(
            validate_against_schemas(&tree, &values)
                .unwrap_err()
                .report(),
            "top:\ninvalid character after top-level value\
             cut:\nunexpected EOF\
             typed:\n- at '/port': got string, want integer\n"
        );
    }

    /// A schema left out ahead (a disabled subchart's, once the render knows it) is not
    /// compiled then, and a check that asks for it after all compiles it and gets the same
    /// verdict.
    #[test]
    fn schemas_left_out_ahead_are_compiled_when_checked() {
        let typed = br#"{"properties":{"port":{"type":"integer"}}}"#.as_slice();
        let other = br#"{"type":"object"}"#.as_slice();
        let mut ahead = CompiledSchemas::compile_ahead([typed, other], |t| std::ptr::eq(t, other));
        assert_eq!(ahead.compiled.len(), 1);
        let tree = ValuesTree {
            name: "top".into(),
            defaults: Value::Nil,
            schema: Some(typed.to_vec()),
            subcharts: vec![],
        };
        let values = parse_values("port: x\n").unwrap();
        let verdict = prepare_schema_checks(&tree, &values).run_with(&mut ahead);
        assert_eq!(ahead.compiled.len(), 2);
        assert_eq!(verdict, validate_against_schemas(&tree, &values));
        assert_eq!(
            verdict.unwrap_err().report(),
            "top:\n- at '/port': got string, want integer\n"
        );
    }

    /// Compiled ahead, a schema no check asks for (a disabled subchart's) is never reported,
    /// and the checks report a compiled schema's problems as they would have found them.
    #[test]
    fn schemas_compiled_ahead_are_reported_only_when_checked() {
        let unusable = br#"{"type": 5}"#.as_slice();
        let typed = br#"{"properties":{"port":{"type":"integer"}}}"#.as_slice();
        let tree = |schema: &[u8]| ValuesTree {
            name: "top".into(),
            defaults: Value::Nil,
            schema: Some(schema.to_vec()),
            subcharts: vec![],
        };
        let values = parse_values("port: x\n").unwrap();
        let checked = |tree: &ValuesTree| {
            // A repeated text (a subchart under two aliases) is compiled once.
            let mut ahead = CompiledSchemas::compile_ahead([unusable, typed, unusable], |_| true);
            assert_eq!(ahead.compiled.len(), 2);
            let verdict = prepare_schema_checks(tree, &values).run_with(&mut ahead);
            // Found among the compiled texts, not compiled again.
            assert_eq!(ahead.compiled.len(), 2);
            verdict
        };
        let typed_tree = tree(typed);
        assert_eq!(
            checked(&typed_tree),
            validate_against_schemas(&typed_tree, &values)
        );
        assert_eq!(
            checked(&typed_tree).unwrap_err().report(),
            "top:\n- at '/port': got string, want integer\n"
        );
        let unusable_tree = tree(unusable);
        assert!(
            checked(&unusable_tree)
                .unwrap_err()
                .report()
                .starts_with("top:\n\"file:///values.schema.json#\" is not valid against")
        );
        assert_eq!(
            checked(&unusable_tree),
            validate_against_schemas(&unusable_tree, &values)
        );
    }
}
