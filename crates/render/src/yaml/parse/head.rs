//! The common case of [`super::parse_yaml_head`] in one pass, without a node tree for the parts
//! nobody reads.
//!
//! Helm decodes every rendered manifest in full (any YAML error fails the release) only to read its
//! `kind` and annotations; for CRD-sized manifests that decode dominated a render. Without anchors,
//! aliases, tags or merge keys, go-yaml's decode visits nodes in document order and can fail on a
//! scalar only in ways this pass can see as the events stream by, so a document is checked here and
//! only the head entries are built. Anything outside that common case — including every error —
//! returns `None`, and the caller runs the full decode, which alone words errors.

use std::collections::BTreeMap;

use serde_saphyr::granit_parser::{Event, ScalarStyle};
use signet_gotemplate::Value;

use super::{Budget, MAX_DEPTH, TabShelters, TreeBuilder, to_json_value};
use crate::yaml::resolve::{Resolved, resolve_plain};

/// What an open collection outside the captured head entries expects next.
enum Frame {
    Seq,
    /// A mapping; `true` when its next node is a key.
    Map(bool),
}

/// The head entries (`keys` of the top-level mapping) when `src` is a plain, valid document.
pub(super) fn simple_head(src: &str, keys: &[&str]) -> Option<Value> {
    let mut parser = super::new_parser(src);
    let mut shelters = TabShelters::default();
    let mut frames: Vec<Frame> = Vec::new();
    let mut head = BTreeMap::new();
    // The root mapping's key whose value is being read, when it is a head key.
    let mut head_key: Option<String> = None;
    // The head value under construction.
    let mut capture: Option<TreeBuilder> = None;
    let mut root_seen = false;
    while let Some(next) = parser.next_event() {
        let (event, span) = next.ok()?;
        shelters.observe(&event, &span);
        match &event {
            Event::StreamStart | Event::DocumentStart(..) => continue,
            Event::StreamEnd | Event::DocumentEnd => break,
            Event::Alias(_) | Event::Anchor(..) | Event::UnresolvedAlias(_) => return None,
            Event::Scalar(_, _, anchor, tag)
            | Event::SequenceStart(_, anchor, tag)
            | Event::MappingStart(_, anchor, tag)
                if *anchor != 0 || tag.is_some() =>
            {
                return None;
            }
            _ => {}
        }
        if frames.len() >= MAX_DEPTH / 2 {
            return None;
        }
        if let Some(builder) = capture.as_mut() {
            if let Some(node) = builder.push(event, &span).ok()? {
                let value = to_json_value(&node, &mut Budget::default()).ok()?;
                head.insert(head_key.take()?, value);
                capture = None;
                value_done(&mut frames);
            }
            continue;
        }
        let at_key = matches!(frames.last(), Some(Frame::Map(true)));
        match event {
            Event::Scalar(text, style, ..) => {
                let plain = style == ScalarStyle::Plain;
                if at_key {
                    // go-yaml's decode fails on null keys and treats `<<` as a merge.
                    if plain && (text == "<<" || matches!(resolve_plain(&text), Resolved::Null)) {
                        return None;
                    }
                    if frames.len() == 1 && is_head_key(&text, plain, keys) {
                        head_key = Some(text.into_owned());
                        capture = Some(TreeBuilder::default());
                    }
                    if let Some(Frame::Map(expect_key)) = frames.last_mut() {
                        *expect_key = false;
                    }
                    continue;
                }
                if frames.is_empty() {
                    return None;
                }
                // Untagged plain scalars fail to decode only as non-finite floats (JSON).
                if plain && matches!(resolve_plain(&text), Resolved::Float(f) if !f.is_finite()) {
                    return None;
                }
                value_done(&mut frames);
            }
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                // A collection as a key, or a document that is not a mapping.
                if at_key || (frames.is_empty() && !matches!(event, Event::MappingStart(..))) {
                    return None;
                }
                root_seen |= frames.is_empty();
                frames.push(if matches!(event, Event::MappingStart(..)) {
                    Frame::Map(true)
                } else {
                    Frame::Seq
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                frames.pop()?;
                value_done(&mut frames);
            }
            _ => {}
        }
    }
    if capture.is_some() || !frames.is_empty() || !root_seen {
        return None;
    }
    shelters.check(src).ok()?;
    Some(Value::map(head))
}

/// A node finished as the value of the innermost open collection.
fn value_done(frames: &mut [Frame]) {
    if let Some(Frame::Map(expect_key)) = frames.last_mut() {
        *expect_key = true;
    }
}

/// Whether a root key decodes to one of the head keys (only strings can).
fn is_head_key(text: &str, plain: bool, keys: &[&str]) -> bool {
    keys.contains(&text) && (!plain || matches!(resolve_plain(text), Resolved::Str))
}

#[cfg(test)]
mod tests {
    use super::super::{FULL_DECODE_ONLY, HEAD_KEYS, fast_head_agrees};
    use super::*;

    /// The fast path either declines or agrees with the full decode, which must then succeed.
    fn assert_agrees(src: &str) -> bool {
        fast_head_agrees(simple_head(src, HEAD_KEYS), src)
    }

    const MANIFEST: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  annotations:\n    helm.sh/hook: pre-install\n    n: 1\n  labels: {a: b, c: [1, 2]}\ndata:\n  key: |\n    text\n    \tmore\n  other: 'quoted\n    folded'\n  list:\n  - a: 1\n    b: yes\n  - - nested\nkind: Secret\n";

    #[test]
    fn plain_manifests_take_the_fast_path_and_agree() {
        assert!(assert_agrees(MANIFEST));
        assert!(assert_agrees("kind: A\n"));
        assert!(assert_agrees("spec: {}\n"));
        assert!(assert_agrees(
            "\"kind\": A\nmetadata: {name: n, \"k\": ~}\n"
        ));
    }

    #[test]
    fn everything_else_is_left_to_the_full_decode() {
        for src in FULL_DECODE_ONLY {
            assert!(!assert_agrees(src), "fast path accepted {src:?}");
        }
    }

    /// Random byte edits of a manifest: whatever the fast path accepts, the full decode accepts
    /// with the same head.
    #[test]
    fn mutated_manifests_never_disagree() {
        let accepted = super::super::mutants(MANIFEST, 0x9e37_79b9_7f4a_7c15_u64, 20_000)
            .filter(|src| assert_agrees(src))
            .count();
        assert!(
            accepted > 5_000,
            "only {accepted} mutants took the fast path"
        );
    }
}
