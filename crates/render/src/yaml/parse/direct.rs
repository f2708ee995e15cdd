//! Plain documents straight from parser events to values, without go-yaml's node tree.
//!
//! The tree exists for what plain documents never use: anchors and aliases (a node decoded more
//! than once), merge keys, tags, and errors that must wait until the whole stream has parsed. For a
//! document with none of those, decoding each node as its events arrive gives the same values in
//! the same order. Anything else — including every error — returns `None`, and the caller runs the
//! full decode, which alone words errors.

use std::collections::BTreeMap;

use serde_saphyr::granit_parser::{Event, ScalarStyle};
use signet_gotemplate::Value;

use super::{MAX_DEPTH, Node, TabShelters, decode_scalar, json_number, key_string};

/// A collection being filled.
enum Open {
    Seq(Vec<Value>),
    /// Entries so far, and the key whose value comes next.
    Map(BTreeMap<String, Value>, Option<String>),
}

/// The documents of `src` as values (`None` for an empty one; only the first when `first_only`),
/// when every one is plain.
pub(super) fn simple_documents(src: &str, first_only: bool) -> Option<Vec<Option<Value>>> {
    let mut parser = super::new_parser(src);
    let mut shelters = TabShelters::default();
    let mut docs = Vec::new();
    let mut open: Vec<Open> = Vec::new();
    let mut root: Option<Value> = None;
    while let Some(next) = parser.next_event() {
        let (event, span) = next.ok()?;
        shelters.observe(&event, &span);
        let done = match event {
            Event::StreamStart => continue,
            Event::StreamEnd => break,
            Event::DocumentStart(..) => {
                root = None;
                continue;
            }
            Event::DocumentEnd => {
                docs.push(root.take());
                if first_only {
                    break;
                }
                continue;
            }
            Event::Alias(_) | Event::Anchor(..) | Event::UnresolvedAlias(_) => return None,
            Event::Scalar(_, _, anchor, ref tag)
            | Event::SequenceStart(_, anchor, ref tag)
            | Event::MappingStart(_, anchor, ref tag)
                if anchor != 0 || tag.is_some() =>
            {
                return None;
            }
            Event::Scalar(text, style, ..) => {
                let plain = style == ScalarStyle::Plain;
                if let Some(Open::Map(_, key @ None)) = open.last_mut() {
                    if plain && text == "<<" {
                        return None;
                    }
                    let node = Node::Scalar {
                        text,
                        plain,
                        tag: None,
                        line: span.start.line(),
                        col: span.start.col() + 1,
                    };
                    // A null key cannot become JSON: the full decode words that error.
                    *key = Some(key_string(&node).ok()??);
                    continue;
                }
                json_number(decode_scalar(&text, plain, None).ok()?).ok()?
            }
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                // A collection as a mapping key, or nesting deep enough for the full decode's limit.
                if matches!(open.last(), Some(Open::Map(_, None))) || open.len() >= MAX_DEPTH / 2 {
                    return None;
                }
                open.push(if matches!(event, Event::MappingStart(..)) {
                    Open::Map(BTreeMap::new(), None)
                } else {
                    Open::Seq(Vec::new())
                });
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => match open.pop()? {
                Open::Seq(items) => Value::list(items),
                Open::Map(entries, None) => Value::map(entries),
                Open::Map(_, Some(_)) => return None,
            },
            // Comments.
            _ => continue,
        };
        match open.last_mut() {
            Some(Open::Seq(items)) => items.push(done),
            Some(Open::Map(entries, key)) => {
                entries.insert(key.take()?, done);
            }
            None => root = Some(done),
        }
    }
    if !open.is_empty() {
        return None;
    }
    shelters.check(src).ok()?;
    Some(docs)
}

#[cfg(test)]
mod tests {
    use super::super::{load_documents, to_json_value};
    use super::*;

    fn json(v: &Option<Value>) -> String {
        match v {
            None => "<empty>".into(),
            Some(v) => crate::yaml::to_json(v).expect("decoded values are JSON"),
        }
    }

    /// The direct path either declines or gives what the tree decode gives, document by document.
    fn agrees(src: &str) -> bool {
        let Some(direct) = simple_documents(src, false) else {
            return false;
        };
        let docs = load_documents(src, false)
            .unwrap_or_else(|e| panic!("direct path accepted what the parser refuses: {e}\n{src}"));
        assert_eq!(direct.len(), docs.len(), "{src}");
        for (d, node) in direct.iter().zip(&docs) {
            let full = node.as_ref().map(|n| {
                to_json_value(n, &mut Default::default()).unwrap_or_else(|e| {
                    panic!("direct path accepted what decode refuses: {e}\n{src}")
                })
            });
            assert_eq!(json(d), json(&full), "{src}");
        }
        true
    }

    const VALUES: &str = "replicas: 3\nimage:\n  tag: \"1.0\"\n  pullPolicy: IfNotPresent\nflags: [a, 'b', 1e3, 0x1f, 0777, yes, ~]\nempty: {}\n1: one\ntrue: t\n1.5: f\nnested:\n- - deep\n  - text: |\n      block\n      scalar\nfolded: >\n  a\n  b\n---\nsecond: doc\n---\n";

    #[test]
    fn plain_values_are_decoded_directly_and_agree() {
        assert!(agrees(VALUES));
        assert!(agrees(""));
        assert!(agrees("# only a comment\n"));
        assert!(agrees("- a\n- b\n"));
        assert!(agrees("scalar"));
    }

    #[test]
    fn everything_else_is_left_to_the_full_decode() {
        for src in [
            "a: &x 1\nb: *x\n",
            "a: !!str 1\n",
            "<<: {b: 1}\n",
            "~: 1\n",
            "? [complex]\n: 1\n",
            "a: .inf\n",
            "a: [unclosed\n",
            "a:\n\tb: 1\n",
        ] {
            assert!(!agrees(src), "direct path accepted {src:?}");
        }
    }

    /// Random byte edits of a values file: whatever the direct path accepts decodes the same way
    /// through the tree.
    #[test]
    fn mutated_values_never_disagree() {
        let accepted = super::super::mutants(VALUES, 0x2545_f491_4f6c_dd1d_u64, 20_000)
            .filter(|src| agrees(src))
            .count();
        assert!(
            accepted > 5_000,
            "only {accepted} mutants took the direct path"
        );
    }
}
