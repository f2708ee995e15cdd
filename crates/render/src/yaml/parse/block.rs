//! The commonest manifest shape, checked line by line without a YAML parser.
//!
//! Helm decodes every rendered document in full (any YAML error fails the release) to read only
//! its `kind` and annotations. Generated CRDs make that decode the biggest part of rendering some
//! charts, and they are plain block YAML: `key: value` and `- item` lines, one-line scalars, `|`
//! and `>` blocks, comments. For such a document the structure is a matter of indentation, which
//! this pass checks in one sweep; only the head entries are then decoded, by the event-based path
//! ([`super::head`]), from their own lines. Anything outside the shape it knows — flow
//! collections other than `{}`/`[]`, multi-line keys, anchors, tags, tabs,
//! keys it cannot read at a glance — returns `None`, and the caller decodes the whole document,
//! which alone words errors. It never accepts a document the full decode refuses.

use std::collections::BTreeMap;

use signet_gotemplate::Value;

use crate::yaml::resolve::{Resolved, resolve_plain};

/// An open block collection: its indentation and whether it is a sequence.
#[derive(Clone, Copy, PartialEq)]
struct Level {
    indent: usize,
    seq: bool,
}

/// A line's content after its indentation: a sequence entry or a mapping entry.
#[derive(Clone, Copy, PartialEq)]
enum Entry {
    Seq,
    Map,
}

/// What the previous content line leaves open for the lines after it.
enum After {
    Nothing,
    /// `key:` or `-` with nothing after it, at this indentation: a nested block may follow
    /// (deeper, or a sequence at the key's own indentation when `key` is set).
    Child {
        indent: usize,
        key: bool,
    },
    /// A scalar ended on a line at indentation `at`. A deeper line continues it when it is
    /// plain and nothing (a quote, a comment) closed it; otherwise a deeper line is an error.
    Scalar {
        at: usize,
        plain: bool,
    },
    /// A `|`/`>` block scalar whose parent is at `parent`; `content` once its first line is seen.
    Block {
        parent: usize,
        content: Option<usize>,
    },
    /// A quoted scalar left open at the end of its line (generated CRDs wrap long descriptions
    /// so), whose parent is at `parent`: the lines after it are more of it up to its closing
    /// quote. Double-quoted ones only without escapes, which could span the line break.
    Quoted {
        parent: usize,
        double: bool,
    },
}

/// Deepest nesting this pass follows; deeper documents take the full decode.
const MAX_LEVELS: usize = 64;

/// The head entries (`keys` of the top-level mapping) of `src` when it is plain block YAML.
pub(super) fn plain_block_head(src: &str, keys: &[&str]) -> Option<Value> {
    // Tabs, carriage returns, a BOM and YAML 1.1's extra line breaks (NEL, LS, PS) all change
    // how lines and indentation read: leave them to the parser.
    if src.bytes().any(|b| matches!(b, b'\t' | b'\r'))
        || src.contains(['\u{feff}', '\u{85}', '\u{2028}', '\u{2029}'])
    {
        return None;
    }
    let mut levels: Vec<Level> = Vec::new();
    let mut after = After::Nothing;
    // Byte offset and key of each top-level entry, for reading the head.
    let mut roots: Vec<(usize, &str)> = Vec::new();
    let mut offset = 0;
    for line in src.split('\n') {
        let start = offset;
        offset += line.len() + 1;
        let indent = line.len() - line.trim_start_matches(' ').len();
        let content = &line[indent..];
        if let After::Block {
            parent,
            content: body,
        } = &mut after
        {
            if content.is_empty() {
                // A blank line inside the block; spaces before its first line could set its
                // indentation, which is the parser's business.
                if body.is_none() && indent > 0 {
                    return None;
                }
                continue;
            }
            match *body {
                None if indent > *parent => {
                    *body = Some(indent);
                    continue;
                }
                Some(body) if indent >= body => continue,
                Some(_) if indent > *parent => return None,
                _ => after = After::Nothing,
            }
        }
        if let After::Quoted { parent, double } = after {
            if content.is_empty() {
                continue;
            }
            // A continuation at or left of its parent (or a document marker at column 0) is
            // the parser's to judge.
            if indent <= parent {
                return None;
            }
            if let Some(rest) = closing_quote(&line[indent - 1..], double)? {
                if !comment_or_end(rest) {
                    return None;
                }
                after = After::Scalar {
                    at: parent,
                    plain: false,
                };
            }
            continue;
        }
        if content.is_empty() {
            continue;
        }
        if content.starts_with('#') {
            // A comment ends a plain scalar: no line may continue it.
            if let After::Scalar { plain, .. } = &mut after {
                *plain = false;
            }
            continue;
        }
        if indent == 0 && (content.starts_with("---") || content.starts_with("...")) {
            return None;
        }
        if content.starts_with('%') && indent == 0 {
            return None;
        }
        let entry = if content == "-" || content.starts_with("- ") {
            Entry::Seq
        } else {
            Entry::Map
        };
        match after {
            After::Scalar { at, plain } if indent > at => {
                if !plain || !plain_continuation(content) {
                    return None;
                }
                continue;
            }
            // The value of `key:` on the next line, deeper: `{}`, `[]` or a one-line scalar.
            After::Child { indent: at, .. }
                if indent > at && entry == Entry::Map && entry_key(content).is_none() =>
            {
                if matches!(content.as_bytes()[0], b'|' | b'>') {
                    return None;
                }
                after = value(content, at)?;
                continue;
            }
            After::Child { indent: at, key }
                if indent > at || (key && indent == at && entry == Entry::Seq) =>
            {
                if levels.len() >= MAX_LEVELS {
                    return None;
                }
                levels.push(Level {
                    indent,
                    seq: entry == Entry::Seq,
                });
            }
            _ if levels.is_empty() => {
                // The document's root: a mapping.
                if entry != Entry::Map || indent != 0 {
                    return None;
                }
                levels.push(Level { indent, seq: false });
            }
            _ => close_to(&mut levels, indent, entry)?,
        }
        after = match entry {
            Entry::Map => {
                if indent == 0 {
                    // A quoted top-level key could spell a head key: the full decode reads those.
                    match entry_key(content)? {
                        (key, false, _) => roots.push((start, key)),
                        (_, true, _) => return None,
                    }
                }
                map_entry(content, indent)?
            }
            Entry::Seq => seq_entry(content, indent, &mut levels)?,
        };
    }
    // A quote still open at the end is an error the parser words.
    if levels.is_empty() || matches!(after, After::Quoted { .. }) {
        return None;
    }
    head_of(src, &roots, keys)
}

/// Closes the collections a line at `indent` ends, then checks that it continues the innermost
/// open one.
fn close_to(levels: &mut Vec<Level>, indent: usize, entry: Entry) -> Option<()> {
    while levels.last().is_some_and(|l| l.indent > indent) {
        levels.pop();
    }
    let top = *levels.last()?;
    // A sequence at its key's own indentation ends at the next key of that mapping.
    if top.seq && entry == Entry::Map && top.indent == indent {
        levels.pop();
    }
    let top = levels.last()?;
    (top.indent == indent && top.seq == (entry == Entry::Seq)).then_some(())
}

/// `- …` at `indent`: an entry of the sequence open there.
fn seq_entry(content: &str, indent: usize, levels: &mut Vec<Level>) -> Option<After> {
    let rest = &content[1..];
    let item = rest.trim_start_matches(' ');
    if item.is_empty() || item.starts_with('#') {
        return Some(After::Child { indent, key: false });
    }
    if item == "-" || item.starts_with("- ") {
        return None;
    }
    let column = indent + 1 + (rest.len() - item.len());
    if entry_key(item).is_some() {
        // `- key: value`: a mapping opens at the key's column.
        if levels.len() >= MAX_LEVELS {
            return None;
        }
        levels.push(Level {
            indent: column,
            seq: false,
        });
        return map_entry(item, column);
    }
    value(item, indent)
}

/// `key: …` at `indent`.
fn map_entry(content: &str, indent: usize) -> Option<After> {
    let (_, _, rest) = entry_key(content)?;
    let value_text = rest.trim_start_matches(' ');
    if value_text.is_empty() || value_text.starts_with('#') {
        return Some(After::Child { indent, key: true });
    }
    value(value_text, indent)
}

/// A key this pass reads at a glance, then `:` and a space or the line's end: a plain word of
/// `[A-Za-z0-9_./$-]` (not starting with `-`, and none of YAML's null or non-finite spellings,
/// which cannot become JSON keys), or a one-line quoted string. The key as written, whether it is
/// quoted, and what follows the colon.
pub(super) fn entry_key(content: &str) -> Option<(&str, bool, &str)> {
    let (end, quoted) = match content.as_bytes().first()? {
        b'"' => (content.len() - double_quoted(content)?.len(), true),
        b'\'' => (content.len() - single_quoted(content)?.len(), true),
        _ => {
            let end = content
                .bytes()
                .position(|b| {
                    !(b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'/' | b'$' | b'-'))
                })
                .unwrap_or(content.len());
            (end, false)
        }
    };
    let key = &content[..end];
    let rest = content[end..].strip_prefix(':')?;
    if key.is_empty() || key.len() > 512 || !(rest.is_empty() || rest.starts_with(' ')) {
        return None;
    }
    if !quoted
        && (key.starts_with('-')
            || matches!(resolve_plain(key), Resolved::Null)
            || matches!(resolve_plain(key), Resolved::Float(f) if !f.is_finite()))
    {
        return None;
    }
    Some((key, quoted, rest))
}

/// A value on its key's (or dash's) line at `indent`: a one-line scalar, `{}`/`[]`, the header
/// of a block scalar, or the first line of a quoted scalar that goes on.
fn value(text: &str, indent: usize) -> Option<After> {
    let first = text.as_bytes()[0];
    let rest = match first {
        b'"' | b'\'' => match closing_quote(text, first == b'"')? {
            Some(rest) => rest,
            None => {
                return Some(After::Quoted {
                    parent: indent,
                    double: first == b'"',
                });
            }
        },
        b'|' | b'>' => {
            let header = &text[1..];
            let chomp = header.strip_prefix(['-', '+']).unwrap_or(header);
            if !comment_or_end(chomp) {
                return None;
            }
            return Some(After::Block {
                parent: indent,
                content: None,
            });
        }
        b'{' => text.strip_prefix("{}")?,
        b'[' => flow_sequence(text)?,
        _ => {
            let (ok, commented) = plain_scalar(text);
            return ok.then_some(After::Scalar {
                at: indent,
                plain: !commented,
            });
        }
    };
    comment_or_end(rest).then_some(After::Scalar {
        at: indent,
        plain: false,
    })
}

/// A one-line flow sequence of scalars (`["get", "list"]`, `[a, b]`, `[]`): what follows it.
fn flow_sequence(text: &str) -> Option<&str> {
    let mut rest = text[1..].trim_start_matches(' ');
    if let Some(after) = rest.strip_prefix(']') {
        return Some(after);
    }
    loop {
        rest = match rest.as_bytes().first()? {
            b'"' => double_quoted(rest)?,
            b'\'' => single_quoted(rest)?,
            _ => {
                let end = rest.find([',', ']'])?;
                let item = rest[..end].trim_end_matches(' ');
                if !flow_plain(item) {
                    return None;
                }
                &rest[end..]
            }
        }
        .trim_start_matches(' ');
        if let Some(after) = rest.strip_prefix(']') {
            return Some(after);
        }
        // A further item after the comma (not a trailing comma).
        rest = rest.strip_prefix(',')?.trim_start_matches(' ');
        if rest.starts_with([']', ',']) {
            return None;
        }
    }
}

/// A plain scalar inside a flow sequence: a word without flow indicators, colons or comments.
pub(super) fn flow_plain(item: &str) -> bool {
    let Some(&first) = item.as_bytes().first() else {
        return false;
    };
    (first.is_ascii_alphanumeric() || matches!(first, b'_' | b'.' | b'/' | b'$') || first >= 0x80)
        && !item.contains([':', '#', '{', '}', '[', ']', ',', '"', '\''])
        && !non_finite(item)
}

/// Whether a plain scalar reads as a float JSON cannot hold (`.inf`, `-.Inf`, `.nan`).
fn non_finite(text: &str) -> bool {
    (text.starts_with('.') || text.starts_with("+.") || text.starts_with("-."))
        && matches!(resolve_plain(text), Resolved::Float(f) if !f.is_finite())
}

/// A line continuing a multi-line plain scalar: text block context reads as more of it.
fn plain_continuation(content: &str) -> bool {
    let text = content.trim_end_matches(' ');
    !(text.contains(": ") || text.ends_with(':') || text.contains(" #"))
}

/// Whether `rest` is nothing, spaces, or spaces and a comment.
pub(super) fn comment_or_end(rest: &str) -> bool {
    let trimmed = rest.trim_start_matches(' ');
    trimmed.is_empty() || (trimmed.starts_with('#') && trimmed.len() < rest.len())
}

/// A plain scalar filling the rest of a line (up to a ` #` comment) that block context reads as
/// one scalar: no indicator first, no `: ` inside, no trailing `:`, and not a non-finite float
/// (which cannot become JSON). Whether it is one, and whether a comment ended it.
pub(super) fn plain_scalar(text: &str) -> (bool, bool) {
    let (text, commented) = match text.find(" #") {
        Some(at) => (&text[..at], true),
        None => (text, false),
    };
    let text = text.trim_end_matches(' ');
    let Some(&first) = text.as_bytes().first() else {
        return (false, commented);
    };
    let starts_well = first.is_ascii_alphanumeric()
        || matches!(
            first,
            b'_' | b'.' | b'/' | b'$' | b'(' | b'=' | b'+' | b'~' | b'^' | b'<' | b';' | b'\\'
        )
        || (first == b'-' && text.len() > 1 && text.as_bytes()[1] != b' ')
        || first >= 0x80;
    let ok = starts_well && !text.contains(": ") && !text.ends_with(':') && !non_finite(text);
    (ok, commented)
}

/// A `"…"` scalar closed on its line, with escapes go-yaml knows: what follows it.
pub(super) fn double_quoted(text: &str) -> Option<&str> {
    let bytes = text.as_bytes();
    let mut i = 1;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => return Some(&text[i + 1..]),
            b'\\' => {
                let hex = match bytes.get(i + 1)? {
                    b'0' | b'a' | b'b' | b't' | b'n' | b'v' | b'f' | b'r' | b'e' | b' ' | b'"'
                    | b'/' | b'\\' | b'N' | b'_' | b'L' | b'P' => 0,
                    b'x' => 2,
                    b'u' => 4,
                    b'U' => 8,
                    _ => return None,
                };
                let digits = bytes.get(i + 2..i + 2 + hex)?;
                // Code points go-yaml would refuse (surrogates, beyond U+10FFFF) are the
                // parser's to word.
                if hex > 0 {
                    let code = u32::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()?;
                    char::from_u32(code)?;
                }
                i += 2 + hex;
            }
            _ => i += 1,
        }
    }
    None
}

/// What follows the closing quote on a quoted scalar's line, `Some(None)` when the line does
/// not close it. `line` starts with the opening quote, or (on a continuation line) with the space
/// before the text. `None` for a double-quoted line with an escape and no closing quote: an
/// escape may span the line break, which is the parser's to read.
fn closing_quote(line: &str, double: bool) -> Option<Option<&str>> {
    let closed = if double {
        double_quoted(line)
    } else {
        single_quoted(line)
    };
    match closed {
        Some(rest) => Some(Some(rest)),
        None if double && line.contains('\\') => None,
        None => Some(None),
    }
}

/// A `'…'` scalar closed on its line (`''` is a quote): what follows it.
pub(super) fn single_quoted(text: &str) -> Option<&str> {
    let bytes = text.as_bytes();
    let mut i = 1;
    while i < bytes.len() {
        if bytes[i] == b'\'' {
            if bytes.get(i + 1) == Some(&b'\'') {
                i += 2;
                continue;
            }
            return Some(&text[i + 1..]);
        }
        i += 1;
    }
    None
}

/// The head entries, decoded from their own lines: each top-level entry runs from its key's
/// line to the next top-level key, so the entries named in `keys`, in document order, form a
/// small mapping with the same head (later duplicates winning, as in the full decode).
fn head_of(src: &str, roots: &[(usize, &str)], keys: &[&str]) -> Option<Value> {
    let mut lines = String::new();
    for (i, (start, key)) in roots.iter().enumerate() {
        if keys.contains(key) {
            let end = roots.get(i + 1).map_or(src.len(), |next| next.0);
            lines.push_str(src[*start..end].trim_end_matches('\n'));
            lines.push('\n');
        }
    }
    if lines.is_empty() {
        return Some(Value::map(BTreeMap::new()));
    }
    super::head::simple_head(&lines, keys)
}

#[cfg(test)]
mod tests {
    use super::super::{FULL_DECODE_ONLY, HEAD_KEYS, fast_head_agrees};
    use super::*;

    /// The block pass either declines or agrees with the full decode, which must then succeed.
    fn assert_agrees(src: &str) -> bool {
        fast_head_agrees(plain_block_head(src, HEAD_KEYS), src)
    }

    const CRD: &str = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  annotations:\n    controller-gen.kubebuilder.io/version: v0.16.1\n    \"helm.sh/resource-policy\": keep\n  labels:\n    app.kubernetes.io/name: x\n  name: apps.example.io\nspec:\n  group: example.io\n  names:\n    kind: App\n    plural: apps\n  versions:\n  - name: v1\n    schema:\n      openAPIV3Schema:\n        description: |-\n          App is a thing.\n\n            indented more: fine\n          # not a comment\n        properties:\n          apiVersion:\n            description: 'APIVersion defines the ''versioned'' schema'\n            type: string\n          kind:\n            description: 'Kind is a string: the\n              ''REST'' resource # this object\n\n              represents'\n            title: \"Kind of\n              the \\\"object\\\"\" # trailing\n          spec:\n            x-kubernetes-preserve-unknown-fields: true\n            default: {}\n            required: []\n            enum:\n            - a\n            - \"b\\u00e9\"\n            - -1\n            type: object # trailing\n        type: object\n    served: true\n    storage: true\n# a comment\nstatus:\n  acceptedNames:\n    kind: \"\"\n";

    #[test]
    fn plain_block_documents_take_the_fast_path_and_agree() {
        assert!(assert_agrees(CRD));
        assert!(assert_agrees(ROLE));
        assert!(assert_agrees(DEPLOYMENT));
        assert!(assert_agrees("kind: A\n"));
        assert!(assert_agrees("spec:\n  x: 1\n"));
        assert!(assert_agrees("kind: A\nkind: B\nmetadata:\n  name: n\n"));
        assert!(assert_agrees(
            "metadata:\n  name: x\n  annotations:\n    helm.sh/hook: pre-install\nkind: Job\n"
        ));
        assert!(assert_agrees(
            "list:\n- a: 1\n  b:\n  - c\n  d: >\n    folded\nkind: K\n"
        ));
        // Quoted scalars wrapped over lines, as generated CRDs write long descriptions.
        assert!(assert_agrees("a: \"open\n  quote\"\nkind: K\n"));
        assert!(assert_agrees(
            "a: 'it''s\n\n  # not a comment\n  b: c' # one\nl:\n- 'x\n  y'\n- z\nkind: K\n"
        ));
        assert!(assert_agrees(
            "a:\n  b: \"x y\n    z \\u00e9\"\nmetadata:\n  name: n\n"
        ));
    }

    #[test]
    fn everything_else_is_left_to_the_full_decode() {
        let block_only = [
            "a: 1\n  b: 2\n",
            "a:\n  b: 'x\n  y'\n",
            "a: 'x\n  y' z\n",
            "a: \"x \\n\n  y\"\n",
            "a: \"x\n  \\\n  y\"\n",
            "a: 'x\n---\n'\n",
            "'a\n  b': c\n",
            "a:\n    b: 1\n  c: 2\n",
            "a: b: c\n",
            "a: [1, [2]]\n",
            "a: [1, ]\n",
            "a: [x: 1]\n",
            "a: plain\n  # comment\n  more\n",
            "a: plain\n  b: c\n",
            "a: |\n    x\n  y\n",
            "a: - b\n",
            "a: @x\n",
            "a: \"bad \\q escape\"\n",
            "kind: A\n---\nkind: B\n",
        ];
        for src in FULL_DECODE_ONLY.iter().chain(&block_only) {
            assert!(!assert_agrees(src), "block pass accepted {src:?}");
        }
    }

    const ROLE: &str = "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: r\n  annotations:\n    note: a long\n      wrapped note\nrules:\n- apiGroups: [\"\", apps]\n  resources: ['pods', \"deployments\"]\n  verbs: [get, list, watch] # read\n- nonResourceURLs: []\n  description: first line\n    second line\n    third, yes\n";

    const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels: {}\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: \"nginx:1.27\"\n          args:\n          - --port=8080\n          - \"--x=y: z\"\n          env:\n            - name: A\n              value: 'b # c'\n          command: [] # none\n";

    /// Random byte edits of manifests: whatever the block pass accepts, the full decode accepts
    /// with the same head.
    #[test]
    fn mutated_documents_never_disagree() {
        for (base, seed) in [
            (CRD, 0x2545_f491_4f6c_dd1d),
            (DEPLOYMENT, 0x9e37_79b9_7f4a_7c15),
            (ROLE, 0x6a09_e667_f3bc_c908),
        ] {
            let accepted = super::super::mutants(base, seed, 30_000)
                .filter(|src| assert_agrees(src))
                .count();
            assert!(
                accepted > 5_000,
                "only {accepted} mutants took the block pass"
            );
        }
    }

    /// Edits with the characters the block pass itself treats specially (escapes, reserved
    /// indicators, YAML 1.1's words), on top of the shared mutation alphabet.
    #[test]
    fn escape_and_indicator_edits_never_disagree() {
        const ALPHABET: &[&str] = &[
            "\\", "\\u", "\\x4", "@", "`", "%", "<<", "~", "null", ".inf", "no", " #", ": ", "- ",
            "|-", ">+", "'", "\"", "[", "]", ",", "é", "\u{85}", "{}", "  ", "\n ", "\n  - ",
        ];
        let mut state = 0x510e_527f_ade6_82d1_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as usize
        };
        let mut accepted = 0;
        for base in [CRD, ROLE, DEPLOYMENT] {
            for _ in 0..20_000 {
                let mut text = base.to_string();
                for _ in 0..1 + next() % 3 {
                    let mut at = next() % text.len();
                    while !text.is_char_boundary(at) {
                        at -= 1;
                    }
                    text.insert_str(at, ALPHABET[next() % ALPHABET.len()]);
                }
                accepted += usize::from(assert_agrees(&text));
            }
        }
        assert!(
            accepted > 5_000,
            "only {accepted} edits took the block pass"
        );
    }

    /// Every document of helm's own output for the corpus charts: the block pass agrees with the
    /// full decode wherever it answers, and answers for most of them.
    #[test]
    fn corpus_outputs_agree() {
        let Some(dir) = super::super::corpus_dir("charts-golden") else {
            return;
        };
        let charts = std::fs::read_dir(&dir).unwrap();
        let (mut docs, mut fast) = (0, 0);
        for chart in charts.flatten() {
            for file in std::fs::read_dir(chart.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                let Ok(text) = std::fs::read_to_string(file.path()) else {
                    continue;
                };
                for doc in crate::render::manifests::split_manifests(&text) {
                    docs += 1;
                    fast += usize::from(assert_agrees(&doc));
                }
            }
        }
        assert!(docs > 1_000, "only {docs} documents in {}", dir.display());
        assert!(
            fast * 10 > docs * 9,
            "the block pass answered for {fast} of {docs} documents"
        );
    }
}
