//! A schema's `pattern`s that Go's regexp parser refuses. Helm's validator checks every
//! `pattern` against its meta-schema's `format: regex` with Go's parser and refuses the whole
//! schema for one it cannot parse, in Go's words. The `regex` crates refuse other patterns and
//! accept some Go refuses (`a**`, `x{1001}`), so these are found with Go's own rules first
//! (`signet_gotemplate::sprig::go_regexp_syntax_error`).

use serde_json::Value;

/// The meta-schema failures, as Helm prints them, for the `pattern`s of `schema` that Go's
/// parser refuses; `None` when there are none. `nested` is for drafts whose meta-schema is
/// composed of vocabularies (2019-09, 2020-12): each schema on the way to the pattern fails its
/// `allOf`, a line of its own.
pub(super) fn refused_patterns(schema: &Value, nested: bool) -> Option<String> {
    let mut found = Vec::new();
    walk(schema, &mut Vec::new(), &mut found);
    if found.is_empty() {
        return None;
    }
    let mut out = String::new();
    if nested {
        render(&found, &[], 0, &mut out);
    } else {
        for refused in &found {
            leaf(refused, 0, &mut out);
        }
    }
    Some(out)
}

/// A refused pattern: the schema positions from the root down to the one holding it.
struct Refused {
    chain: Vec<String>,
    pattern: String,
    error: String,
}

/// Keywords whose value maps names to subschemas.
const SCHEMA_MAPS: [&str; 5] = [
    "properties",
    "patternProperties",
    "$defs",
    "definitions",
    "dependentSchemas",
];
/// Keywords whose value is a list of subschemas.
const SCHEMA_LISTS: [&str; 4] = ["allOf", "anyOf", "oneOf", "prefixItems"];
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

/// Collects the refused patterns of the schema at `chain` (its position's path segments).
fn walk(schema: &Value, chain: &mut Vec<String>, found: &mut Vec<Refused>) {
    let Value::Object(map) = schema else { return };
    if let Some(Value::String(pattern)) = map.get("pattern")
        && let Some(error) = signet_gotemplate::sprig::go_regexp_syntax_error(pattern)
    {
        found.push(Refused {
            chain: chain.clone(),
            pattern: pattern.clone(),
            error,
        });
    }
    for (keyword, value) in map {
        let mut visit = |segments: &[&str], sub: &Value| {
            let depth = chain.len();
            chain.extend(segments.iter().map(|s| pointer_escape(s)));
            walk(sub, chain, found);
            chain.truncate(depth);
        };
        match value {
            Value::Object(subs) if SCHEMA_MAPS.contains(&keyword.as_str()) => {
                for (name, sub) in subs {
                    visit(&[keyword, name], sub);
                }
            }
            Value::Array(subs)
                if SCHEMA_LISTS.contains(&keyword.as_str()) || keyword == "items" =>
            {
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

/// The failures at and below the schema at `at`: its `allOf` line, then the one failure below
/// it, or several under a `validation failed` line.
fn render(found: &[Refused], at: &[String], depth: usize, out: &mut String) {
    indent(depth, out);
    out.push_str(&format!("- at '{}': 'allOf' failed\n", location(at)));
    // Patterns held here, and each schema position one step further down with some below it.
    let mut items: Vec<Item<'_>> = Vec::new();
    for refused in found.iter().filter(|r| r.chain.starts_with(at)) {
        if refused.chain.len() == at.len() {
            items.push(Item::Here(refused));
        } else {
            let next = child_position(&refused.chain, at.len());
            if !items
                .iter()
                .any(|i| matches!(i, Item::Below(c) if *c == next))
            {
                items.push(Item::Below(next));
            }
        }
    }
    let depth = if items.len() > 1 {
        indent(depth + 1, out);
        out.push_str(&format!("- at '{}': validation failed\n", location(at)));
        depth + 2
    } else {
        depth + 1
    };
    for item in items {
        match item {
            Item::Here(refused) => leaf(refused, depth, out),
            Item::Below(next) => render(found, next, depth, out),
        }
    }
}

enum Item<'a> {
    Here(&'a Refused),
    Below(&'a [String]),
}

/// The chain of the schema position right below `depth` segments on the way to `chain`'s end:
/// the deepest prefix that is itself a schema position of some refused pattern. Every prefix
/// `walk` pushed is one, so the next position is one keyword (and maybe one name) further.
fn child_position(chain: &[String], depth: usize) -> &[String] {
    let keyword = chain[depth].as_str();
    let takes_name = SCHEMA_MAPS.contains(&keyword)
        || SCHEMA_LISTS.contains(&keyword)
        || (keyword == "items"
            && chain
                .get(depth + 1)
                .is_some_and(|s| s.parse::<usize>().is_ok()));
    let end = if takes_name { depth + 2 } else { depth + 1 };
    &chain[..end.min(chain.len())]
}

fn leaf(refused: &Refused, depth: usize, out: &mut String) {
    indent(depth, out);
    let pattern = super::schema::display(&Value::String(refused.pattern.clone()));
    out.push_str(&format!(
        "- at '{}/pattern': {pattern} is not valid regex: {}\n",
        location(&refused.chain),
        refused.error
    ));
}

fn indent(depth: usize, out: &mut String) {
    for _ in 0..depth {
        out.push_str("  ");
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
