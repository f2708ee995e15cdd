//! Plain block YAML decoded line by line, for `values.yaml` files and `fromYaml`.
//!
//! Values files are mostly block mappings and sequences of one-line scalars. For those the
//! structure is a matter of indentation, and one pass over the lines builds the values several
//! times faster than the event parser; scalars and keys resolve through the full decode's own
//! rules ([`decode_scalar`], [`key_string`]). One-line quoted scalars (with escapes), one-line
//! flow sequences of scalars, `|`/`>` block scalars, anchors on one-line scalars with their
//! aliases (`port: &port 80`, `target: *port`), and one document opened by a bare `---` are read
//! too. Anything outside that shape — several documents, other flow collections, multi-line flow
//! or plain scalars, indentation indicators, other anchors and aliases, tags, tabs, duplicate
//! keys, characters go-yaml refuses, anything in doubt — returns `None`, and the caller decodes
//! the text in full, which alone words errors. It must never accept a text the full decode
//! refuses, nor read one differently: the tests check both over a sample of every form it reads,
//! mutants of that sample, and the corpus's values files.

use std::collections::{BTreeMap, HashMap};

use signet_gotemplate::Value;

use super::block::{
    comment_or_end, double_quoted, entry_key, flow_plain, plain_scalar, single_quoted,
};
use super::{MAX_DEPTH, Node, decode_scalar, json_number, key_string};

/// A line with content (blank and comment lines are dropped: without block or multi-line
/// scalars, neither can change what the others mean).
#[derive(Clone, Copy)]
struct Line<'a> {
    indent: usize,
    /// After the indentation, without trailing spaces.
    text: &'a str,
    /// Its index among all lines of the text.
    number: usize,
}

/// The one document of `src` when it is plain block YAML whose top level is a mapping or a
/// sequence.
pub(super) fn block_document(src: &str) -> Option<Value> {
    // Tabs, carriage returns, a BOM, YAML 1.1's extra line breaks, every character go-yaml's
    // reader refuses (C0 and C1 controls, DEL, U+FFFE/U+FFFF), and the engine's escapes of
    // invalid bytes: the parser's. Only texts with one of their lead bytes are read by character.
    let mut suspicious = false;
    for b in src.bytes() {
        if (b < 0x20 && b != b'\n') || matches!(b, 0x7F | 0xF4) {
            return None;
        }
        suspicious |= matches!(b, 0xC2 | 0xE2 | 0xEF);
    }
    if suspicious
        && src.chars().any(|c| {
            matches!(
                c,
                '\u{80}'
                    ..='\u{9f}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}' | '\u{2028}' | '\u{2029}'
            )
        })
    {
        return None;
    }
    let mut raw: Vec<&str> = src.split('\n').collect();
    // The text after the last line break is a line only if it is not empty.
    if raw.last() == Some(&"") {
        raw.pop();
    }
    let mut lines = Vec::new();
    let mut started = false;
    for (number, line) in raw.iter().enumerate() {
        let text = line.trim_start_matches(' ');
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        let indent = line.len() - text.len();
        // Document markers and directives, but a bare `---` opening the one document (as many
        // values files do).
        if indent == 0
            && (text.starts_with("---") || text.starts_with("...") || text.starts_with('%'))
        {
            if started || text.trim_end_matches(' ') != "---" {
                return None;
            }
            started = true;
            continue;
        }
        started = true;
        lines.push(Line {
            indent,
            text: text.trim_end_matches(' '),
            number,
        });
    }
    let indent = lines.first()?.indent;
    let ends_with_break = src.ends_with('\n');
    let mut reader = Reader {
        raw,
        ends_with_break,
        lines,
        at: 0,
        anchors: HashMap::new(),
    };
    let value = reader.node(indent, 0)?;
    (reader.at == reader.lines.len()).then_some(value)
}

struct Reader<'a> {
    /// Every line of the text, for block scalars (whose blank and `#` lines are content).
    raw: Vec<&'a str>,
    ends_with_break: bool,
    lines: Vec<Line<'a>>,
    /// The next line to read.
    at: usize,
    /// The scalars anchored so far, by anchor name.
    anchors: HashMap<&'a str, Value>,
}

impl<'a> Reader<'a> {
    /// The collection starting at the current line, whose entries sit at `indent`.
    fn node(&mut self, indent: usize, depth: usize) -> Option<Value> {
        // The same nesting limit as the event path's.
        if depth >= MAX_DEPTH / 2 {
            return None;
        }
        if is_seq_entry(self.lines.get(self.at)?.text) {
            self.seq(indent, depth)
        } else {
            self.map(indent, depth)
        }
    }

    /// The value on the lines after an entry with nothing after its colon or dash: a collection,
    /// or a one-line scalar (`{}` and the like) on the next line.
    fn node_or_scalar(&mut self, next: Line<'a>, depth: usize) -> Option<Value> {
        if is_seq_entry(next.text) || entry_key(next.text).is_some() {
            return self.node(next.indent, depth);
        }
        if next.text.starts_with(['|', '>']) {
            return None;
        }
        self.at += 1;
        self.scalar_ending_here(next.text, next.indent)
    }

    fn map(&mut self, indent: usize, depth: usize) -> Option<Value> {
        let mut map = BTreeMap::new();
        while let Some(&line) = self.lines.get(self.at) {
            if line.indent < indent {
                break;
            }
            if line.indent > indent || is_seq_entry(line.text) {
                return None;
            }
            let (key, rest) = map_key(line.text, indent)?;
            self.at += 1;
            let rest = rest.trim_start_matches(' ');
            let value = if rest.is_empty() || rest.starts_with('#') {
                match self.lines.get(self.at) {
                    Some(&next) if next.indent > indent => self.node_or_scalar(next, depth + 1)?,
                    // A sequence may sit at its key's own indentation.
                    Some(next) if next.indent == indent && is_seq_entry(next.text) => {
                        self.seq(indent, depth + 1)?
                    }
                    _ => Value::Nil,
                }
            } else if rest.starts_with(['|', '>']) {
                self.block_scalar(rest, indent, line.number)?
            } else {
                self.scalar_ending_here(rest, indent)?
            };
            // A duplicate key is an error for go-yaml: the full decode words it.
            if map.insert(key, value).is_some() {
                return None;
            }
        }
        Some(Value::map(map))
    }

    fn seq(&mut self, indent: usize, depth: usize) -> Option<Value> {
        let mut items = Vec::new();
        while let Some(&line) = self.lines.get(self.at) {
            if line.indent < indent || (line.indent == indent && !is_seq_entry(line.text)) {
                break;
            }
            if line.indent > indent {
                return None;
            }
            let rest = line.text[1..].trim_start_matches(' ');
            if rest.is_empty() {
                self.at += 1;
                items.push(match self.lines.get(self.at) {
                    Some(&next) if next.indent > indent => self.node_or_scalar(next, depth + 1)?,
                    _ => Value::Nil,
                });
            } else if is_seq_entry(rest) || rest.starts_with('#') {
                // `- - x` (a sequence in a sequence on one line) and `- # …` are left to the parser.
                return None;
            } else if entry_key(rest).is_some() {
                // `- key: value`: a mapping whose later keys line up with this first one. The
                // line is read again as that mapping's first entry.
                let column = indent + line.text.len() - rest.len();
                self.lines[self.at] = Line {
                    indent: column,
                    text: rest,
                    number: line.number,
                };
                items.push(self.map(column, depth + 1)?);
            } else if rest.starts_with(['|', '>']) {
                self.at += 1;
                items.push(self.block_scalar(rest, indent, line.number)?);
            } else {
                self.at += 1;
                items.push(self.scalar_ending_here(rest, indent)?);
            }
        }
        Some(Value::list(items))
    }

    /// A `|` or `>` block scalar whose header `header` ends line `number`, under an entry at
    /// `parent`; the lines it takes are skipped.
    fn block_scalar(&mut self, header: &str, parent: usize, number: usize) -> Option<Value> {
        let literal = header.starts_with('|');
        let chomp = header.as_bytes().get(1).copied();
        let after = match chomp {
            Some(b'-' | b'+') => &header[2..],
            _ => &header[1..],
        };
        // An indentation indicator (`|2`) is the parser's to read.
        if !comment_or_end(after) {
            return None;
        }
        let mut indent = None;
        // Content lines without their indentation; `None` for a blank line.
        let mut body: Vec<Option<&str>> = Vec::new();
        let mut end = self.raw.len();
        for (i, line) in self.raw.iter().enumerate().skip(number + 1) {
            let text = line.trim_start_matches(' ');
            let spaces = line.len() - text.len();
            if text.is_empty() {
                // Spaces on a blank line could be content or set the indentation: the parser's.
                if spaces > 0 && indent.is_none_or(|at| spaces > at) {
                    return None;
                }
                body.push(None);
                continue;
            }
            match indent {
                None if spaces > parent => indent = Some(spaces),
                Some(at) if spaces >= at => {}
                _ => {
                    end = i;
                    break;
                }
            }
            // More-indented lines of a folded scalar keep their line breaks: the parser's.
            if !literal && indent.is_some_and(|at| spaces > at) {
                return None;
            }
            body.push(Some(&line[indent?..]));
        }
        if indent.is_none() {
            // No content: an empty string, unless `+` keeps the blank lines.
            if chomp == Some(b'+') {
                return None;
            }
            self.skip_lines_before(end);
            return Some(Value::from(String::new()));
        }
        // A scalar running to the end of a text without a final line break: the parser's.
        if end == self.raw.len() && !self.ends_with_break {
            return None;
        }
        self.skip_lines_before(end);
        let trailing = body.iter().rev().take_while(|l| l.is_none()).count();
        body.truncate(body.len() - trailing);
        let mut text = String::new();
        if literal {
            text = body
                .iter()
                .map(|line| line.unwrap_or(""))
                .collect::<Vec<_>>()
                .join("\n");
        } else {
            // Folding: a line break between two lines of text reads as a space; one followed by
            // blank lines reads as those lines' breaks alone.
            let mut after_text = false;
            for line in &body {
                match line {
                    Some(content) => {
                        if after_text {
                            text.push(' ');
                        }
                        text.push_str(content);
                        after_text = true;
                    }
                    None => {
                        text.push('\n');
                        after_text = false;
                    }
                }
            }
        }
        match chomp {
            Some(b'-') => {}
            Some(b'+') => {
                text.push('\n');
                text.extend(std::iter::repeat_n('\n', trailing));
            }
            _ => text.push('\n'),
        }
        Some(Value::from(text))
    }

    /// Moves past the content lines a block scalar took (those before line `end`).
    fn skip_lines_before(&mut self, end: usize) {
        while self.lines.get(self.at).is_some_and(|l| l.number < end) {
            self.at += 1;
        }
    }

    /// A one-line value whose entry sits at `indent`; a deeper line after it would continue a
    /// plain scalar (or be an error), which is the parser's to read.
    fn scalar_ending_here(&mut self, text: &'a str, indent: usize) -> Option<Value> {
        if self
            .lines
            .get(self.at)
            .is_some_and(|next| next.indent > indent)
        {
            return None;
        }
        match text.as_bytes().first() {
            Some(b'&') => {
                let (name, rest) = anchor_name(&text[1..])?;
                let rest = rest.trim_start_matches(' ');
                // Only a one-line scalar takes its anchor here; an anchored collection, block
                // scalar or property run is the parser's.
                if rest.is_empty()
                    || rest.starts_with(['#', '&', '*', '!', '|', '>'])
                    || is_seq_entry(rest)
                    || entry_key(rest).is_some()
                {
                    return None;
                }
                let value = scalar(rest)?;
                self.anchors.insert(name, value.clone());
                Some(value)
            }
            Some(b'*') => {
                let (name, rest) = anchor_name(&text[1..])?;
                if !comment_or_end(rest) {
                    return None;
                }
                // go-yaml decodes an alias's node afresh each time: nothing is shared.
                self.anchors.get(name).map(Value::deep_copy)
            }
            _ => scalar(text),
        }
    }
}

/// The name of an anchor or alias at the start of `text` (after its `&` or `*`) and what follows:
/// go-yaml's name characters, then a space or the end of the line.
fn anchor_name(text: &str) -> Option<(&str, &str)> {
    let end = text
        .bytes()
        .position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-')))
        .unwrap_or(text.len());
    let (name, rest) = text.split_at(end);
    (!name.is_empty() && (rest.is_empty() || rest.starts_with(' '))).then_some((name, rest))
}

fn is_seq_entry(text: &str) -> bool {
    text == "-" || text.starts_with("- ")
}

/// A mapping entry's key, resolved as the full decode resolves keys, and what follows the colon.
fn map_key(text: &str, indent: usize) -> Option<(String, &str)> {
    let (written, quoted, rest) = entry_key(text)?;
    let key = if quoted {
        unquote(written)?
    } else {
        // go-yaml merges `<<` keys.
        if written == "<<" {
            return None;
        }
        let node = Node::Scalar {
            text: written.into(),
            plain: true,
            tag: None,
            line: 0,
            col: indent + 1,
        };
        key_string(&node).ok()??
    };
    Some((key, rest))
}

/// A one-line scalar value, `{}` or `[]`, then nothing or a comment.
fn scalar(text: &str) -> Option<Value> {
    match text.as_bytes().first()? {
        b'"' | b'\'' => {
            let rest = if text.starts_with('"') {
                double_quoted(text)?
            } else {
                single_quoted(text)?
            };
            if !comment_or_end(rest) {
                return None;
            }
            unquote(&text[..text.len() - rest.len()]).map(Value::from)
        }
        b'{' => {
            let rest = text[1..].trim_start_matches(' ').strip_prefix('}')?;
            comment_or_end(rest).then(Value::empty_map)
        }
        b'[' => {
            let (items, rest) = flow_sequence(text)?;
            comment_or_end(rest).then(|| Value::list(items))
        }
        _ => {
            let (ok, _) = plain_scalar(text);
            if !ok {
                return None;
            }
            let plain = match text.find(" #") {
                Some(at) => &text[..at],
                None => text,
            }
            .trim_end_matches(' ');
            json_number(decode_scalar(plain, true, None).ok()?).ok()
        }
    }
}

/// A one-line flow sequence of scalars (`[]`, `[a, "b"]`): its items and what follows it.
fn flow_sequence(text: &str) -> Option<(Vec<Value>, &str)> {
    let mut items = Vec::new();
    let mut rest = text[1..].trim_start_matches(' ');
    if let Some(after) = rest.strip_prefix(']') {
        return Some((items, after));
    }
    loop {
        let after = match rest.as_bytes().first()? {
            b'"' => double_quoted(rest)?,
            b'\'' => single_quoted(rest)?,
            _ => {
                let end = rest.find([',', ']'])?;
                let item = rest[..end].trim_end_matches(' ');
                if !flow_plain(item) {
                    return None;
                }
                items.push(json_number(decode_scalar(item, true, None).ok()?).ok()?);
                &rest[end..]
            }
        };
        if after.len() < rest.len() && rest.starts_with(['"', '\'']) {
            items.push(Value::from(unquote(&rest[..rest.len() - after.len()])?));
        }
        rest = after.trim_start_matches(' ');
        if let Some(after) = rest.strip_prefix(']') {
            return Some((items, after));
        }
        // A further item after the comma (not a trailing comma).
        rest = rest.strip_prefix(',')?.trim_start_matches(' ');
        if rest.starts_with([']', ',']) {
            return None;
        }
    }
}

/// The text of a one-line quoted scalar, quotes included in `written`.
fn unquote(written: &str) -> Option<String> {
    let body = &written[1..written.len() - 1];
    if written.starts_with('\'') {
        return Some(body.replace("''", "'"));
    }
    if !body.contains('\\') {
        return Some(body.to_string());
    }
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let hex_digits = match chars.next()? {
            '0' => {
                out.push('\0');
                continue;
            }
            'a' => {
                out.push('\x07');
                continue;
            }
            'b' => {
                out.push('\x08');
                continue;
            }
            't' => {
                out.push('\t');
                continue;
            }
            'n' => {
                out.push('\n');
                continue;
            }
            'v' => {
                out.push('\x0b');
                continue;
            }
            'f' => {
                out.push('\x0c');
                continue;
            }
            'r' => {
                out.push('\r');
                continue;
            }
            'e' => {
                out.push('\x1b');
                continue;
            }
            'N' => {
                out.push('\u{85}');
                continue;
            }
            '_' => {
                out.push('\u{a0}');
                continue;
            }
            'L' => {
                out.push('\u{2028}');
                continue;
            }
            'P' => {
                out.push('\u{2029}');
                continue;
            }
            c @ (' ' | '"' | '/' | '\\') => {
                out.push(c);
                continue;
            }
            'x' => 2,
            'u' => 4,
            'U' => 8,
            _ => return None,
        };
        let digits: String = chars.by_ref().take(hex_digits).collect();
        if digits.len() != hex_digits {
            return None;
        }
        out.push(char::from_u32(u32::from_str_radix(&digits, 16).ok()?)?);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::super::{load_documents, to_json_value};
    use super::*;

    /// Whether the line pass answered for `src`; where it did, the full decode must accept `src`
    /// as one document and read the same value.
    fn agrees(src: &str) -> bool {
        let Some(fast) = block_document(src) else {
            return false;
        };
        let docs = load_documents(src, false).unwrap_or_else(|e| {
            panic!("the line pass accepted what the decode refuses: {e}\n{src}")
        });
        assert_eq!(docs.len(), 1, "{src}");
        let node = docs[0].as_ref().expect("a document with content");
        let full = to_json_value(node, &mut Default::default()).unwrap_or_else(|e| {
            panic!("the line pass accepted what the decode refuses: {e}\n{src}")
        });
        let json = |v: &Value| crate::yaml::to_json(v).expect("decoded values are JSON");
        assert_eq!(json(&fast), json(&full), "{src}");
        true
    }

    const VALUES: &str = "\
# Default values.
---
replicaCount: 1
image:
  repository: nginx   # the image
  tag: \"1.25\"
  pullPolicy: 'If''NotPresent'
  digest: ''
yes: no
1: one
args: []
podAnnotations: {}
env:
- name: A
  value: \"x: y\"
-   name: B
    value: 2.50
-
  nested: true
- plain text with spaces
- |-
  literal under a dash
- last: >
    folded in a mapping
    under a dash
- ~
-
ports:
  - 80
  - -1
  - 0x1F
  - 1e3
  - 2024-01-01
empty:
tolerations: # none
after: last
script: |
  #!/bin/sh
  echo \"$1\"

    indented: kept
  tail
keep: |+
  kept

strip: >-
  folded
  line

  para
verbs: [\"get\", list, 'wa''tch', 1]
port: &port 8080 # anchored
portName: &name \"http\"
service:
  targetPort: *port
  names:
  - *name
  - &item item
  - *item # again
escaped: \"tab\\there \\u00e9 \\x41 \\\"q\\\"\"
";

    #[test]
    fn plain_values_take_the_line_pass_and_agree() {
        assert!(agrees(VALUES));
        for src in [
            "a: 1\n",
            "- a\n- b: c\n  d: e\n",
            "  indented:\n    deeper: x\n",
            "a:\n- 1\n- 2\nb: 3\n",
            "a: b#c\n",
            "a: 'x # y' # z\n",
            "url: http://example.com:8080/x\n",
            "\"k\\u0041\": 1\n",
            "a:\n  {  }\nb:\n  - 1\n  -\n    x\n",
            "a: |\nb: >-\n\nc: ok ⚠\u{fe0f}\n",
            "a: &x 1\nb: *x\n",
            "a: &x {}\nb: *x\n",
            "---\na: 1\n",
            "# c\n---  \n\na:\n  b: |\n    x\n",
            "- &x-1 'q' # c\n- *x-1\n",
        ] {
            assert!(agrees(src), "{src}");
        }
    }

    #[test]
    fn everything_else_is_left_to_the_full_decode() {
        // The shared list but its top-level sequence and scalar anchor, which this pass reads.
        let shared = super::super::FULL_DECODE_ONLY.iter().copied();
        let read_here = ["- a list", "a: &x 1\nb: *x\n"];
        for src in shared.filter(|s| !read_here.contains(s)).chain([
            "a: &x\n  b: 1\nc: *x\n",
            "---\na: 1\n---\nb: 2\n",
            "---\n---\na: 1\n",
            "a: 1\n---\n",
            "--- a\n",
            "--- # c\na: 1\n",
            "---\n",
            "a: &x |\n  text\n",
            "a: *x\n",
            "a: &x.y 1\n",
            "a: &x !!str 1\n",
            "a: &x b: 1\n",
            "a: *x y\n",
            "a: 1\n---\nb: 2\n",
            "a: multi\n  line\n",
            "a: [1, [2]]\n",
            "a: {b: 1}\n",
            "a: \"esc\\q\"\n",
            "a: |2\n   text\n",
            "a: >\n  text\n    more\n",
            "a: |\n  text",
            "a: |\n   \n  text\n",
            "a:\n  |\n  text\n",
            "a: |+\nb: 1\n",
            "a: 1\na: 2\n",
            "- - nested\n",
            "a: b: c\n",
            "a:\n  b: 1\n c: 2\n",
            "a: \u{1}\n",
            "a: 1\r\n",
            "\"k\\q\": 1\n",
            "a:\n  - 1\n  b: 2\n",
        ]) {
            assert!(block_document(src).is_none(), "{src:?}");
        }
    }

    #[test]
    fn mutated_values_never_disagree() {
        let mut accepted = 0;
        for text in super::super::mutants(VALUES, 0x5eed_1234_abcd_ef01, 100_000) {
            accepted += usize::from(agrees(&text));
        }
        assert!(
            accepted > 20_000,
            "only {accepted} mutants took the line pass"
        );
    }

    /// Every `values.yaml` (and CI values file) of the corpus charts: the line pass agrees with
    /// the full decode wherever it answers.
    #[test]
    fn corpus_values_agree() {
        let Some(dir) = super::super::corpus_dir("charts") else {
            return;
        };
        fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else if path.extension().is_some_and(|e| e == "yaml")
                    && path.to_string_lossy().contains("values")
                {
                    out.push(path);
                }
            }
        }
        let mut files = Vec::new();
        walk(&dir, &mut files);
        let (mut total, mut fast) = (0, 0);
        for file in files {
            let Ok(text) = std::fs::read_to_string(&file) else {
                continue;
            };
            total += 1;
            fast += usize::from(agrees(&text));
        }
        assert!(
            total > 100,
            "only {total} values files in {}",
            dir.display()
        );
        eprintln!("line pass answered for {fast} of {total} corpus values files");
        assert!(
            fast * 10 > total * 7,
            "the line pass answered for {fast} of {total}"
        );
    }
}
