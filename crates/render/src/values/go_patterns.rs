//! A schema's `pattern`s that Go's regexp parser refuses. Helm's validator checks every
//! `pattern` against its meta-schema's `format: regex` with Go's parser and refuses the whole
//! schema for one it cannot parse, in Go's words. The `regex` crates refuse other patterns and
//! accept some Go refuses (`a**`, `x{1001}`), so these are found with Go's own rules first
//! (`signet_gotemplate::sprig::go_regexp_syntax_error`).

use serde_json::Value;

use super::schema::{Failure, NAMED_SUBSCHEMA_KEYWORDS, display, render};

/// The meta-schema failures, as Helm prints them, for the `pattern`s of `schema` that Go's
/// parser refuses; `None` when there are none. `nested` is for drafts whose meta-schema is
/// composed of vocabularies (2019-09, 2020-12): each schema on the way to the pattern fails its
/// `allOf`, a line of its own.
pub(super) fn refused_patterns(schema: &Value, nested: bool) -> Option<String> {
    let mut found = Vec::new();
    walk(schema, &mut Vec::new(), &mut vec![0], &mut found);
    if found.is_empty() {
        return None;
    }
    let failures = if nested {
        let all: Vec<&Refused> = found.iter().collect();
        vec![schema_failure(&all, 0)]
    } else {
        found.iter().map(leaf).collect()
    };
    let mut out = String::new();
    render(&failures, 0, &mut out);
    Some(out)
}

/// A refused pattern, held by the schema at `chain` (JSON pointer segments). `positions` are
/// the lengths of `chain` at each schema on the way there, the root's (0) first.
struct Refused {
    chain: Vec<String>,
    positions: Vec<usize>,
    pattern: String,
    error: String,
}

/// Keywords whose value is one subschema (`items` may also be a list, before 2020-12).
const SCHEMA_SINGLES: [&str; 12] = [
    "items",
    "additionalItems",
    "additionalProperties",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "unevaluatedItems",
    "unevaluatedProperties",
    "contentSchema",
];

/// Collects the refused patterns of the schema at `chain`.
fn walk(
    schema: &Value,
    chain: &mut Vec<String>,
    positions: &mut Vec<usize>,
    found: &mut Vec<Refused>,
) {
    let Value::Object(map) = schema else { return };
    if let Some(Value::String(pattern)) = map.get("pattern")
        && let Some(error) = signet_gotemplate::sprig::go_regexp_syntax_error(pattern)
    {
        found.push(Refused {
            chain: chain.clone(),
            positions: positions.clone(),
            pattern: pattern.clone(),
            error,
        });
    }
    for (keyword, value) in map {
        let mut visit = |segments: &[&str], sub: &Value| {
            let depth = chain.len();
            chain.extend(segments.iter().map(|s| pointer_escape(s)));
            positions.push(chain.len());
            walk(sub, chain, positions, found);
            positions.pop();
            chain.truncate(depth);
        };
        let named = NAMED_SUBSCHEMA_KEYWORDS.contains(&keyword.as_str());
        match value {
            Value::Object(subs) if named => {
                for (name, sub) in subs {
                    visit(&[keyword, name], sub);
                }
            }
            Value::Array(subs) if named || keyword == "items" => {
                for (i, sub) in subs.iter().enumerate() {
                    visit(&[keyword, &i.to_string()], sub);
                }
            }
            sub if SCHEMA_SINGLES.contains(&keyword.as_str()) => visit(&[keyword], sub),
            _ => {}
        }
    }
}

/// A JSON pointer segment: `~` and `/` escaped.
fn pointer_escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

fn location(segments: &[String]) -> String {
    segments.iter().map(|s| format!("/{s}")).collect()
}

/// The failure of the schema `depth` steps down on the way to each of `found` (which share
/// those steps): its `allOf`, failing for the patterns it holds and the schemas below it, the
/// one such cause alone or several under `validation failed`.
fn schema_failure(found: &[&Refused], depth: usize) -> Failure {
    let at = location(&found[0].chain[..found[0].positions[depth]]);
    let mut causes = Vec::new();
    let mut below: Vec<(&[String], Vec<&Refused>)> = Vec::new();
    for &refused in found {
        match refused.positions.get(depth + 1) {
            None => causes.push(leaf(refused)),
            Some(&len) => {
                let next = &refused.chain[..len];
                match below.iter_mut().find(|(chain, _)| *chain == next) {
                    Some((_, group)) => group.push(refused),
                    None => below.push((next, vec![refused])),
                }
            }
        }
    }
    causes.extend(
        below
            .iter()
            .map(|(_, group)| schema_failure(group, depth + 1)),
    );
    if causes.len() > 1 {
        causes = vec![failure(&at, "validation failed", causes)];
    }
    failure(&at, "'allOf' failed", causes)
}

fn leaf(refused: &Refused) -> Failure {
    let pattern = display(&Value::String(refused.pattern.clone()));
    failure(
        &format!("{}/pattern", location(&refused.chain)),
        &format!("{pattern} is not valid regex: {}", refused.error),
        Vec::new(),
    )
}

fn failure(at: &str, message: &str, causes: Vec<Failure>) -> Failure {
    Failure {
        at: at.to_string(),
        instance: at.to_string(),
        message: message.to_string(),
        causes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(schema: &str, nested: bool) -> Option<String> {
        refused_patterns(&serde_json::from_str(schema).unwrap(), nested)
    }

    #[test]
    fn one_refused_pattern_is_a_chain_of_allof_failures() {
        assert_eq!(
            refused(r#"{"properties": {"a": {"pattern": "("}}}"#, true).as_deref(),
            Some(
                "- at '': 'allOf' failed\n\
                 \x20 - at '/properties/a': 'allOf' failed\n\
                 \x20   - at '/properties/a/pattern': '(' is not valid regex: error parsing \
                 regexp: missing closing ): `(`\n"
            )
        );
        assert_eq!(
            refused(r#"{"pattern": "a**"}"#, true).as_deref(),
            Some(
                "- at '': 'allOf' failed\n\
                 \x20 - at '/pattern': 'a**' is not valid regex: error parsing regexp: invalid \
                 nested repetition operator: `**`\n"
            )
        );
        assert_eq!(
            refused(
                r#"{"properties": {"a": {"properties": {"b": {"pattern": "[z-a]"}}}}}"#,
                true
            )
            .as_deref(),
            Some(
                "- at '': 'allOf' failed\n\
                 \x20 - at '/properties/a': 'allOf' failed\n\
                 \x20   - at '/properties/a/properties/b': 'allOf' failed\n\
                 \x20     - at '/properties/a/properties/b/pattern': '[z-a]' is not valid regex: \
                 error parsing regexp: invalid character class range: `z-a`\n"
            )
        );
        assert_eq!(
            refused(r#"{"items": {"pattern": "("}}"#, true).as_deref(),
            Some(
                "- at '': 'allOf' failed\n\
                 \x20 - at '/items': 'allOf' failed\n\
                 \x20   - at '/items/pattern': '(' is not valid regex: error parsing regexp: \
                 missing closing ): `(`\n"
            )
        );
    }

    #[test]
    fn drafts_without_vocabularies_name_the_pattern_only() {
        assert_eq!(
            refused(r#"{"properties": {"a": {"pattern": "("}}}"#, false).as_deref(),
            Some(
                "- at '/properties/a/pattern': '(' is not valid regex: error parsing regexp: \
                 missing closing ): `(`\n"
            )
        );
    }

    #[test]
    fn several_refused_patterns_are_grouped_and_go_valid_ones_are_not_reported() {
        let schema = r#"{"properties": {"a": {"pattern": "("}, "b": {"pattern": "a{"}, "c": {"pattern": "a)"}}}"#;
        assert_eq!(
            refused(schema, true).as_deref(),
            Some(
                "- at '': 'allOf' failed\n\
                 \x20 - at '': validation failed\n\
                 \x20   - at '/properties/a': 'allOf' failed\n\
                 \x20     - at '/properties/a/pattern': '(' is not valid regex: error parsing \
                 regexp: missing closing ): `(`\n\
                 \x20   - at '/properties/c': 'allOf' failed\n\
                 \x20     - at '/properties/c/pattern': 'a)' is not valid regex: error parsing \
                 regexp: unexpected ): `a)`\n"
            )
        );
        assert_eq!(
            refused(r#"{"properties": {"a": {"pattern": "^a{$"}}}"#, true),
            None
        );
    }
}
