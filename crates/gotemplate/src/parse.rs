//! The template parser: Go's `text/template/parse` — items from [`crate::lex`] become trees of
//! [`Node`]s, one [`Tree`] per template (the main one and each `define`/`block`).
//!
//! Nodes print themselves like Go's `Node.String()`, which execution errors quote
//! (`at <.Values.x>`) and the corpus parse cases compare. Parse errors are worded like Go's:
//! `template: NAME:LINE: message`.

use std::fmt::{self, Write as _};
use std::ops::Deref;
use std::sync::Arc;

use crate::lex::{Item, ItemType, Lexer};
use crate::literal::{Number, NumberKind, parse_number, unquote};

/// The text one `Parse` call saw, shared by all trees it produced (for error positions).
#[derive(Debug)]
pub struct Source {
    /// Go's `ParseName`: the name of the top-level template of the parse.
    pub parse_name: String,
    pub text: Arc<str>,
}

/// A piece of a parsed template's text (a text node, a field name), shared with the source
/// instead of copied: parsing a chart makes thousands of them. Trees share through `Arc`, so a
/// file can be parsed on another thread than the one that executes it.
#[derive(Clone)]
pub struct SrcStr {
    src: Arc<str>,
    /// Offsets into `src` (32 bits keep tree nodes small; a template is far below 4 GiB, and
    /// a larger one reads as empty text rather than as the wrong text).
    start: u32,
    end: u32,
}

impl SrcStr {
    /// `src[start..end]`; the range must lie on character boundaries of `src`.
    fn new(src: &Arc<str>, start: usize, end: usize) -> SrcStr {
        debug_assert!(src.get(start..end).is_some());
        let (start, end) = match (u32::try_from(start), u32::try_from(end)) {
            (Ok(start), Ok(end)) => (start, end),
            _ => (0, 0),
        };
        SrcStr {
            src: src.clone(),
            start,
            end,
        }
    }

    /// This text extended up to byte `end` of the source.
    fn extend_to(&self, end: usize) -> SrcStr {
        SrcStr::new(&self.src, self.start as usize, end.max(self.end as usize))
    }
}

impl Deref for SrcStr {
    type Target = str;
    fn deref(&self) -> &str {
        self.src
            .get(self.start as usize..self.end as usize)
            .unwrap_or_default()
    }
}

impl fmt::Debug for SrcStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl fmt::Display for SrcStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self)
    }
}

impl Source {
    /// Go's `ErrorContext` location: `NAME:LINE:COL` with a 0-based byte column.
    pub fn location(&self, pos: usize) -> String {
        let pos = pos.min(self.text.len());
        let before = &self.text.as_bytes()[..pos];
        let line = 1 + before.iter().filter(|b| **b == b'\n').count();
        let col = match before.iter().rposition(|b| *b == b'\n') {
            Some(nl) => pos - (nl + 1),
            None => pos,
        };
        format!("{}:{}:{}", self.parse_name, line, col)
    }
}

/// One named template.
#[derive(Debug)]
pub struct Tree {
    pub name: Arc<str>,
    pub source: Arc<Source>,
    /// Shared, so that a file parsed once can be added under another name (a library chart
    /// vendored by several subcharts).
    pub root: Arc<[Node]>,
}

impl Tree {
    /// Go's `IsEmptyTree`: only whitespace text (and comments).
    pub fn is_empty(&self) -> bool {
        is_empty_list(&self.root)
    }
}

fn is_empty_list(nodes: &[Node]) -> bool {
    nodes.iter().all(|n| match n {
        Node::Text { text, .. } => text.trim().is_empty(),
        _ => false,
    })
}

#[derive(Debug)]
pub enum Node {
    Text {
        pos: usize,
        text: SrcStr,
    },
    Action {
        pos: usize,
        pipe: Pipe,
    },
    // Boxed, as is a template call's pipeline, so that text and action nodes (most of a tree)
    // are not sized for them: a node is 72 bytes instead of 128.
    If(Box<Branch>),
    Range(Box<Branch>),
    With(Box<Branch>),
    Template {
        pos: usize,
        name: String,
        pipe: Option<Box<Pipe>>,
    },
    Break {
        pos: usize,
    },
    Continue {
        pos: usize,
    },
}

#[derive(Debug)]
pub struct Branch {
    pub pos: usize,
    pub pipe: Pipe,
    pub list: Box<[Node]>,
    pub else_list: Option<Box<[Node]>>,
}

#[derive(Debug)]
pub struct Pipe {
    pub pos: usize,
    pub is_assign: bool,
    pub decl: Box<[Arc<str>]>,
    pub cmds: Box<[Command]>,
}

#[derive(Debug)]
pub struct Command {
    pub pos: usize,
    pub args: Box<[Arg]>,
}

#[derive(Debug)]
pub enum Arg {
    /// `.a.b.c`: `path` is that text (each name after a `.`).
    Field {
        pos: usize,
        path: SrcStr,
    },
    /// `(pipe).a.b`, `func.a`: `fields` is the `.a.b` text.
    Chain {
        pos: usize,
        node: Box<Arg>,
        fields: SrcStr,
    },
    Identifier {
        pos: usize,
        name: SrcStr,
    },
    /// `$x.a.b`: `path` is that text (the variable, then each field name after a `.`).
    Variable {
        pos: usize,
        path: SrcStr,
    },
    Dot {
        pos: usize,
    },
    Nil {
        pos: usize,
    },
    Bool {
        pos: usize,
        value: bool,
    },
    Number {
        pos: usize,
        number: Box<Number>,
    },
    /// Boxed: inline, it would make every argument 80 bytes instead of 56.
    String {
        pos: usize,
        literal: Box<StringLiteral>,
    },
    Pipe(Box<Pipe>),
}

#[derive(Debug)]
pub struct StringLiteral {
    pub quoted: SrcStr,
    pub text: Arc<str>,
    /// The literal's bytes when they are not UTF-8 (`"\xff"`); `text` then reads them as
    /// U+FFFD.
    pub bytes: Option<Arc<[u8]>>,
}

impl Arg {
    pub fn pos(&self) -> usize {
        match self {
            Arg::Field { pos, .. }
            | Arg::Chain { pos, .. }
            | Arg::Identifier { pos, .. }
            | Arg::Variable { pos, .. }
            | Arg::Dot { pos }
            | Arg::Nil { pos }
            | Arg::Bool { pos, .. }
            | Arg::Number { pos, .. }
            | Arg::String { pos, .. } => *pos,
            Arg::Pipe(p) => p.pos,
        }
    }
}

impl Node {
    pub fn pos(&self) -> usize {
        match self {
            Node::Text { pos, .. }
            | Node::Action { pos, .. }
            | Node::Template { pos, .. }
            | Node::Break { pos }
            | Node::Continue { pos } => *pos,
            Node::If(b) | Node::Range(b) | Node::With(b) => b.pos,
        }
    }
}

// ---- Printing (Go's Node.String) ----

impl fmt::Display for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Arg::Field { path, .. } => f.write_str(path),
            Arg::Chain { node, fields, .. } => {
                if let Arg::Pipe(p) = node.as_ref() {
                    write!(f, "({p})")?;
                } else {
                    write!(f, "{node}")?;
                }
                f.write_str(fields)
            }
            Arg::Identifier { name, .. } => f.write_str(name),
            Arg::Variable { path, .. } => f.write_str(path),
            Arg::Dot { .. } => f.write_str("."),
            Arg::Nil { .. } => f.write_str("nil"),
            Arg::Bool { value, .. } => write!(f, "{value}"),
            Arg::Number { number, .. } => f.write_str(&number.text),
            Arg::String { literal, .. } => f.write_str(&literal.quoted),
            Arg::Pipe(p) => write!(f, "{p}"),
        }
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, arg) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_char(' ')?;
            }
            if let Arg::Pipe(p) = arg {
                write!(f, "({p})")?;
            } else {
                write!(f, "{arg}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for Pipe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.decl.is_empty() {
            f.write_str(&self.decl.join(", "))?;
            f.write_str(if self.is_assign { " = " } else { " := " })?;
        }
        for (i, c) in self.cmds.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&node_string(self, false))
    }
}

/// Go's `String()` of a node list; `quote_text` prints text nodes with `%q` as Go's parse tests do.
pub fn list_string(nodes: &[Node], quote_text: bool) -> String {
    nodes.iter().map(|n| node_string(n, quote_text)).collect()
}

fn node_string(node: &Node, q: bool) -> String {
    match node {
        Node::Text { text, .. } => {
            if q {
                crate::fmt::quote(text)
            } else {
                text.to_string()
            }
        }
        Node::Action { pipe, .. } => format!("{{{{{pipe}}}}}"),
        Node::If(b) => branch_string("if", b, q),
        Node::Range(b) => branch_string("range", b, q),
        Node::With(b) => branch_string("with", b, q),
        Node::Template { name, pipe, .. } => match pipe {
            Some(p) => format!("{{{{template {} {p}}}}}", crate::fmt::quote(name)),
            None => format!("{{{{template {}}}}}", crate::fmt::quote(name)),
        },
        Node::Break { .. } => "{{break}}".into(),
        Node::Continue { .. } => "{{continue}}".into(),
    }
}

fn branch_string(kw: &str, b: &Branch, q: bool) -> String {
    let mut s = format!("{{{{{kw} {}}}}}{}", b.pipe, list_string(&b.list, q));
    if let Some(e) = &b.else_list {
        s.push_str("{{else}}");
        s.push_str(&list_string(e, q));
    }
    s.push_str("{{end}}");
    s
}

// ---- Parsing ----

/// Parse options shared by a template set.
pub struct ParseConfig<'a> {
    pub left_delim: &'a str,
    pub right_delim: &'a str,
    /// Whether a function name is defined (Go checks identifiers at parse time).
    pub has_func: &'a dyn Fn(&str) -> bool,
}

/// Nesting bound for parenthesised pipelines and control structures (Go: 10000); keeps hostile
/// input from exhausting the stack.
const MAX_PARSE_DEPTH: usize = 1000;

/// Parse `text` as template `name`. Returns the trees in definition order: the main tree (named
/// `name`) last, as Go adds it after its definitions. Duplicate non-empty definitions inside one
/// parse are an error, as in Go.
pub fn parse(name: &str, text: &str, cfg: &ParseConfig<'_>) -> Result<Vec<Tree>, String> {
    let source = Arc::new(Source {
        parse_name: name.to_string(),
        text: text.into(),
    });
    let mut p = Parser {
        lexer: Lexer::new(text, cfg.left_delim, cfg.right_delim),
        idx: 0,
        furthest: 0,
        furthest_line: 1,
        text: source.text.clone(),
        source: source.clone(),
        vars: vec!["$"],
        range_depth: 0,
        action_line: 0,
        depth: 0,
        has_func: cfg.has_func,
        trees: Vec::new(),
        nodes: Vec::new(),
        cmds: Vec::new(),
        args: Vec::new(),
    };
    let root = p.parse_top()?;
    p.add_tree(Tree {
        name: name.into(),
        source,
        root,
    })?;
    Ok(p.trees)
}

/// Control results of `textOrAction` that end a list.
enum Parsed {
    Node(Node),
    End,
    Else,
}

/// How many items before the next one the parser keeps: it backs up at most four.
const WINDOW: usize = 8;

struct Parser<'a> {
    lexer: Lexer<'a>,
    /// The index in the template of the next item to hand out.
    idx: usize,
    /// The furthest item handed out, and its line (where errors are reported, as in Go).
    furthest: usize,
    furthest_line: u32,
    source: Arc<Source>,
    /// `source.text`, which the nodes' [`SrcStr`]s share.
    text: Arc<str>,
    vars: Vec<&'a str>,
    range_depth: usize,
    action_line: u32,
    depth: usize,
    has_func: &'a dyn Fn(&str) -> bool,
    trees: Vec<Tree>,
    /// Stacks the node lists, pipelines and commands being parsed grow on; each is moved into
    /// a slice of its exact size when complete. Growing each vector by doubling left twice
    /// the memory a tree needs, and parsing is where a render touches most of its new pages.
    nodes: Vec<Node>,
    cmds: Vec<Command>,
    args: Vec<Arg>,
}

/// The items of `stack` from `mark` on, in a slice of their own (boxed, or shared for a tree's
/// root), allocated once at its length.
fn take_from<T, C: FromIterator<T>>(stack: &mut Vec<T>, mark: usize) -> C {
    stack.drain(mark..).collect()
}

type PResult<T> = Result<T, String>;

impl<'a> Parser<'a> {
    fn errorf(&self, msg: impl fmt::Display) -> String {
        let line = self.furthest_line;
        format!("template: {}:{}: {}", self.source.parse_name, line, msg)
    }

    #[inline]
    fn next(&mut self) -> Item<'a> {
        let mut at = self.idx - self.lexer.base();
        if at >= self.lexer.items().len() {
            at = self.lex_more();
        }
        let it = self.lexer.items()[at];
        let i = self.lexer.base() + at;
        if i >= self.furthest {
            self.furthest = i;
            self.furthest_line = it.line;
        }
        self.idx = i + 1;
        it
    }

    /// Where the next item is in `lexer.items()` once more were lexed: past the last item
    /// (`Eof` or `Error`), that item again, as Go's parser keeps reading it.
    #[cold]
    #[inline(never)]
    fn lex_more(&mut self) -> usize {
        if !self.lexer.is_done() {
            self.lexer.refill(self.idx.saturating_sub(WINDOW));
        }
        (self.idx - self.lexer.base()).min(self.lexer.items().len().saturating_sub(1))
    }

    /// The source text of a non-error item from byte `skip` of its text on.
    fn item_text(&self, it: &Item<'_>, skip: usize) -> SrcStr {
        let start = (it.pos + skip).min(it.pos + it.val.len());
        SrcStr::new(&self.text, start, it.pos + it.val.len())
    }

    fn backup(&mut self) {
        self.idx = self.idx.saturating_sub(1);
        debug_assert!(
            self.idx >= self.lexer.base(),
            "backed up past the kept items"
        );
    }

    fn peek(&mut self) -> Item<'a> {
        let it = self.next();
        self.backup();
        it
    }

    fn expect(&mut self, typ: ItemType, context: &str) -> PResult<Item<'a>> {
        let it = self.next();
        if it.typ != typ {
            return Err(self.unexpected(&it, context));
        }
        Ok(it)
    }

    fn unexpected(&self, it: &Item<'_>, context: &str) -> String {
        if it.typ == ItemType::Error {
            let mut extra = String::new();
            if self.action_line != 0 && self.action_line != it.line {
                extra = format!(
                    " in action started at {}:{}",
                    self.source.parse_name, self.action_line
                );
                if self.lexer.error().ends_with(" action") {
                    extra = extra[" in action".len()..].to_string();
                }
            }
            return self.errorf(format!("{}{}", self.lexer.error(), extra));
        }
        self.errorf(format!("unexpected {it} in {context}"))
    }

    fn add_tree(&mut self, tree: Tree) -> PResult<()> {
        if let Some(i) = self.trees.iter().position(|t| t.name == tree.name) {
            if self.trees[i].is_empty() {
                self.trees[i] = tree;
                return Ok(());
            }
            if !tree.is_empty() {
                return Err(self.errorf(format!(
                    "template: multiple definition of template {}",
                    crate::fmt::quote(&tree.name)
                )));
            }
            return Ok(());
        }
        self.trees.push(tree);
        Ok(())
    }

    fn parse_top(&mut self) -> PResult<Arc<[Node]>> {
        let mark = self.nodes.len();
        let r = self.parse_top_onto_stack();
        let root = take_from(&mut self.nodes, mark);
        r.map(|()| root)
    }

    fn parse_top_onto_stack(&mut self) -> PResult<()> {
        while self.peek().typ != ItemType::Eof {
            if self.peek().typ == ItemType::LeftDelim {
                let save = self.idx;
                self.next();
                if self.next().typ == ItemType::Define {
                    self.parse_definition()?;
                    continue;
                }
                self.idx = save;
            }
            match self.text_or_action()? {
                Parsed::Node(n) => self.nodes.push(n),
                Parsed::End => return Err(self.errorf("unexpected {{end}}")),
                Parsed::Else => return Err(self.errorf("unexpected {{else}}")),
            }
        }
        Ok(())
    }

    fn parse_definition(&mut self) -> PResult<()> {
        let context = "define clause";
        let it = self.next();
        if it.typ != ItemType::String && it.typ != ItemType::RawString {
            return Err(self.unexpected(&it, context));
        }
        let name = unquote(it.val).map_err(|e| self.errorf(e))?;
        self.expect(ItemType::RightDelim, context)?;
        let saved_vars = std::mem::replace(&mut self.vars, vec!["$"]);
        let (root, end) = self.item_list()?;
        self.vars = saved_vars;
        if !matches!(end, Parsed::End) {
            return Err(self.errorf(format!("unexpected {{{{else}}}} in {context}")));
        }
        self.add_tree(Tree {
            name: name.into(),
            source: self.source.clone(),
            root,
        })
    }

    fn item_list<C: FromIterator<Node>>(&mut self) -> PResult<(C, Parsed)> {
        let mark = self.nodes.len();
        let r = self.item_list_onto_stack();
        let list = take_from(&mut self.nodes, mark);
        r.map(|end| (list, end))
    }

    /// Parses a list's nodes onto `self.nodes`; returns how the list ended.
    fn item_list_onto_stack(&mut self) -> PResult<Parsed> {
        while self.peek().typ != ItemType::Eof {
            match self.text_or_action()? {
                Parsed::Node(n) => self.nodes.push(n),
                other => return Ok(other),
            }
        }
        Err(self.errorf("unexpected EOF"))
    }

    fn text_or_action(&mut self) -> PResult<Parsed> {
        let it = self.next();
        match it.typ {
            ItemType::Text => Ok(Parsed::Node(Node::Text {
                pos: it.pos,
                text: self.item_text(&it, 0),
            })),
            ItemType::LeftDelim => {
                self.action_line = it.line;
                let r = self.action();
                self.action_line = 0;
                r
            }
            _ => Err(self.unexpected(&it, "input")),
        }
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_PARSE_DEPTH {
            return Err(self.errorf(format!("max depth of {MAX_PARSE_DEPTH} exceeded")));
        }
        Ok(())
    }

    fn action(&mut self) -> PResult<Parsed> {
        self.enter()?;
        let r = stacker::maybe_grow(64 * 1024, 1024 * 1024, || self.action_inner());
        self.depth -= 1;
        r
    }

    fn action_inner(&mut self) -> PResult<Parsed> {
        let it = self.next();
        match it.typ {
            ItemType::Block => return self.block_control().map(Parsed::Node),
            ItemType::Break | ItemType::Continue => {
                let word = if it.typ == ItemType::Break {
                    "break"
                } else {
                    "continue"
                };
                let t = self.next();
                if t.typ != ItemType::RightDelim {
                    return Err(self.unexpected(&t, &format!("{{{{{word}}}}}")));
                }
                if self.range_depth == 0 {
                    return Err(self.errorf(format!("{{{{{word}}}}} outside {{{{range}}}}")));
                }
                return Ok(Parsed::Node(if it.typ == ItemType::Break {
                    Node::Break { pos: it.pos }
                } else {
                    Node::Continue { pos: it.pos }
                }));
            }
            ItemType::Else => {
                let p = self.peek();
                if p.typ == ItemType::If || p.typ == ItemType::With {
                    return Ok(Parsed::Else);
                }
                self.expect(ItemType::RightDelim, "else")?;
                return Ok(Parsed::Else);
            }
            ItemType::End => {
                self.expect(ItemType::RightDelim, "end")?;
                return Ok(Parsed::End);
            }
            ItemType::If => return self.control("if").map(Parsed::Node),
            ItemType::Range => return self.control("range").map(Parsed::Node),
            ItemType::With => return self.control("with").map(Parsed::Node),
            ItemType::Template => return self.template_control().map(Parsed::Node),
            _ => {}
        }
        self.backup();
        let pos = self.peek().pos;
        let pipe = self.pipeline("command", ItemType::RightDelim)?;
        Ok(Parsed::Node(Node::Action { pos, pipe }))
    }

    fn control(&mut self, context: &str) -> PResult<Node> {
        let mark = self.vars.len();
        let r = self.control_inner(context);
        self.vars.truncate(mark);
        let b = r?;
        Ok(match context {
            "if" => Node::If(Box::new(b)),
            "range" => Node::Range(Box::new(b)),
            _ => Node::With(Box::new(b)),
        })
    }

    fn control_inner(&mut self, context: &str) -> PResult<Branch> {
        let pipe = self.pipeline(context, ItemType::RightDelim)?;
        if context == "range" {
            self.range_depth += 1;
        }
        let r = self.item_list();
        if context == "range" {
            self.range_depth -= 1;
        }
        let (list, next) = r?;
        let mut else_list = None;
        match next {
            Parsed::End => {}
            Parsed::Else => {
                let p = self.peek();
                if context == "if" && p.typ == ItemType::If {
                    self.next();
                    let n = self.control("if")?;
                    else_list = Some(Box::new([n]) as Box<[Node]>);
                } else if context == "with" && p.typ == ItemType::With {
                    self.next();
                    let n = self.control("with")?;
                    else_list = Some(Box::new([n]) as Box<[Node]>);
                } else {
                    let (l, next) = self.item_list()?;
                    if !matches!(next, Parsed::End) {
                        return Err(self.errorf("expected end; found {{else}}"));
                    }
                    else_list = Some(l);
                }
            }
            Parsed::Node(_) => {}
        }
        Ok(Branch {
            pos: pipe.pos,
            pipe,
            list,
            else_list,
        })
    }

    fn parse_template_name(&mut self, it: &Item<'_>, context: &str) -> PResult<String> {
        match it.typ {
            ItemType::String | ItemType::RawString => unquote(it.val).map_err(|e| self.errorf(e)),
            _ => Err(self.unexpected(it, context)),
        }
    }

    fn block_control(&mut self) -> PResult<Node> {
        let context = "block clause";
        let it = self.next();
        let name = self.parse_template_name(&it, context)?;
        let pipe = self.pipeline(context, ItemType::RightDelim)?;
        let saved_vars = std::mem::replace(&mut self.vars, vec!["$"]);
        let saved_range = std::mem::replace(&mut self.range_depth, 0);
        let r = self.item_list();
        self.vars = saved_vars;
        self.range_depth = saved_range;
        let (root, end) = r?;
        if !matches!(end, Parsed::End) {
            return Err(self.errorf(format!("unexpected {{{{else}}}} in {context}")));
        }
        self.add_tree(Tree {
            name: name.as_str().into(),
            source: self.source.clone(),
            root,
        })?;
        Ok(Node::Template {
            pos: it.pos,
            name,
            pipe: Some(Box::new(pipe)),
        })
    }

    fn template_control(&mut self) -> PResult<Node> {
        let context = "template clause";
        let it = self.next();
        let name = self.parse_template_name(&it, context)?;
        let pipe = if self.next().typ != ItemType::RightDelim {
            self.backup();
            Some(Box::new(self.pipeline(context, ItemType::RightDelim)?))
        } else {
            None
        };
        Ok(Node::Template {
            pos: it.pos,
            name,
            pipe,
        })
    }

    fn pipeline(&mut self, context: &str, end: ItemType) -> PResult<Pipe> {
        let mark = self.cmds.len();
        let r = self.pipeline_onto_stack(context, end);
        let cmds = take_from(&mut self.cmds, mark);
        let mut pipe = r?;
        pipe.cmds = cmds;
        self.check_pipeline(&pipe, context)?;
        Ok(pipe)
    }

    /// Parses a pipeline up to `end`, its commands onto `self.cmds` (the returned `cmds` is
    /// empty and the pipeline unchecked).
    fn pipeline_onto_stack(&mut self, context: &str, end: ItemType) -> PResult<Pipe> {
        let start = self.peek();
        let mut pipe = Pipe {
            pos: start.pos,
            is_assign: false,
            decl: Box::default(),
            cmds: Box::default(),
        };
        let mut decl: Vec<Arc<str>> = Vec::new();
        'decls: loop {
            let v = self.peek();
            if v.typ != ItemType::Variable {
                break;
            }
            let save = self.idx;
            self.next();
            let next = self.peek();
            match next.typ {
                ItemType::Assign | ItemType::Declare => {
                    pipe.is_assign = next.typ == ItemType::Assign;
                    self.next();
                    decl.push(v.val.into());
                    self.vars.push(v.val);
                }
                ItemType::Char if next.val == "," => {
                    self.next();
                    decl.push(v.val.into());
                    self.vars.push(v.val);
                    if context == "range" && decl.len() < 2 {
                        match self.peek().typ {
                            ItemType::Variable | ItemType::RightDelim | ItemType::RightParen => {
                                continue 'decls;
                            }
                            _ => return Err(self.errorf("range can only initialize variables")),
                        }
                    }
                    return Err(self.errorf(format!("too many declarations in {context}")));
                }
                _ => self.idx = save,
            }
            break;
        }
        pipe.decl = decl.into_boxed_slice();
        loop {
            let it = self.next();
            if it.typ == end {
                return Ok(pipe);
            }
            match it.typ {
                ItemType::Bool
                | ItemType::CharConstant
                | ItemType::Complex
                | ItemType::Dot
                | ItemType::Field
                | ItemType::Identifier
                | ItemType::Number
                | ItemType::Nil
                | ItemType::RawString
                | ItemType::String
                | ItemType::Variable
                | ItemType::LeftParen => {
                    self.backup();
                    let cmd = self.command()?;
                    self.cmds.push(cmd);
                }
                _ => return Err(self.unexpected(&it, context)),
            }
        }
    }

    fn check_pipeline(&self, pipe: &Pipe, context: &str) -> PResult<()> {
        if pipe.cmds.is_empty() {
            return Err(self.errorf(format!("missing value for {context}")));
        }
        for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
            if matches!(
                c.args.first(),
                Some(
                    Arg::Bool { .. }
                        | Arg::Dot { .. }
                        | Arg::Nil { .. }
                        | Arg::Number { .. }
                        | Arg::String { .. }
                )
            ) {
                return Err(self.errorf(format!(
                    "non executable command in pipeline stage {}",
                    i + 1
                )));
            }
        }
        Ok(())
    }

    fn command(&mut self) -> PResult<Command> {
        let pos = self.peek().pos;
        let mark = self.args.len();
        let r = self.command_onto_stack();
        let args: Box<[Arg]> = take_from(&mut self.args, mark);
        r?;
        if args.is_empty() {
            return Err(self.errorf("empty command"));
        }
        Ok(Command { pos, args })
    }

    /// Parses a command's operands onto `self.args`.
    fn command_onto_stack(&mut self) -> PResult<()> {
        // The item whose leading space already ended an operand: where Go reads a space item
        // and then tries an operand, once.
        let mut spaced = None;
        loop {
            if let Some(op) = self.operand()? {
                self.args.push(op);
            }
            let at = self.idx;
            let it = self.next();
            match it.typ {
                ItemType::RightDelim | ItemType::RightParen => self.backup(),
                ItemType::Pipe => {}
                _ if it.space_before && spaced != Some(at) => {
                    spaced = Some(at);
                    self.backup();
                    continue;
                }
                _ => return Err(self.unexpected(&it, "operand")),
            }
            break;
        }
        Ok(())
    }

    fn operand(&mut self) -> PResult<Option<Arg>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        let adjacent_field = |it: Item<'_>| it.typ == ItemType::Field && !it.space_before;
        if adjacent_field(self.peek()) {
            let pos = self.peek().pos;
            // The field items follow each other without space: their text is one `.a.b` run.
            let mut end = pos;
            while adjacent_field(self.peek()) {
                let f = self.next();
                end = f.pos + f.val.len();
            }
            return Ok(Some(match node {
                // Go positions the extended node at its first added field.
                Arg::Field { path, .. } => Arg::Field {
                    pos,
                    path: path.extend_to(end),
                },
                Arg::Variable { path, .. } => Arg::Variable {
                    pos,
                    path: path.extend_to(end),
                },
                Arg::Bool { .. }
                | Arg::String { .. }
                | Arg::Number { .. }
                | Arg::Nil { .. }
                | Arg::Dot { .. } => {
                    return Err(self.errorf(format!(
                        "unexpected . after term {}",
                        crate::fmt::quote(&node.to_string())
                    )));
                }
                other => Arg::Chain {
                    pos,
                    node: Box::new(other),
                    fields: SrcStr::new(&self.text, pos, end),
                },
            }));
        }
        Ok(Some(node))
    }

    fn term(&mut self) -> PResult<Option<Arg>> {
        let it = self.next();
        let pos = it.pos;
        Ok(Some(match it.typ {
            ItemType::Identifier => {
                if !(self.has_func)(it.val) {
                    return Err(self.errorf(format!(
                        "function {} not defined",
                        crate::fmt::quote(it.val)
                    )));
                }
                Arg::Identifier {
                    pos,
                    name: self.item_text(&it, 0),
                }
            }
            ItemType::Dot => Arg::Dot { pos },
            ItemType::Nil => Arg::Nil { pos },
            ItemType::Variable => {
                if !self.vars.contains(&it.val) {
                    return Err(
                        self.errorf(format!("undefined variable {}", crate::fmt::quote(it.val)))
                    );
                }
                Arg::Variable {
                    pos,
                    path: self.item_text(&it, 0),
                }
            }
            ItemType::Field => Arg::Field {
                pos,
                path: self.item_text(&it, 0),
            },
            ItemType::Bool => Arg::Bool {
                pos,
                value: it.val == "true",
            },
            ItemType::CharConstant | ItemType::Complex | ItemType::Number => {
                let kind = match it.typ {
                    ItemType::CharConstant => NumberKind::Char,
                    ItemType::Complex => NumberKind::Complex,
                    _ => NumberKind::Number,
                };
                let number = parse_number(it.val, kind).map_err(|e| self.errorf(e))?;
                Arg::Number {
                    pos,
                    number: Box::new(number),
                }
            }
            ItemType::LeftParen => {
                self.enter()?;
                let r = stacker::maybe_grow(64 * 1024, 1024 * 1024, || {
                    self.pipeline("parenthesized pipeline", ItemType::RightParen)
                });
                self.depth -= 1;
                Arg::Pipe(Box::new(r?))
            }
            ItemType::String | ItemType::RawString => {
                let (text, bytes) = match crate::literal::unquote_go(it.val) {
                    Ok(Ok(text)) => (text, None),
                    Ok(Err(b)) => (crate::gostr::lossy(&b).into_owned(), Some(b.into())),
                    Err(e) => return Err(self.errorf(e)),
                };
                Arg::String {
                    pos,
                    literal: Box::new(StringLiteral {
                        quoted: self.item_text(&it, 0),
                        text: text.into(),
                        bytes,
                    }),
                }
            }
            _ => {
                self.backup();
                return Ok(None);
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::{ParseConfig, list_string, parse};

    fn parse_one(text: &str) -> Result<String, String> {
        let cfg = ParseConfig {
            left_delim: "",
            right_delim: "",
            has_func: &|f| f == "printf",
        };
        let trees = parse("t", text, &cfg)?;
        Ok(trees
            .iter()
            .map(|t| format!("[{}]{}", t.name, list_string(&t.root, false)))
            .collect())
    }

    /// The parser holds a few items at a time and backs up over them (at `{{define`, at
    /// `$x :=`): wherever those constructs fall against the lexer's chunks, the trees are the
    /// pieces' trees, in order.
    #[test]
    fn backing_up_works_across_the_lexers_chunks() {
        let pieces = [
            ("{{ $a = 2 }}", "{{$a = 2}}"),
            (" x ", " x "),
            ("{{ printf \"%d\" $a }}", "{{printf \"%d\" $a}}"),
            ("{{if $a}}y{{else}}z{{end}}", "{{if $a}}y{{else}}z{{end}}"),
            ("{{ $b := 3 }}", "{{$b := 3}}"),
        ];
        for skew in 0..9 {
            let mut text = format!("{}{{{{ $a := 0 }}}}", " ".repeat(skew));
            let mut want = format!("{}{{{{$a := 0}}}}", " ".repeat(skew));
            for i in 0..200 {
                let (src, printed) = pieces[(i + skew) % pieces.len()];
                text.push_str(src);
                want.push_str(printed);
            }
            assert_eq!(parse_one(&text), Ok(format!("[t]{want}")), "skew {skew}");
            let with_definition = format!("{{{{define \"d\"}}}}{text}{{{{end}}}}{text}");
            assert_eq!(
                parse_one(&with_definition),
                Ok(format!("[d]{want}[t]{want}")),
                "skew {skew}"
            );
        }
    }

    #[test]
    fn errors_far_into_a_template_name_their_line() {
        let mut text = "{{ $a := 1 }}\n".repeat(999);
        text.push_str("{{ $a := }}");
        assert_eq!(
            parse_one(&text).unwrap_err(),
            "template: t:1000: missing value for command"
        );
        let mut text = "x\n{{ $a := 1 }}\n".repeat(300);
        text.push_str("{{ end }}");
        assert_eq!(
            parse_one(&text).unwrap_err(),
            "template: t:601: unexpected {{end}}"
        );
    }
}
