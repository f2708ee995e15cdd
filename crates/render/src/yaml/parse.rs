//! Reading YAML into template values the way Helm does (`sigs.k8s.io/yaml.Unmarshal`): go-yaml v2
//! decodes the first document into generic Go values (YAML 1.1 scalars, merge keys, anchors), the
//! result is converted to JSON (non-string keys stringified as Go formats them) and decoded again by
//! `encoding/json`, so every number ends up a `float64`.

use std::collections::BTreeMap;
use std::rc::Rc;

use serde_saphyr::granit_parser::{
    Event, Options, Parser, ScalarStyle, Span, StrInput, StructureStyle,
};
use signet_gotemplate::Value;

use super::YamlError;
use super::emit::format_float_g;
use super::resolve::{Resolved, resolve_plain};

mod block;
mod block_values;
mod direct;
mod head;

/// The head keys the fast head paths are tested with.
#[cfg(test)]
const HEAD_KEYS: &[&str] = &["kind", "metadata"];

/// Whether a fast head path answered for `src`; where it did, the full decode must accept `src`
/// and read the same head.
#[cfg(test)]
fn fast_head_agrees(fast: Option<Value>, src: &str) -> bool {
    let Some(fast) = fast else {
        return false;
    };
    let full = decode_head(src, HEAD_KEYS)
        .unwrap_or_else(|e| panic!("a fast path accepted what the decode refuses: {e}\n{src}"));
    let json = |v: &Value| crate::yaml::to_json(v).expect("head values are JSON");
    assert_eq!(json(&fast), json(&full), "{src}");
    true
}

/// Documents every fast head path leaves to the full decode: empty, not a mapping, anchors,
/// tags, merge and null keys, complex keys, non-finite floats, unclosed flow, tabs, and
/// structure errors.
#[cfg(test)]
const FULL_DECODE_ONLY: &[&str] = &[
    "",
    "# only a comment",
    "just a scalar",
    "- a list",
    "a: &x 1\nb: *x\n",
    "a: !!str 1\n",
    "a:\n  <<: {b: 1}\n",
    "a:\n  ~: 1\n",
    "a:\n  ? [complex]\n  : 1\n",
    "a: .inf\n",
    "kind: [unclosed\n",
    "a:\n\tb: 1\n",
    "a: 1\n- b\n",
];

/// `../shared/corpus/<sub>` when it is there; otherwise `None` after saying where it looked
/// (and, with `CI=true`, failing: CI always has the corpus).
#[cfg(test)]
fn corpus_dir(sub: &str) -> Option<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpus")
        .join(sub);
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{} is missing (with CI=true a missing corpus fails the run)",
        dir.display()
    );
    eprintln!("skipping: no corpus at {}", dir.display());
    None
}

/// Documents a few random byte edits away from `base` (UTF-8 ones only), for checking that the
/// fast decoding paths never disagree with the full decode.
#[cfg(test)]
fn mutants(base: &str, mut seed: u64, count: usize) -> impl Iterator<Item = String> {
    let alphabet = b" \t\n:-'\"#&*!|>{}[],?~.0a1";
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let base = base.as_bytes().to_vec();
    (0..count).filter_map(move |_| {
        let mut bytes = base.clone();
        for _ in 0..(1 + next() % 3) {
            let at = (next() as usize) % bytes.len();
            let c = alphabet[(next() as usize) % alphabet.len()];
            match next() % 3 {
                0 => bytes[at] = c,
                1 => bytes.insert(at, c),
                _ => {
                    bytes.remove(at);
                }
            }
        }
        String::from_utf8(bytes).ok()
    })
}

/// Upper bound on nesting once aliases are expanded, against stack exhaustion.
const MAX_DEPTH: usize = 2_000;

/// go-yaml v2's guard against "billion laughs" documents: the share of decoded nodes that come
/// from alias expansion may not exceed a ratio that shrinks from 99% to 10% as documents grow.
#[derive(Default)]
struct Budget {
    decode_count: usize,
    alias_count: usize,
    alias_depth: usize,
    depth: usize,
}

impl Budget {
    fn count(&mut self, node: &Node) -> Result<(), YamlError> {
        self.decode_count += 1;
        if self.alias_depth > 0 {
            self.alias_count += 1;
        }
        let (low, high) = (400_000.0, 4_000_000.0);
        let decoded = self.decode_count as f64;
        let allowed = if decoded <= low {
            0.99
        } else if decoded >= high {
            0.10
        } else {
            0.99 - 0.89 * ((decoded - low) / (high - low))
        };
        if self.alias_count > 100
            && self.decode_count > 1000
            && self.alias_count as f64 / decoded > allowed
        {
            let (line, column) = position(node);
            return Err(YamlError::Decode {
                line,
                column,
                message: "document contains excessive aliasing".into(),
            });
        }
        Ok(())
    }

    /// Counts `node` and steps one level deeper, refusing documents nested past [`MAX_DEPTH`];
    /// the caller steps back out (`depth -= 1`) when done with the node.
    fn enter(&mut self, node: &Node) -> Result<(), YamlError> {
        self.count(node)?;
        if self.depth >= MAX_DEPTH {
            let (line, column) = position(node);
            return Err(YamlError::Decode {
                line,
                column,
                message: "document nesting too deep".into(),
            });
        }
        self.depth += 1;
        Ok(())
    }
}

/// Parses the first YAML document of `src` into a value with Helm's semantics: numbers are `Float`,
/// an empty document is `Nil`.
pub fn parse_yaml(src: &str) -> Result<Value, YamlError> {
    if let Some(value) = block_values::block_document(src) {
        return Ok(value);
    }
    if let Some(docs) = direct::simple_documents(src, true) {
        return Ok(docs.into_iter().next().flatten().unwrap_or(Value::Nil));
    }
    let docs = load_documents(src, true)?;
    let mut budget = Budget::default();
    match docs.into_iter().next().flatten() {
        None => Ok(Value::Nil),
        Some(n) => to_json_value(&n, &mut budget),
    }
}

/// Like [`parse_yaml`] with the same errors, but of a top-level mapping only the entries under
/// `keys` are decoded (the rest is checked and left out): for reading a manifest's head.
pub fn parse_yaml_head(src: &str, keys: &[&str]) -> Result<Value, YamlError> {
    if let Some(head) = block::plain_block_head(src, keys) {
        return Ok(head);
    }
    match head::simple_head(src, keys) {
        Some(head) => Ok(head),
        None => decode_head(src, keys),
    }
}

/// [`parse_yaml_head`] through the full node tree: every document shape, and the errors.
fn decode_head(src: &str, keys: &[&str]) -> Result<Value, YamlError> {
    let docs = load_documents(src, true)?;
    let mut budget = Budget::default();
    match docs.into_iter().next().flatten() {
        None => Ok(Value::Nil),
        Some(n) if matches!(*n, Node::Map(..)) => {
            // The accounting `to_json_value` does for the root before filling it.
            budget.enter(&n)?;
            let mut map = BTreeMap::new();
            fill_map(&n, &mut map, &mut budget, Some(keys))?;
            Ok(Value::map(map))
        }
        Some(n) => to_json_value(&n, &mut budget),
    }
}

/// Parses a values file as Helm 4's `LoadValues` does: every document must be a mapping (or
/// empty); later documents are merged over earlier ones with `MergeMaps`.
pub fn parse_values(src: &str) -> Result<Value, YamlError> {
    let decoded: Box<dyn Iterator<Item = Result<Value, YamlError>>> =
        match block_values::block_document(src) {
            Some(value) => Box::new(std::iter::once(Ok(value))),
            None => match direct::simple_documents(src, false) {
                Some(docs) => Box::new(docs.into_iter().flatten().map(Ok)),
                None => {
                    let mut budget = Budget::default();
                    let docs = load_documents(src, false)?;
                    Box::new(
                        docs.into_iter()
                            .flatten()
                            .map(move |n| to_json_value(&n, &mut budget)),
                    )
                }
            },
        };
    let mut merged = Value::empty_map();
    for v in decoded {
        match v? {
            Value::Nil => {}
            m @ Value::Map(_) => merged = crate::values::merge_maps(&merged, &m),
            other => {
                return Err(YamlError::NotAMap {
                    found: json_kind(&other).to_string(),
                });
            }
        }
    }
    Ok(merged)
}

/// Parses a YAML document whose top level must be a sequence (`fromYamlArray`).
pub fn parse_yaml_array(src: &str) -> Result<Value, YamlError> {
    match parse_yaml(src)? {
        Value::Nil => Ok(Value::list(Vec::new())),
        v @ Value::List(_) => Ok(v),
        other => Err(YamlError::NotAList {
            found: json_kind(&other).to_string(),
        }),
    }
}

/// The JSON type name Go's `encoding/json` uses in "cannot unmarshal X into …".
pub(crate) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Nil => "null",
        Value::Bool(_) => "bool",
        Value::Int(_) | Value::Int64(_) | Value::Uint(_) | Value::Float(_) => "number",
        Value::String(_) | Value::Binary(_) => "string",
        Value::List(_) => "array",
        Value::Map(_) | Value::Object(_) => "object",
    }
}

/// A YAML node as go-yaml v2 sees it after parsing, before decoding.
#[derive(Debug)]
enum Node<'a> {
    Scalar {
        /// Borrowed from the source unless escapes or folding changed it.
        text: std::borrow::Cow<'a, str>,
        /// Plain and untagged: subject to implicit resolution.
        plain: bool,
        tag: Option<String>,
        line: usize,
        col: usize,
    },
    Seq(Vec<Rc<Node<'a>>>),
    Map(Vec<(Rc<Node<'a>>, Rc<Node<'a>>)>, usize, usize),
    /// A `*name` reference to an anchored node.
    Alias(Rc<Node<'a>>),
}

impl<'a> Node<'a> {
    /// The node itself, or the node an alias refers to.
    fn target(&self) -> &Node<'a> {
        match self {
            Node::Alias(t) => t.target(),
            other => other,
        }
    }
}

/// Builds go-yaml's node tree from parser events, one document at a time.
#[derive(Default)]
struct TreeBuilder<'a> {
    anchors: BTreeMap<usize, Rc<Node<'a>>>,
    /// Open collections, innermost last.
    stack: Vec<Open<'a>>,
}

enum Open<'a> {
    /// Items and anchor id.
    Seq(Vec<Rc<Node<'a>>>, usize),
    /// Keys and values flattened, anchor id, position.
    Map(Vec<Rc<Node<'a>>>, usize, usize, usize),
}

impl<'a> TreeBuilder<'a> {
    /// Takes a node event; returns the node when it completes a top-level node.
    fn push(&mut self, event: Event<'a>, span: &Span) -> Result<Option<Rc<Node<'a>>>, YamlError> {
        let finished: (Rc<Node<'a>>, usize) = match event {
            Event::Alias(id) => match self.anchors.get(&id) {
                Some(n) => (Rc::new(Node::Alias(n.clone())), 0),
                None => {
                    return Err(YamlError::Syntax {
                        line: span.start.line(),
                        column: span.start.col() + 1,
                        message: "unknown anchor referenced".into(),
                        go_line: 0,
                    });
                }
            },
            Event::Scalar(text, style, anchor, tag) => {
                let tag = tag.map(|t| format!("{}{}", t.handle(), t.suffix()));
                let plain = matches!(style, ScalarStyle::Plain) && tag.is_none();
                (
                    Rc::new(Node::Scalar {
                        text,
                        plain,
                        tag,
                        line: span.start.line(),
                        col: span.start.col() + 1,
                    }),
                    anchor,
                )
            }
            Event::SequenceStart(_, anchor, _) => {
                self.stack.push(Open::Seq(Vec::new(), anchor));
                return Ok(None);
            }
            Event::MappingStart(_, anchor, _) => {
                self.stack.push(Open::Map(
                    Vec::new(),
                    anchor,
                    span.start.line(),
                    span.start.col() + 1,
                ));
                return Ok(None);
            }
            Event::SequenceEnd => match self.stack.pop() {
                Some(Open::Seq(items, anchor)) => (Rc::new(Node::Seq(items)), anchor),
                _ => return Err(internal(span)),
            },
            Event::MappingEnd => match self.stack.pop() {
                Some(Open::Map(flat, anchor, line, col)) => {
                    let mut pairs = Vec::with_capacity(flat.len() / 2);
                    let mut it = flat.into_iter();
                    while let (Some(k), Some(v)) = (it.next(), it.next()) {
                        pairs.push((k, v));
                    }
                    (Rc::new(Node::Map(pairs, line, col)), anchor)
                }
                _ => return Err(internal(span)),
            },
            _ => return Ok(None),
        };
        let (node, anchor) = finished;
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            Some(Open::Seq(items, _)) => items.push(node),
            Some(Open::Map(flat, ..)) => flat.push(node),
            None => return Ok(Some(node)),
        }
        Ok(None)
    }
}

/// Lines inside multi-line scalars and flow collections, where go-yaml tolerates tabs.
#[derive(Default)]
struct TabShelters {
    ranges: Vec<(usize, usize)>,
    flow_starts: Vec<Option<usize>>,
}

impl TabShelters {
    fn observe(&mut self, event: &Event, span: &Span) {
        match event {
            Event::SequenceStart(style, ..) | Event::MappingStart(style, ..) => self
                .flow_starts
                .push((*style == StructureStyle::Flow).then(|| span.start.line())),
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some(Some(start)) = self.flow_starts.pop()
                    && span.end.line() > start
                {
                    self.ranges.push((start + 1, span.end.line()));
                }
            }
            Event::Scalar(..) if span.end.line() > span.start.line() => {
                self.ranges.push((span.start.line() + 1, span.end.line()));
            }
            _ => {}
        }
    }

    fn check(&self, src: &str) -> Result<(), YamlError> {
        check_tab_indentation(src, &self.ranges)
    }
}

/// A parser over `src` that reports no comments. go-yaml's decode never sees them, and with
/// `serde-saphyr`'s `comments` feature on (kube turns it on) reporting them is the parser's
/// default and a sixth of its work on a commented values file.
pub(super) fn new_parser(src: &str) -> Parser<'_, StrInput<'_>> {
    let mut options = Options::default();
    options.set_emit_comments(false);
    Parser::new_from_str_with_options(src, options)
}

/// The documents of a stream (each `None` when empty); only the first when `first_only`.
fn load_documents(src: &str, first_only: bool) -> Result<Vec<Option<Rc<Node<'_>>>>, YamlError> {
    let mut docs = Vec::new();
    let mut parser = new_parser(src);
    let mut builder = TreeBuilder::default();
    let mut root: Option<Rc<Node>> = None;
    let mut in_document = false;
    let mut shelters = TabShelters::default();
    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|e| syntax_error(src, &e))?;
        shelters.observe(&event, &span);
        match event {
            Event::StreamStart => {}
            Event::StreamEnd => break,
            Event::DocumentStart(..) => {
                in_document = true;
                root = None;
                builder.anchors.clear();
            }
            Event::DocumentEnd => {
                docs.push(root.take());
                in_document = false;
                if first_only {
                    break;
                }
            }
            event => {
                if let Some(node) = builder
                    .push(event, &span)
                    .map_err(|e| name_unknown_anchor(src, e))?
                    && in_document
                {
                    root = Some(node);
                }
            }
        }
    }
    shelters.check(src)?;
    Ok(docs)
}

/// go-yaml names the anchor an alias refers to when it does not know it
/// (`unknown anchor 'y' referenced`): read the alias at the error's place.
fn name_unknown_anchor(src: &str, e: YamlError) -> YamlError {
    let YamlError::Syntax {
        line,
        column,
        message,
        go_line,
    } = e
    else {
        return e;
    };
    let name = src
        .lines()
        .nth(line.saturating_sub(1))
        .and_then(|l| {
            l.chars()
                .skip(column.saturating_sub(1))
                .collect::<String>()
                .strip_prefix('*')
                .map(str::to_string)
        })
        .map(|rest| {
            rest.chars()
                .take_while(|c| !c.is_whitespace() && !matches!(c, ',' | '[' | ']' | '{' | '}'))
                .collect::<String>()
        });
    let message = match name {
        Some(n) if message == "unknown anchor referenced" && !n.is_empty() => {
            format!("unknown anchor '{n}' referenced")
        }
        _ => message,
    };
    YamlError::Syntax {
        line,
        column,
        message,
        go_line,
    }
}

/// Whether a line holds only a plain scalar (`data`, `- c`): a would-be key without its `:`.
fn is_bare_scalar_line(text: &str) -> bool {
    let mut t = text.trim();
    while let Some(rest) = t.strip_prefix("- ") {
        t = rest.trim_start();
    }
    !t.is_empty()
        && !t.starts_with([
            '#', '-', '[', '{', '"', '\'', '&', '*', '!', '|', '>', '?', ':',
        ])
        && !t.contains(": ")
        && !t.contains(" #")
        && !t.ends_with(':')
}

/// The 1-based line of the first token after line `line` (1-based), or of the end of the
/// stream: where go-yaml's scanner notices that a key on `line` got no `:`.
fn next_token_line(src: &str, line: usize) -> usize {
    for (i, l) in src.lines().enumerate().skip(line) {
        let t = l.trim();
        if !t.is_empty() && !t.starts_with('#') {
            return i + 1;
        }
    }
    // At the end of the stream libyaml moves its mark to a fresh line first.
    src.matches('\n').count() + 1 + usize::from(!src.is_empty() && !src.ends_with('\n'))
}

/// A parser error as go-yaml words and places it.
fn syntax_error(src: &str, e: &serde_saphyr::granit_parser::ScanError) -> YamlError {
    use serde_saphyr::granit_parser::ErrorKind as K;
    let line = e.marker().line();
    let col = e.marker().col();
    let mut message = go_yaml_problem(e);
    // libyaml's own words for the shapes the parser underneath words differently.
    match e.kind() {
        K::UnclosedFlowCollection { open } => {
            message = if src.trim_end().ends_with(['[', '{', ',']) {
                "did not find expected node content".into()
            } else if *open == '{' {
                "did not find expected ',' or '}'".into()
            } else {
                "did not find expected ',' or ']'".into()
            };
        }
        // `[1, 2\nb: 3`: the entry runs on, and the ':' is where a ',' or ']' was due.
        K::InvalidColonPlacement => message = "did not find expected ',' or ']'".into(),
        // A decoding error in go-yaml: named, without a line.
        K::UnknownAnchor => {
            return name_unknown_anchor(
                src,
                YamlError::Syntax {
                    line,
                    column: col + 1,
                    message: "unknown anchor referenced".into(),
                    go_line: 0,
                },
            );
        }
        K::UnclosedQuotedScalar => {
            // go-yaml stops on the last line, before its line break.
            let last = src.lines().count();
            let go_line = if last > 1 { last } else { 0 };
            return YamlError::Syntax {
                line,
                column: col + 1,
                message,
                go_line,
            };
        }
        _ => {}
    }
    // A key alone on its line (`data` above `  a: b`): go-yaml's scanner finds the key stale at
    // the next token, a scanner error named with that token's line.
    if message == "mapping values are not allowed in this context"
        && src
            .lines()
            .nth(line.saturating_sub(1))
            .is_some_and(is_bare_scalar_line)
    {
        let at = next_token_line(src, line);
        return YamlError::Syntax {
            line,
            column: col + 1,
            message: "could not find expected ':'".into(),
            go_line: if at > 1 { at } else { 0 },
        };
    }
    // libyaml's "while parsing X" context is not part of go-yaml's message.
    if message.starts_with("while ")
        && let Some((_, problem)) = message.split_once(", ")
    {
        message = problem.to_string();
    }
    // go-yaml names scanner-error lines 1-based but parser-error lines 0-based, moves
    // the end-of-stream mark to a fresh line, and names no line for line zero.
    let at_end = e.marker().index() >= src.chars().count()
        || matches!(
            e.kind(),
            K::UnclosedFlowCollection { .. }
                | K::UnexpectedEof
                | K::UnexpectedEofFlowSequence
                | K::UnexpectedEofFlowMapping
                | K::UnexpectedEofImplicitFlowMapping
                | K::UnexpectedEofBlockSequence
                | K::UnexpectedEofBlockMapping
        );
    let go_line = if message.starts_with("did not find expected") {
        if at_end {
            // The end-of-stream mark sits on a fresh line after a non-empty last line.
            let newlines = src.matches('\n').count();
            newlines + usize::from(!src.is_empty() && !src.ends_with('\n'))
        } else {
            line.saturating_sub(1)
        }
    } else if line > 1 {
        line
    } else {
        0
    };
    YamlError::Syntax {
        line,
        column: col + 1,
        message,
        go_line,
    }
}

/// go-yaml refuses a tab where block indentation is expected (at the start of a line, or after a
/// `- ` entry indicator) outside multi-line scalars and flow collections; the parser underneath is
/// more lenient, so check the text the way Helm would fail.
fn check_tab_indentation(src: &str, sheltered: &[(usize, usize)]) -> Result<(), YamlError> {
    // Most documents have no tab at all: one fast scan instead of one per line.
    if !src.contains('\t') {
        return Ok(());
    }
    for (i, line) in src.lines().enumerate() {
        let line_no = i + 1;
        if !line.contains('\t') || sheltered.iter().any(|&(a, b)| (a..=b).contains(&line_no)) {
            continue;
        }
        let mut rest = line.trim_start_matches(' ');
        while let Some(r) = rest.strip_prefix("- ") {
            rest = r.trim_start_matches(' ');
        }
        if rest.starts_with('\t') {
            return Err(YamlError::Syntax {
                line: line_no,
                column: line.len() - rest.len() + 1,
                message: "found character that cannot start any token".into(),
                go_line: if line_no > 1 { line_no } else { 0 },
            });
        }
    }
    Ok(())
}

/// The problem text go-yaml (libyaml) gives for the same mistake, so messages read like Helm's;
/// anything without a counterpart keeps the parser's own description.
fn go_yaml_problem(e: &serde_saphyr::granit_parser::ScanError) -> String {
    use serde_saphyr::granit_parser::ErrorKind as K;
    let text = match e.kind() {
        // Seen in flow mappings (`{"a" 1}`), the common case in JSON-looking input.
        K::InvalidTrailingDoubleQuotedScalar | K::InvalidTrailingSingleQuotedScalar => {
            "did not find expected ',' or '}'"
        }
        K::UnclosedFlowCollection { .. }
        | K::UnexpectedEofFlowSequence
        | K::ExpectedFlowSequenceSeparator => "did not find expected ',' or ']'",
        K::UnexpectedEofFlowMapping
        | K::UnexpectedEofImplicitFlowMapping
        | K::ExpectedFlowMappingSeparator => "did not find expected ',' or '}'",
        K::InvalidSimpleKey | K::SimpleKeyExpected => {
            "mapping values are not allowed in this context"
        }
        K::TabInIndentation
        | K::TabNotAllowed
        | K::TabInBlockIndentation
        | K::UnexpectedCharacter { .. } => "found character that cannot start any token",
        K::UnclosedQuotedScalar | K::UnexpectedEof => "found unexpected end of stream",
        K::ExpectedBlockMappingKey | K::UnexpectedEofBlockMapping => "did not find expected key",
        K::ExpectedBlockSequenceEntry | K::UnexpectedEofBlockSequence => {
            "did not find expected '-' indicator"
        }
        K::ExpectedNodeContent => "did not find expected node content",
        K::UnknownAnchor => "unknown anchor referenced",
        _ => return e.info(),
    };
    text.to_string()
}

fn internal(span: &Span) -> YamlError {
    YamlError::Syntax {
        line: span.start.line(),
        column: span.start.col() + 1,
        message: "unbalanced collection events".into(),
        go_line: 0,
    }
}

/// A decoded scalar before the JSON round trip.
fn decode_scalar(text: &str, plain: bool, tag: Option<&str>) -> Result<Value, String> {
    const CORE: &str = "tag:yaml.org,2002:";
    let resolved = match tag {
        None if plain => resolve_plain(text),
        None => Resolved::Str,
        Some(t) => match t.strip_prefix(CORE) {
            Some("str") => Resolved::Str,
            Some("binary") => return decode_binary(text),
            Some(kind @ ("int" | "float" | "bool" | "null" | "timestamp")) => {
                let r = resolve_plain(text);
                let ok = matches!(
                    (kind, &r),
                    ("int", Resolved::Int(_) | Resolved::Uint(_))
                        | ("float", Resolved::Float(_))
                        | ("bool", Resolved::Bool(_))
                        | ("null", Resolved::Null)
                        | ("timestamp", Resolved::Timestamp)
                );
                match (&r, kind) {
                    _ if ok => r,
                    (Resolved::Int(i), "float") => Resolved::Float(*i as f64),
                    (Resolved::Uint(u), "float") => Resolved::Float(*u as f64),
                    _ => {
                        return Err(format!(
                            "cannot decode {} `{}` as a !!{}",
                            short_tag(&r),
                            text,
                            kind
                        ));
                    }
                }
            }
            // Tags go-yaml cannot resolve keep the text.
            _ => Resolved::Str,
        },
    };
    Ok(match resolved {
        Resolved::Null => Value::Nil,
        Resolved::Bool(b) => Value::Bool(b),
        Resolved::Int(i) => Value::Int(i),
        Resolved::Uint(u) => Value::Uint(u),
        Resolved::Float(f) => Value::Float(f),
        Resolved::Timestamp | Resolved::Str => Value::str(text),
    })
}

fn short_tag(r: &Resolved) -> &'static str {
    match r {
        Resolved::Null => "!!null",
        Resolved::Bool(_) => "!!bool",
        Resolved::Int(_) | Resolved::Uint(_) => "!!int",
        Resolved::Float(_) => "!!float",
        Resolved::Timestamp => "!!timestamp",
        Resolved::Str => "!!str",
    }
}

fn decode_binary(text: &str) -> Result<Value, String> {
    let clean: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for &c in &clean {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            _ => return Err("!!binary value contains invalid base64 data".to_string()),
        };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Ok(Value::str(String::from_utf8_lossy(&out).into_owned()))
}

/// Decodes a node (go-yaml v2 into `interface{}`) and applies the JSON round trip of
/// `sigs.k8s.io/yaml` in one pass: keys become strings, numbers `Float`.
fn to_json_value(node: &Node, budget: &mut Budget) -> Result<Value, YamlError> {
    budget.enter(node)?;
    let result = node_value(node, budget);
    budget.depth -= 1;
    result
}

fn node_value(node: &Node, budget: &mut Budget) -> Result<Value, YamlError> {
    match node {
        Node::Alias(target) => {
            budget.alias_depth += 1;
            let v = to_json_value(target, budget);
            budget.alias_depth -= 1;
            v
        }
        Node::Scalar {
            text,
            plain,
            tag,
            line,
            col,
        } => {
            let v = decode_scalar(text, *plain, tag.as_deref()).map_err(|message| {
                YamlError::Decode {
                    line: *line,
                    column: *col,
                    message,
                }
            })?;
            json_number(v).map_err(|message| YamlError::Json { message })
        }
        Node::Seq(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                out.push(to_json_value(item, budget)?);
            }
            Ok(Value::list(out))
        }
        Node::Map(..) => {
            let mut map = BTreeMap::new();
            fill_map(node, &mut map, budget, None)?;
            Ok(Value::map(map))
        }
    }
}

/// Walks a node exactly as [`to_json_value`] does (same budget accounting, same errors in the same
/// order) without building the value.
fn check_value(node: &Node, budget: &mut Budget) -> Result<(), YamlError> {
    budget.enter(node)?;
    let result = check_node(node, budget);
    budget.depth -= 1;
    result
}

fn check_node(node: &Node, budget: &mut Budget) -> Result<(), YamlError> {
    match node {
        Node::Alias(target) => {
            budget.alias_depth += 1;
            let r = check_value(target, budget);
            budget.alias_depth -= 1;
            r
        }
        // Quoted and block scalars without a tag are strings: nothing can fail.
        Node::Scalar {
            plain: false,
            tag: None,
            ..
        } => Ok(()),
        // Untagged plain scalars fail only as non-finite floats (JSON cannot hold them).
        Node::Scalar {
            text,
            plain: true,
            tag: None,
            ..
        } => match resolve_plain(text) {
            Resolved::Float(f) if !f.is_finite() => node_value(node, budget).map(drop),
            _ => Ok(()),
        },
        Node::Scalar { .. } => node_value(node, budget).map(drop),
        Node::Seq(items) => items.iter().try_for_each(|item| check_value(item, budget)),
        Node::Map(..) => fill_map(node, &mut BTreeMap::new(), budget, Some(&[])),
    }
}

/// Numbers through JSON become float64; NaN and infinities cannot be encoded.
fn json_number(v: Value) -> Result<Value, String> {
    Ok(match v {
        Value::Int(i) => Value::Float(i as f64),
        Value::Uint(u) => Value::Float(u as f64),
        Value::Float(f) if !f.is_finite() => {
            return Err(format!(
                "json: unsupported value: {}",
                format_float_g(f, false)
            ));
        }
        other => other,
    })
}

/// go-yaml v2's `mapping`/`merge`: entries are applied in order, a merge key (`<<`) writes the
/// merged mapping's entries into the same map (later entries overwrite earlier ones).
///
/// With `only`, just the entries under those keys are decoded into `map`; the others are checked
/// ([`check_value`]) so that the same errors surface without building values nobody reads.
fn fill_map(
    node: &Node,
    map: &mut BTreeMap<String, Value>,
    budget: &mut Budget,
    only: Option<&[&str]>,
) -> Result<(), YamlError> {
    let Node::Map(pairs, ..) = node.target() else {
        return Ok(());
    };
    for (k, v) in pairs {
        if is_merge_key(k) {
            merge_into(v, map, budget, only)?;
            continue;
        }
        let key = key_string(k)?;
        if let (Some(names), Some(name)) = (only, &key)
            && !names.contains(&name.as_str())
        {
            check_value(v, budget)?;
            continue;
        }
        let value = to_json_value(v, budget)?;
        let Some(key) = key else {
            return Err(YamlError::Json {
                message: format!(
                    "unsupported map key of type: %!s(<nil>), key: <nil>, value: {}",
                    signet_gotemplate::fmt::sprint(&value)
                ),
            });
        };
        map.insert(key, value);
    }
    Ok(())
}

fn merge_into(
    value: &Node,
    map: &mut BTreeMap<String, Value>,
    budget: &mut Budget,
    only: Option<&[&str]>,
) -> Result<(), YamlError> {
    match value {
        Node::Alias(target) => {
            if !matches!(target.target(), Node::Map(..)) {
                return Err(want_map(value));
            }
            budget.alias_depth += 1;
            let r = fill_map(target, map, budget, only);
            budget.alias_depth -= 1;
            r
        }
        Node::Map(..) => fill_map(value, map, budget, only),
        Node::Seq(items) => {
            // Earlier mappings take precedence, so apply them last.
            for item in items.iter().rev() {
                if !matches!(item.target(), Node::Map(..)) {
                    return Err(want_map(item));
                }
                merge_into(item, map, budget, only)?;
            }
            Ok(())
        }
        Node::Scalar { .. } => Err(want_map(value)),
    }
}

fn want_map(node: &Node) -> YamlError {
    let (line, column) = position(node);
    YamlError::Decode {
        line,
        column,
        message: "map merge requires map or sequence of maps as the value".into(),
    }
}

fn position(node: &Node) -> (usize, usize) {
    match node {
        Node::Scalar { line, col, .. } => (*line, *col),
        Node::Map(_, line, col) => (*line, *col),
        Node::Seq(items) => items.first().map(|n| position(n)).unwrap_or((0, 0)),
        Node::Alias(target) => position(target),
    }
}

fn is_merge_key(node: &Node) -> bool {
    match node.target() {
        Node::Scalar {
            text, plain, tag, ..
        } => text == "<<" && (*plain || tag.as_deref() == Some("tag:yaml.org,2002:merge")),
        _ => false,
    }
}

/// `sigs.k8s.io/yaml`'s key conversion: strings as they are, integers in decimal, floats as go-yaml
/// formats them (`'g'` at 32-bit precision), booleans `true`/`false`; anything else is an error.
fn key_string(node: &Node) -> Result<Option<String>, YamlError> {
    let Node::Scalar {
        text,
        plain,
        tag,
        line,
        col,
    } = node.target()
    else {
        let (line, column) = position(node);
        return Err(YamlError::Decode {
            line,
            column,
            message: "invalid map key: a key must be a scalar".into(),
        });
    };
    let v = decode_scalar(text, *plain, tag.as_deref()).map_err(|message| YamlError::Decode {
        line: *line,
        column: *col,
        message,
    })?;
    Ok(Some(match v {
        Value::String(s) => s.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Uint(u) => u.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Float(f) => match format_float_g(f as f32 as f64, true).as_str() {
            "+Inf" => ".inf".into(),
            "-Inf" => "-.inf".into(),
            "NaN" => ".nan".into(),
            s => s.to_string(),
        },
        _ => return Ok(None),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(v: &Value, path: &[&str]) -> Value {
        let mut cur = v.clone();
        for p in path {
            cur = match cur {
                Value::Map(m) => m.borrow().get(*p).cloned().unwrap_or(Value::Nil),
                _ => Value::Nil,
            };
        }
        cur
    }

    #[test]
    fn helm_scalars() {
        let v = parse_values(
            "a: 1000000\nb: yes\nc: 0777\nd: '1'\ne: ~\nf: 1.5\ng: off\nh: 2001-12-14\n",
        )
        .unwrap();
        assert!(matches!(get(&v, &["a"]), Value::Float(f) if f == 1e6));
        assert!(matches!(get(&v, &["b"]), Value::Bool(true)));
        assert!(matches!(get(&v, &["c"]), Value::Float(f) if f == 511.0));
        assert_eq!(get(&v, &["d"]).as_str(), Some("1"));
        assert!(get(&v, &["e"]).is_nil());
        assert!(matches!(get(&v, &["g"]), Value::Bool(false)));
        assert_eq!(get(&v, &["h"]).as_str(), Some("2001-12-14"));
    }

    #[test]
    fn merge_keys_and_anchors() {
        let v = parse_values(
            "base: &b {x: 1, w: 2}\nother: &o {w: 9, z: 3}\nm:\n  <<: [*b, *o]\n  x: 7\n",
        )
        .unwrap();
        assert!(matches!(get(&v, &["m", "x"]), Value::Float(f) if f == 7.0));
        assert!(matches!(get(&v, &["m", "w"]), Value::Float(f) if f == 2.0));
        assert!(matches!(get(&v, &["m", "z"]), Value::Float(f) if f == 3.0));
    }

    #[test]
    fn non_string_keys() {
        // `y` is a YAML 1.1 boolean, so it names the key "true" too (helm agrees).
        let v = parse_values("1: a\ntrue: b\n0.1: c\nyes: d\n").unwrap();
        assert_eq!(get(&v, &["1"]).as_str(), Some("a"));
        assert_eq!(get(&v, &["true"]).as_str(), Some("d"));
        assert_eq!(get(&v, &["0.1"]).as_str(), Some("c"));
    }

    #[test]
    fn error_texts_like_go_yaml() {
        // (input, go-yaml's problem text as helm prints it)
        let cases = [
            ("a: [1", "did not find expected ',' or ']'"),
            ("a: b: c", "mapping values are not allowed in this context"),
            ("a: 'x", "found unexpected end of stream"),
            ("\ta: 1", "found character that cannot start any token"),
            ("a:\n\t- b", "found character that cannot start any token"),
            ("- \ta", "found character that cannot start any token"),
            ("a:\n  b: 1\n c: 2", "did not find expected key"),
            ("key: \"unterminated", "found unexpected end of stream"),
        ];
        let mut wrong = Vec::new();
        for (src, want) in cases {
            let got = parse_yaml(src).unwrap_err().to_string();
            if !got.ends_with(want) {
                wrong.push(format!("{src:?}: {got}"));
            }
        }
        assert!(wrong.is_empty(), "{wrong:#?}");
    }

    #[test]
    fn tabs_go_yaml_accepts() {
        for src in [
            "a:\tb",
            "a: [1,\t2]",
            "a: b\t",
            "a: 'x\ty'",
            "a:\n  b: 1\t# c",
            "a: \"x\n\ty\"",
        ] {
            assert!(parse_yaml(src).is_ok(), "{src:?}");
        }
    }

    #[test]
    fn hostile_documents_are_errors() {
        // Nested aliases: each level doubles the size.
        let mut src = String::from("a0: &a0 [x, x]\n");
        for i in 1..40 {
            src.push_str(&format!("a{i}: &a{i} [*a{}, *a{}]\n", i - 1, i - 1));
        }
        assert!(
            parse_values(&src)
                .unwrap_err()
                .to_string()
                .contains("aliasing")
        );
        assert!(parse_yaml(&"[".repeat(100_000)).is_err());
    }

    #[test]
    fn head_reads_kept_keys_and_fails_like_a_full_parse() {
        let v = parse_yaml_head(
            "base: &b {kind: Secret, x: 1}\n<<: *b\nmetadata: {annotations: {a: b}}\nspec: [1, 2]\n",
            &["kind", "metadata"],
        )
        .unwrap();
        assert_eq!(get(&v, &["kind"]).as_str(), Some("Secret"));
        assert_eq!(
            get(&v, &["metadata", "annotations", "a"]).as_str(),
            Some("b")
        );
        assert!(get(&v, &["spec"]).is_nil());
        assert!(get(&v, &["base"]).is_nil());
        for src in [
            "kind: A\nspec: {x: !!int abc}\n",
            "kind: A\nspec: [{<<: 1}]\n",
            "kind: A\nspec: {~: [1]}\n",
            "kind: A\nspec: {x: .nan}\n",
            "kind: A\nspec: [[x], {[a]: b}]\n",
        ] {
            let full = parse_yaml(src).unwrap_err().to_string();
            let head = parse_yaml_head(src, &["kind"]).unwrap_err().to_string();
            assert_eq!(head, full, "{src:?}");
        }
        let mut src = String::from("kind: A\na0: &a0 [x, x]\n");
        for i in 1..40 {
            src.push_str(&format!("a{i}: &a{i} [*a{}, *a{}]\n", i - 1, i - 1));
        }
        assert_eq!(
            parse_yaml_head(&src, &["kind"]).unwrap_err().to_string(),
            parse_yaml(&src).unwrap_err().to_string()
        );
    }

    #[test]
    fn errors_have_positions() {
        let e = parse_values("a: b\n c: d\n  - x\n").unwrap_err();
        assert!(e.to_string().contains("line"), "{e}");
        let e = parse_values("- a\n").unwrap_err();
        assert!(e.to_string().contains("array"), "{e}");
    }
}
