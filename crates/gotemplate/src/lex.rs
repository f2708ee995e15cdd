//! The template lexer: turns template text into Go `text/template/parse` items (text, delimiters,
//! identifiers, literals, keywords…), including the `{{-`/`-}}` trim markers and comments.
//!
//! It mirrors Go's state machine closely because the parser's error messages (and which inputs are
//! errors at all) depend on exactly how Go tokenises.

/// What kind of token an [`Item`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItemType {
    Error,
    Bool,
    Char,
    CharConstant,
    Comment,
    Complex,
    Assign,
    Declare,
    Eof,
    Field,
    Identifier,
    LeftDelim,
    LeftParen,
    Number,
    Pipe,
    RawString,
    RightDelim,
    RightParen,
    String,
    Text,
    Variable,
    // Keywords (Go's `itemKeyword` and above).
    Block,
    Break,
    Continue,
    Dot,
    Define,
    Else,
    End,
    If,
    Nil,
    Range,
    Template,
    With,
}

impl ItemType {
    fn is_keyword(self) -> bool {
        matches!(
            self,
            ItemType::Block
                | ItemType::Break
                | ItemType::Continue
                | ItemType::Dot
                | ItemType::Define
                | ItemType::Else
                | ItemType::End
                | ItemType::If
                | ItemType::Nil
                | ItemType::Range
                | ItemType::Template
                | ItemType::With
        )
    }
}

/// One token: its type, 1-based line, byte offset in the input and text
/// (`input[pos..pos + val.len()]`). An `Error` item's text is empty: its message is
/// [`Lexer::error`]. Small and `Copy`, since the parser's lookahead copies tokens all the time
/// and a template has about one per four bytes.
///
/// Go's lexer makes an item of each run of spaces in an action; here the item after the run
/// says so instead (`space_before`). They were three items in ten over the corpus charts, and
/// the parser asks only whether there was one.
#[derive(Clone, Copy, Debug)]
pub struct Item<'a> {
    pub typ: ItemType,
    pub space_before: bool,
    pub line: u32,
    pub pos: usize,
    pub val: &'a str,
}

impl std::fmt::Display for Item<'_> {
    /// Go's `item.String()`, used in "unexpected X in Y" messages.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.typ {
            ItemType::Eof => write!(f, "EOF"),
            // The message is `Lexer::error`; the parser reports it from there.
            ItemType::Error => write!(f, "error"),
            t if t.is_keyword() => write!(f, "<{}>", self.val),
            _ => {
                if self.val.chars().count() > 10 {
                    let head: String = self.val.chars().take(10).collect();
                    write!(f, "{}...", crate::fmt::quote(&head))
                } else {
                    write!(f, "{}", crate::fmt::quote(self.val))
                }
            }
        }
    }
}

const LEFT_COMMENT: &str = "/*";
const RIGHT_COMMENT: &str = "*/";

/// The lexer as the parser drives it: a chunk of items at a time, so that a template's tokens
/// are never all held at once (a list of them took eight bytes per byte of template, and its
/// first touch was a quarter of parsing's page faults).
pub struct Lexer<'a> {
    input: &'a str,
    left: &'a str,
    right: &'a str,
    pos: usize,
    start: usize,
    line: usize,
    start_line: usize,
    paren_depth: i32,
    state: State,
    /// Whether spaces were skipped since the last item (see [`Item::space_before`]).
    space_before: bool,
    /// Items `base..base + items.len()` of the template, the last one `Eof` or `Error` once
    /// [`Lexer::is_done`].
    items: Vec<Item<'a>>,
    base: usize,
    error: String,
}

/// Items lexed per [`Lexer::refill`].
const CHUNK: usize = 128;

impl<'a> Lexer<'a> {
    /// A lexer for `input` with the given delimiters (empty means Go's `{{` and `}}`).
    pub fn new(input: &'a str, left: &'a str, right: &'a str) -> Lexer<'a> {
        Lexer {
            input,
            left: if left.is_empty() { "{{" } else { left },
            right: if right.is_empty() { "}}" } else { right },
            pos: 0,
            start: 0,
            line: 1,
            start_line: 1,
            paren_depth: 0,
            state: State::Text,
            space_before: false,
            items: Vec::with_capacity(2 * CHUNK),
            base: 0,
            error: String::new(),
        }
    }

    /// The items lexed and kept: item `base() + i` of the template is `items()[i]`.
    pub fn items(&self) -> &[Item<'a>] {
        &self.items
    }

    /// The index in the template of `items()[0]`.
    pub fn base(&self) -> usize {
        self.base
    }

    /// Whether the last item (`Eof` or `Error`) was lexed.
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// Forgets the items before item `keep` of the template and lexes up to [`CHUNK`] more.
    pub fn refill(&mut self, keep: usize) {
        let drop = keep.saturating_sub(self.base).min(self.items.len());
        self.items.drain(..drop);
        self.base += drop;
        let want = self.items.len() + CHUNK;
        while self.items.len() < want {
            self.state = match self.state {
                State::Text => self.lex_text(),
                State::LeftDelim => self.lex_left_delim(),
                State::Comment => self.lex_comment(),
                State::RightDelim => self.lex_right_delim(),
                State::InsideAction => self.lex_inside_action(),
                State::Done => return,
            };
        }
    }

    /// The message of the `Error` item, once it was lexed.
    pub fn error(&self) -> &str {
        &self.error
    }
}

#[derive(Clone, Copy)]
enum State {
    Text,
    LeftDelim,
    Comment,
    RightDelim,
    InsideAction,
    Done,
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn is_alnum(c: char) -> bool {
    if c.is_ascii() {
        return c == '_' || c.is_ascii_alphanumeric();
    }
    c.is_alphabetic() || c.is_numeric()
}

fn is_space_byte(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn has_left_trim_marker(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && b[0] == b'-' && is_space_byte(b[1])
}

/// `s.starts_with(prefix)` for the short delimiters, compared inline: this runs at every token
/// and a `memcmp` call costs more than the comparison.
fn has_prefix(s: &[u8], prefix: &[u8]) -> bool {
    s.len() >= prefix.len() && s.iter().zip(prefix).all(|(a, b)| a == b)
}

/// Byte offset of the first `delim` in `hay`: finds the delimiter's first byte with `memchr`,
/// which beats a substring search set up anew for every piece of text. A match of the first
/// byte starts a character, as `delim` is text: the offset is a character boundary.
fn find_delim(hay: &str, delim: &str) -> Option<usize> {
    let (hay, delim) = (hay.as_bytes(), delim.as_bytes());
    let first = *delim.first()?;
    let mut from = 0;
    while let Some(i) = memchr::memchr(first, &hay[from..]) {
        let at = from + i;
        if has_prefix(&hay[at..], delim) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// A token's line as stored: templates of four billion lines are not a concern, and a smaller
/// token is.
fn line_number(line: usize) -> u32 {
    u32::try_from(line).unwrap_or(u32::MAX)
}

/// Newlines in `s`, counted bytewise (a vectorisable loop, unlike a `matches` pattern search).
fn count_newlines(s: &str) -> usize {
    s.bytes().filter(|&b| b == b'\n').count()
}

fn has_right_trim_marker(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && is_space_byte(b[0]) && b[1] == b'-'
}

impl<'a> Lexer<'a> {
    fn rest(&self) -> &'a str {
        &self.input[self.pos..]
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn peek(&self) -> Option<char> {
        match self.input.as_bytes().get(self.pos) {
            Some(&b) if b.is_ascii() => Some(b as char),
            Some(_) => self.rest().chars().next(),
            None => None,
        }
    }

    /// Step back over the previous character (`c` must be it).
    fn backup(&mut self, c: char) {
        self.pos -= c.len_utf8();
        if c == '\n' {
            self.line -= 1;
        }
    }

    fn emit(&mut self, typ: ItemType) {
        self.items.push(Item {
            typ,
            space_before: std::mem::take(&mut self.space_before),
            line: line_number(self.start_line),
            pos: self.start,
            val: &self.input[self.start..self.pos],
        });
        self.start = self.pos;
        self.start_line = self.line;
    }

    fn ignore(&mut self) {
        self.line += count_newlines(&self.input[self.start..self.pos]);
        self.start = self.pos;
        self.start_line = self.line;
    }

    fn errorf(&mut self, msg: String) -> State {
        self.items.push(Item {
            typ: ItemType::Error,
            space_before: std::mem::take(&mut self.space_before),
            line: line_number(self.start_line),
            pos: self.start,
            val: "",
        });
        self.error = msg;
        State::Done
    }

    fn lex_text(&mut self) -> State {
        if let Some(x) = find_delim(self.rest(), self.left) {
            if x > 0 {
                self.pos += x;
                let delim_end = self.pos + self.left.len();
                let mut trim = 0;
                if has_left_trim_marker(&self.input[delim_end..]) {
                    let text = &self.input[self.start..self.pos];
                    trim = text.len() - text.trim_end_matches(is_space).len();
                }
                self.pos -= trim;
                self.line += count_newlines(&self.input[self.start..self.pos]);
                let item = Item {
                    typ: ItemType::Text,
                    space_before: false,
                    line: line_number(self.start_line),
                    pos: self.start,
                    val: &self.input[self.start..self.pos],
                };
                self.start = self.pos;
                self.start_line = self.line;
                self.pos += trim;
                self.ignore();
                if !item.val.is_empty() {
                    self.items.push(item);
                }
            }
            return State::LeftDelim;
        }
        self.pos = self.input.len();
        if self.pos > self.start {
            self.line += count_newlines(&self.input[self.start..self.pos]);
            self.emit(ItemType::Text);
        }
        self.emit(ItemType::Eof);
        State::Done
    }

    fn at_right_delim(&self) -> (bool, bool) {
        // Bytes, not `rest()`: this runs at every token, and a byte slice needs no boundary check.
        let rest = self.input.as_bytes().get(self.pos..).unwrap_or_default();
        let right = self.right.as_bytes();
        if rest.len() >= 2
            && is_space_byte(rest[0])
            && rest[1] == b'-'
            && has_prefix(&rest[2..], right)
        {
            return (true, true);
        }
        if has_prefix(rest, right) {
            return (true, false);
        }
        (false, false)
    }

    fn lex_left_delim(&mut self) -> State {
        self.pos += self.left.len();
        let trim = has_left_trim_marker(self.rest());
        let after = if trim { 2 } else { 0 };
        if self.input[self.pos + after..].starts_with(LEFT_COMMENT) {
            self.pos += after;
            self.ignore();
            return State::Comment;
        }
        self.emit(ItemType::LeftDelim);
        self.pos += after;
        self.ignore();
        self.paren_depth = 0;
        State::InsideAction
    }

    fn lex_comment(&mut self) -> State {
        self.pos += LEFT_COMMENT.len();
        let Some(x) = self.rest().find(RIGHT_COMMENT) else {
            return self.errorf("unclosed comment".into());
        };
        self.pos += x + RIGHT_COMMENT.len();
        let (delim, trim) = self.at_right_delim();
        if !delim {
            return self.errorf("comment ends before closing delimiter".into());
        }
        // Comments are dropped: execution never sees them.
        if trim {
            self.pos += 2;
        }
        self.pos += self.right.len();
        if trim {
            let rest = self.rest();
            self.pos += rest.len() - rest.trim_start_matches(is_space).len();
        }
        self.ignore();
        State::Text
    }

    fn lex_right_delim(&mut self) -> State {
        let (_, trim) = self.at_right_delim();
        if trim {
            self.pos += 2;
            self.ignore();
        }
        self.pos += self.right.len();
        self.emit(ItemType::RightDelim);
        if trim {
            let rest = self.rest();
            self.pos += rest.len() - rest.trim_start_matches(is_space).len();
            self.ignore();
        }
        State::Text
    }

    fn lex_inside_action(&mut self) -> State {
        let (delim, _) = self.at_right_delim();
        if delim {
            if self.paren_depth == 0 {
                return State::RightDelim;
            }
            return self.errorf("unclosed left paren".into());
        }
        let Some(c) = self.next() else {
            return self.errorf("unclosed action".into());
        };
        match c {
            c if is_space(c) => {
                self.backup(c);
                self.lex_space()
            }
            '=' => {
                self.emit(ItemType::Assign);
                State::InsideAction
            }
            ':' => {
                if self.next() != Some('=') {
                    return self.errorf("expected :=".into());
                }
                self.emit(ItemType::Declare);
                State::InsideAction
            }
            '|' => {
                self.emit(ItemType::Pipe);
                State::InsideAction
            }
            '"' => self.lex_quote(),
            '`' => self.lex_raw_quote(),
            '$' => self.lex_field_or_variable(ItemType::Variable),
            '\'' => self.lex_char(),
            '.' => {
                if let Some(n) = self.peek()
                    && !n.is_ascii_digit()
                {
                    return self.lex_field_or_variable(ItemType::Field);
                }
                self.backup(c);
                self.lex_number()
            }
            '+' | '-' | '0'..='9' => {
                self.backup(c);
                self.lex_number()
            }
            c if is_alnum(c) => {
                self.backup(c);
                self.lex_identifier()
            }
            '(' => {
                self.emit(ItemType::LeftParen);
                self.paren_depth += 1;
                State::InsideAction
            }
            ')' => {
                self.paren_depth -= 1;
                if self.paren_depth < 0 {
                    return self.errorf("unexpected right paren".into());
                }
                self.emit(ItemType::RightParen);
                State::InsideAction
            }
            c if c.is_ascii() && !c.is_ascii_control() => {
                self.emit(ItemType::Char);
                State::InsideAction
            }
            c => self.errorf(format!(
                "unrecognized character in action: {}",
                unicode_repr(c)
            )),
        }
    }

    /// Step over a run of letters, digits and `_` (never a newline).
    fn skip_alnum(&mut self) {
        let bytes = self.input.as_bytes();
        let mut at = self.pos;
        while let Some(&b) = bytes.get(at) {
            if b.is_ascii() {
                if b != b'_' && !b.is_ascii_alphanumeric() {
                    break;
                }
                at += 1;
                continue;
            }
            match self.input.get(at..).and_then(|r| r.chars().next()) {
                Some(c) if is_alnum(c) => at += c.len_utf8(),
                _ => break,
            }
        }
        self.pos = at;
    }

    fn lex_space(&mut self) -> State {
        let mut num = 0;
        while let Some(&b) = self.input.as_bytes().get(self.pos) {
            if !is_space_byte(b) {
                break;
            }
            self.pos += 1;
            if b == b'\n' {
                self.line += 1;
            }
            num += 1;
        }
        // A space followed by "-}}" belongs to the trim marker.
        let before = &self.input[self.pos - 1..];
        if has_right_trim_marker(before) && before[2..].starts_with(self.right) {
            let prev = self.input[..self.pos].chars().next_back().unwrap_or(' ');
            self.backup(prev);
            if num == 1 {
                return State::InsideAction;
            }
        }
        self.start = self.pos;
        self.start_line = self.line;
        self.space_before = true;
        State::InsideAction
    }

    fn lex_identifier(&mut self) -> State {
        self.skip_alnum();
        if !self.at_terminator() {
            let c = self.peek().unwrap_or('\0');
            return self.errorf(format!("bad character {}", unicode_repr(c)));
        }
        let word = &self.input[self.start..self.pos];
        let typ = match word {
            "block" => ItemType::Block,
            "break" => ItemType::Break,
            "continue" => ItemType::Continue,
            "define" => ItemType::Define,
            "else" => ItemType::Else,
            "end" => ItemType::End,
            "if" => ItemType::If,
            "range" => ItemType::Range,
            "nil" => ItemType::Nil,
            "template" => ItemType::Template,
            "with" => ItemType::With,
            "true" | "false" => ItemType::Bool,
            _ => ItemType::Identifier,
        };
        self.emit(typ);
        State::InsideAction
    }

    fn lex_field_or_variable(&mut self, typ: ItemType) -> State {
        if self.at_terminator() {
            self.emit(if typ == ItemType::Variable {
                ItemType::Variable
            } else {
                ItemType::Dot
            });
            return State::InsideAction;
        }
        self.skip_alnum();
        if !self.at_terminator() {
            let c = self.peek().unwrap_or('\0');
            return self.errorf(format!("bad character {}", unicode_repr(c)));
        }
        self.emit(typ);
        State::InsideAction
    }

    fn at_terminator(&self) -> bool {
        let Some(c) = self.peek() else {
            return true;
        };
        if is_space(c) || matches!(c, '.' | ',' | '|' | ':' | ')' | '(') {
            return true;
        }
        has_prefix(self.rest().as_bytes(), self.right.as_bytes())
    }

    fn lex_char(&mut self) -> State {
        loop {
            match self.next() {
                Some('\\') => {
                    if let Some(c) = self.next()
                        && c != '\n'
                    {
                        continue;
                    }
                    return self.errorf("unterminated character constant".into());
                }
                None | Some('\n') => {
                    return self.errorf("unterminated character constant".into());
                }
                Some('\'') => break,
                Some(_) => {}
            }
        }
        self.emit(ItemType::CharConstant);
        State::InsideAction
    }

    fn lex_number(&mut self) -> State {
        if !self.scan_number() {
            let text = self.input[self.start..self.pos].to_string();
            return self.errorf(format!("bad number syntax: {}", crate::fmt::quote(&text)));
        }
        if let Some('+' | '-') = self.peek() {
            // Complex: 1+2i. No spaces; the imaginary part must end in 'i'.
            if !self.scan_number() || !self.input[..self.pos].ends_with('i') {
                let text = self.input[self.start..self.pos].to_string();
                return self.errorf(format!("bad number syntax: {}", crate::fmt::quote(&text)));
            }
            self.emit(ItemType::Complex);
        } else {
            self.emit(ItemType::Number);
        }
        State::InsideAction
    }

    fn accept(&mut self, valid: &str) -> bool {
        if let Some(c) = self.peek()
            && valid.contains(c)
        {
            self.next();
            return true;
        }
        false
    }

    fn accept_run(&mut self, valid: &str) {
        while self.accept(valid) {}
    }

    fn scan_number(&mut self) -> bool {
        self.accept("+-");
        let mut digits = "0123456789_";
        if self.accept("0") {
            if self.accept("xX") {
                digits = "0123456789abcdefABCDEF_";
            } else if self.accept("oO") {
                digits = "01234567_";
            } else if self.accept("bB") {
                digits = "01_";
            }
        }
        self.accept_run(digits);
        if self.accept(".") {
            self.accept_run(digits);
        }
        if digits.len() == 11 && self.accept("eE") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        if digits.len() == 23 && self.accept("pP") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        self.accept("i");
        if let Some(c) = self.peek()
            && is_alnum(c)
        {
            self.next();
            return false;
        }
        true
    }

    fn lex_quote(&mut self) -> State {
        loop {
            // Skip the plain bytes (no newline among them) up to the next special one.
            let rest = self.rest().as_bytes();
            self.pos += rest
                .iter()
                .position(|b| matches!(b, b'\\' | b'"' | b'\n'))
                .unwrap_or(rest.len());
            match self.next() {
                Some('\\') => {
                    if let Some(c) = self.next()
                        && c != '\n'
                    {
                        continue;
                    }
                    return self.errorf("unterminated quoted string".into());
                }
                None | Some('\n') => return self.errorf("unterminated quoted string".into()),
                Some('"') => break,
                Some(_) => {}
            }
        }
        self.emit(ItemType::String);
        State::InsideAction
    }

    fn lex_raw_quote(&mut self) -> State {
        let Some(x) = self.rest().find('`') else {
            return self.errorf("unterminated raw quoted string".into());
        };
        let end = self.pos + x + 1;
        self.line += count_newlines(&self.input[self.pos..end]);
        self.pos = end;
        self.emit(ItemType::RawString);
        State::InsideAction
    }
}

/// Go's `%#U`: `U+0041 'A'`.
fn unicode_repr(c: char) -> String {
    if c.is_control() {
        format!("U+{:04X}", c as u32)
    } else {
        format!("U+{:04X} '{}'", c as u32, c)
    }
}

#[cfg(test)]
mod tests {
    use super::find_delim;

    #[test]
    fn delimiter_search_agrees_with_a_substring_search() {
        // '本' and '日' share their first byte: a byte match is only a candidate.
        let hays = [
            "本日x日日y",
            "a {{ b",
            "{",
            "{{",
            "x{y{{z",
            "",
            "日本",
            "«a»«««",
        ];
        let delims = ["日日", "{{", "{", "«««", "(日)"];
        for hay in hays {
            for delim in delims {
                assert_eq!(
                    find_delim(hay, delim),
                    hay.find(delim),
                    "{delim:?} in {hay:?}"
                );
            }
        }
    }
}
