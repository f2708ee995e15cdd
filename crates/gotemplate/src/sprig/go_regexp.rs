//! Which patterns Go's `regexp.Compile` refuses, and in its words (`error parsing regexp: missing
//! closing ): `(``): the parse of Go's `regexp/syntax` (Perl flags, as `regexp.Compile` uses),
//! followed only as far as its errors depend on it. The `regex` crates refuse other patterns, or
//! the same ones with other words, and accept some Go refuses (`a**`, `x{1001}`, `[[:foo:]]`).
//!
//! Not checked here (the crates decide): Unicode class names other than Go's general categories
//! (a script name is taken if the crates take it), invalid UTF-8, and Go's limits on nesting
//! depth and repeated size (`expression nests too deeply`, `expression too large`).

/// Go's `*syntax.Error` text for `expr`, or `None` if Go's parser accepts it.
pub fn syntax_error(expr: &str) -> Option<String> {
    Parser {
        whole: expr,
        stack: Vec::new(),
    }
    .parse()
    .err()
    .map(|(code, at)| format!("error parsing regexp: {}: `{at}`", code.text()))
}

/// Whether `{` at the start of `s` opens a repeat Go accepts the form of (`{n}`, `{n,}`,
/// `{n,m}`, no leading zeros); anything else is a literal `{` to Go.
pub(super) fn is_repeat(s: &str) -> bool {
    parse_repeat(s).is_some()
}

#[derive(Clone, Copy)]
enum Code {
    InvalidCharRange,
    InvalidEscape,
    InvalidNamedCapture,
    InvalidPerlOp,
    InvalidRepeatOp,
    InvalidRepeatSize,
    MissingBracket,
    MissingParen,
    MissingRepeatArgument,
    TrailingBackslash,
    UnexpectedParen,
}

impl Code {
    fn text(self) -> &'static str {
        match self {
            Code::InvalidCharRange => "invalid character class range",
            Code::InvalidEscape => "invalid escape sequence",
            Code::InvalidNamedCapture => "invalid named capture",
            Code::InvalidPerlOp => "invalid or unsupported Perl syntax",
            Code::InvalidRepeatOp => "invalid nested repetition operator",
            Code::InvalidRepeatSize => "invalid repeat count",
            Code::MissingBracket => "missing closing ]",
            Code::MissingParen => "missing closing )",
            Code::MissingRepeatArgument => "missing argument to repetition operator",
            Code::TrailingBackslash => "trailing backslash at end of expression",
            Code::UnexpectedParen => "unexpected )",
        }
    }
}

type Failure<'a> = (Code, &'a str);

/// What Go's parse stack holds, as far as errors care: the markers of an open group and of an
/// alternation, and everything else: an operand a repetition may apply to, with the largest
/// product of counted repetitions (`{n}`, `{n,m}`) on any path inside it, which Go keeps at
/// 1000 at most.
#[derive(Clone, Copy, PartialEq)]
enum Item {
    LeftParen,
    VerticalBar,
    Operand(u64),
}

/// A leaf operand: no counted repetition inside.
const LEAF: Item = Item::Operand(1);

struct Parser<'a> {
    whole: &'a str,
    stack: Vec<Item>,
}

/// The part of `s` before its suffix `rest` (Go's `s[:len(s)-len(rest)]`).
fn consumed<'a>(s: &'a str, rest: &str) -> &'a str {
    &s[..s.len() - rest.len()]
}

fn first_char(s: &str) -> Option<(char, &str)> {
    let c = s.chars().next()?;
    Some((c, &s[c.len_utf8()..]))
}

impl<'a> Parser<'a> {
    fn parse(mut self) -> Result<(), Failure<'a>> {
        let mut t = self.whole;
        // The text from the last repetition operator on, while the previous token was one.
        let mut last_repeat: &'a str = "";
        while let Some((c, after_c)) = first_char(t) {
            let mut repeat: &'a str = "";
            match c {
                '(' => {
                    if after_c.starts_with('?') {
                        t = self.perl_flags(t)?;
                    } else {
                        self.stack.push(Item::LeftParen);
                        t = after_c;
                    }
                }
                '|' => {
                    self.vertical_bar();
                    t = after_c;
                }
                ')' => {
                    self.right_paren()?;
                    t = after_c;
                }
                '[' => {
                    t = self.class(t)?;
                    self.stack.push(LEAF);
                }
                '*' | '+' | '?' => {
                    let before = t;
                    t = self.repeat(before, after_c, last_repeat, None)?;
                    repeat = before;
                }
                '{' => match parse_repeat(t) {
                    None => {
                        self.stack.push(LEAF);
                        t = after_c;
                    }
                    Some((min, max, after)) => {
                        let before = t;
                        let too_big = |n: i64| !(0..=1000).contains(&n);
                        if too_big(min) || max > 1000 || (max >= 0 && min > max) {
                            return Err((Code::InvalidRepeatSize, consumed(before, after)));
                        }
                        t = self.repeat(before, after, last_repeat, Some((min, max)))?;
                        repeat = before;
                    }
                },
                '\\' => t = self.escape_atom(t)?,
                _ => {
                    self.stack.push(LEAF);
                    t = after_c;
                }
            }
            last_repeat = repeat;
        }
        self.concat();
        if self.swap_vertical_bar() {
            self.stack.pop();
        }
        self.alternate();
        if self.stack.len() != 1 {
            return Err((Code::MissingParen, self.whole));
        }
        Ok(())
    }

    /// Go's `repeat`: `before` starts at the operator, `after` follows it; `counts` for `{…}`.
    fn repeat(
        &mut self,
        before: &'a str,
        mut after: &'a str,
        last_repeat: &'a str,
        counts: Option<(i64, i64)>,
    ) -> Result<&'a str, Failure<'a>> {
        if let Some(rest) = after.strip_prefix('?') {
            after = rest;
        }
        if !last_repeat.is_empty() {
            return Err((Code::InvalidRepeatOp, consumed(last_repeat, after)));
        }
        let Some(Item::Operand(inner)) = self.stack.last().copied() else {
            return Err((Code::MissingRepeatArgument, consumed(before, after)));
        };
        let Some((min, max)) = counts else {
            return Ok(after);
        };
        // Go's `repeatIsValid`: a count multiplies what it repeats (its max, or its min when
        // unbounded; a zero max empties it), and any path may hold 1000 copies at most.
        let factor = match (min, max) {
            (_, 0) => 0,
            (min, max) if max < 0 => min.max(1) as u64,
            (_, max) => max as u64,
        };
        let weight = factor.saturating_mul(inner);
        if (min >= 2 || max >= 2) && weight > 1000 {
            return Err((Code::InvalidRepeatSize, consumed(before, after)));
        }
        if let Some(top) = self.stack.last_mut() {
            *top = Item::Operand(weight);
        }
        Ok(after)
    }

    /// Go's `concat`: the operands above the last marker become one (an empty match if none).
    fn concat(&mut self) {
        let mut weight = 1;
        while let Some(Item::Operand(w)) = self.stack.last().copied() {
            weight = weight.max(w);
            self.stack.pop();
        }
        self.stack.push(Item::Operand(weight));
    }

    /// Go's `alternate`: likewise for the alternatives above the last open group.
    fn alternate(&mut self) {
        self.concat();
    }

    /// Go's `swapVerticalBar`: an operand above a `|` marker goes below it.
    fn swap_vertical_bar(&mut self) -> bool {
        let n = self.stack.len();
        if n >= 2 && self.stack[n - 2] == Item::VerticalBar {
            self.stack.swap(n - 1, n - 2);
            return true;
        }
        false
    }

    fn vertical_bar(&mut self) {
        self.concat();
        if !self.swap_vertical_bar() {
            self.stack.push(Item::VerticalBar);
        }
    }

    fn right_paren(&mut self) -> Result<(), Failure<'a>> {
        self.concat();
        if self.swap_vertical_bar() {
            self.stack.pop();
        }
        self.alternate();
        let n = self.stack.len();
        if n < 2 || self.stack[n - 2] != Item::LeftParen {
            return Err((Code::UnexpectedParen, self.whole));
        }
        let group = self.stack[n - 1];
        self.stack.truncate(n - 2);
        self.stack.push(group);
        Ok(())
    }

    /// Go's `parsePerlFlags`, at `(?`: a named group, a non-capturing group, or flags.
    fn perl_flags(&mut self, s: &'a str) -> Result<&'a str, Failure<'a>> {
        let named = if s.len() > 4 && s[2..].starts_with("P<") {
            Some(4)
        } else if s.len() > 3 && s[2..].starts_with('<') {
            Some(3)
        } else {
            None
        };
        if let Some(begin) = named {
            let Some(end) = s.find('>') else {
                return Err((Code::InvalidNamedCapture, s));
            };
            let name = &s[begin..end];
            let valid =
                !name.is_empty() && name.chars().all(|c| c == '_' || c.is_ascii_alphanumeric());
            if !valid {
                return Err((Code::InvalidNamedCapture, &s[..end + 1]));
            }
            self.stack.push(Item::LeftParen);
            return Ok(&s[end + 1..]);
        }
        let mut t = &s[2..];
        let mut negated = false;
        let mut saw_flag = false;
        while let Some((c, rest)) = first_char(t) {
            t = rest;
            match c {
                'i' | 'm' | 's' | 'U' => saw_flag = true,
                '-' if !negated => {
                    negated = true;
                    saw_flag = false;
                }
                ':' | ')' if !negated || saw_flag => {
                    if c == ':' {
                        self.stack.push(Item::LeftParen);
                    }
                    return Ok(t);
                }
                _ => break,
            }
        }
        Err((Code::InvalidPerlOp, consumed(s, t)))
    }

    /// A `\` outside a class: Perl's zero-width escapes and `\Q…\E`, a Unicode or Perl class, or
    /// a single escaped character.
    fn escape_atom(&mut self, t: &'a str) -> Result<&'a str, Failure<'a>> {
        match t.as_bytes().get(1) {
            Some(b'A' | b'b' | b'B' | b'z') => {
                self.stack.push(LEAF);
                return Ok(&t[2..]);
            }
            Some(b'C') => return Err((Code::InvalidEscape, &t[..2])),
            Some(b'Q') => {
                let (literal, rest) = t[2..].split_once("\\E").unwrap_or((&t[2..], ""));
                if !literal.is_empty() {
                    self.stack.push(LEAF);
                }
                return Ok(rest);
            }
            _ => {}
        }
        if let Some(rest) = unicode_class(t)? {
            self.stack.push(LEAF);
            return Ok(rest);
        }
        if let Some(rest) = perl_class(t) {
            self.stack.push(LEAF);
            return Ok(rest);
        }
        let rest = escape(t)?;
        self.stack.push(LEAF);
        Ok(rest)
    }

    /// Go's `parseClass`, at `[`; returns what follows the closing `]`.
    fn class(&self, s: &'a str) -> Result<&'a str, Failure<'a>> {
        let mut t = &s[1..];
        if let Some(rest) = t.strip_prefix('^') {
            t = rest;
        }
        let mut first = true;
        while t.is_empty() || !t.starts_with(']') || first {
            first = false;
            if t.len() > 2
                && t.starts_with("[:")
                && let Some(rest) = named_class(t)?
            {
                t = rest;
                continue;
            }
            if let Some(rest) = unicode_class(t)? {
                t = rest;
                continue;
            }
            if let Some(rest) = perl_class(t) {
                t = rest;
                continue;
            }
            let range = t;
            let (lo, rest) = class_char(t, s)?;
            t = rest;
            if t.len() >= 2 && t.starts_with('-') && !t[1..].starts_with(']') {
                let (hi, rest) = class_char(&t[1..], s)?;
                t = rest;
                if hi < lo {
                    return Err((Code::InvalidCharRange, consumed(range, t)));
                }
            }
        }
        Ok(&t[1..])
    }
}

/// Go's `parseRepeat`: `(min, max, rest)`, `max` -1 for `{n,}`; counts past 10^8 are -1.
fn parse_repeat(s: &str) -> Option<(i64, i64, &str)> {
    let s = s.strip_prefix('{')?;
    let (mut min, s) = parse_int(s)?;
    let (max, s) = match s.strip_prefix(',') {
        None => (min, s),
        Some(rest) if rest.starts_with('}') => (-1, rest),
        Some(rest) => {
            let (max, rest) = parse_int(rest)?;
            if max < 0 {
                // Too big to count.
                min = -1;
            }
            (max, rest)
        }
    };
    let rest = s.strip_prefix('}')?;
    Some((min, max, rest))
}

/// Go's `parseInt`: decimal digits without leading zeros.
fn parse_int(s: &str) -> Option<(i64, &str)> {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || (digits >= 2 && s.starts_with('0')) {
        return None;
    }
    let mut n: i64 = 0;
    for b in s[..digits].bytes() {
        if n >= 100_000_000 {
            n = -1;
            break;
        }
        n = n * 10 + i64::from(b - b'0');
    }
    Some((n, &s[digits..]))
}

/// Go's `parseNamedClass` at `[:`: the rest after a known POSIX class, `None` if there is no
/// `:]` (then it is no such class), an error for an unknown name.
fn named_class(t: &str) -> Result<Option<&str>, Failure<'_>> {
    let Some(i) = t[2..].find(":]") else {
        return Ok(None);
    };
    let name = &t[..i + 4];
    const POSIX: [&str; 14] = [
        "alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower", "print", "punct",
        "space", "upper", "word", "xdigit",
    ];
    let bare = name[2..name.len() - 2].trim_start_matches('^');
    let negation_ok = name[2..].chars().filter(|c| *c == '^').count() <= 1;
    if negation_ok && POSIX.contains(&bare) {
        Ok(Some(&t[i + 4..]))
    } else {
        Err((Code::InvalidCharRange, name))
    }
}

/// Go's `parseUnicodeClass` at `\p`/`\P`: the rest after the class, `None` if `t` is none.
fn unicode_class(t: &str) -> Result<Option<&str>, Failure<'_>> {
    if !(t.starts_with("\\p") || t.starts_with("\\P")) {
        return Ok(None);
    }
    let after = &t[2..];
    let (seq, rest, name) = match first_char(after) {
        Some(('{', _)) => {
            let Some(end) = t.find('}') else {
                return Err((Code::InvalidCharRange, t));
            };
            (&t[..end + 1], &t[end + 1..], &t[3..end])
        }
        Some((c, rest)) => (&t[..2 + c.len_utf8()], rest, &after[..c.len_utf8()]),
        None => (t, "", ""),
    };
    let name = name.strip_prefix('^').unwrap_or(name);
    if known_unicode_class(name) {
        Ok(Some(rest))
    } else {
        Err((Code::InvalidCharRange, seq))
    }
}

/// Go's Unicode tables: `Any`, the general categories, and the scripts (those the `regex`
/// crate's Unicode tables name the same way; Go's names are case-sensitive).
fn known_unicode_class(name: &str) -> bool {
    const CATEGORIES: [&str; 38] = [
        "C", "Cc", "Cf", "Co", "Cs", "L", "Ll", "Lm", "Lo", "Lt", "Lu", "M", "Mc", "Me", "Mn", "N",
        "Nd", "Nl", "No", "P", "Pc", "Pd", "Pe", "Pf", "Pi", "Po", "Ps", "S", "Sc", "Sk", "Sm",
        "So", "Z", "Zl", "Zp", "Zs", "LC", "Any",
    ];
    if CATEGORIES.contains(&name) {
        return true;
    }
    // A script: capitalised words joined by `_`, as Go spells them, that the crate knows.
    let spelled_like_go = name
        .split('_')
        .all(|w| w.chars().next().is_some_and(|c| c.is_ascii_uppercase()));
    spelled_like_go
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && regex::Regex::new(&format!("\\p{{sc={name}}}")).is_ok()
}

/// Go's `parsePerlClassEscape`: `\d \D \s \S \w \W`.
fn perl_class(t: &str) -> Option<&str> {
    let b = t.as_bytes();
    (b.len() >= 2 && b[0] == b'\\' && b"dDsSwW".contains(&b[1])).then(|| &t[2..])
}

/// Go's `parseClassChar`: one character of a class (escaped or not), and what follows.
fn class_char<'a>(t: &'a str, whole_class: &'a str) -> Result<(char, &'a str), Failure<'a>> {
    match first_char(t) {
        None => Err((Code::MissingBracket, whole_class)),
        Some(('\\', _)) => {
            let rest = escape(t)?;
            Ok((escaped_value(t, rest), rest))
        }
        Some(found) => Ok(found),
    }
}

/// The character an escape `t[..len(t)-len(rest)]` stands for, for range bounds.
fn escaped_value(t: &str, rest: &str) -> char {
    let body = &consumed(t, rest)[1..];
    let mut chars = body.chars();
    match chars.next() {
        Some('x') => {
            let hex = body[1..].trim_start_matches('{').trim_end_matches('}');
            u32::from_str_radix(hex, 16)
                .ok()
                .and_then(char::from_u32)
                .unwrap_or('\0')
        }
        Some('0'..='7') => u32::from_str_radix(body, 8)
            .ok()
            .and_then(char::from_u32)
            .unwrap_or('\0'),
        Some('a') => '\x07',
        Some('f') => '\x0c',
        Some('n') => '\n',
        Some('r') => '\r',
        Some('t') => '\t',
        Some('v') => '\x0b',
        Some(c) => c,
        None => '\0',
    }
}

/// Go's `parseEscape` at `\`: what follows a valid single-character escape.
fn escape(s: &str) -> Result<&str, Failure<'_>> {
    let t = &s[1..];
    let Some((c, mut t)) = first_char(t) else {
        return Err((Code::TrailingBackslash, ""));
    };
    let invalid = |t: &str| Err((Code::InvalidEscape, consumed(s, t)));
    match c {
        '1'..='7' if !t.starts_with(|d: char| ('0'..='7').contains(&d)) => invalid(t),
        '0'..='7' => {
            for _ in 1..3 {
                match t.strip_prefix(|d: char| ('0'..='7').contains(&d)) {
                    Some(rest) => t = rest,
                    None => break,
                }
            }
            Ok(t)
        }
        'x' => {
            let Some((c, rest)) = first_char(t) else {
                return invalid(t);
            };
            t = rest;
            if c == '{' {
                let mut digits = 0;
                let mut value: u32 = 0;
                loop {
                    let Some((c, rest)) = first_char(t) else {
                        return invalid(t);
                    };
                    t = rest;
                    if c == '}' {
                        break;
                    }
                    let Some(v) = c.to_digit(16) else {
                        return invalid(t);
                    };
                    value = value * 16 + v;
                    if value > 0x10FFFF {
                        return invalid(t);
                    }
                    digits += 1;
                }
                if digits == 0 {
                    return invalid(t);
                }
                return Ok(t);
            }
            let Some((d, rest)) = first_char(t) else {
                return invalid(t);
            };
            t = rest;
            if c.is_ascii_hexdigit() && d.is_ascii_hexdigit() {
                Ok(t)
            } else {
                invalid(t)
            }
        }
        'a' | 'f' | 'n' | 'r' | 't' | 'v' => Ok(t),
        c if c.is_ascii() && !c.is_ascii_alphanumeric() => Ok(t),
        _ => invalid(t),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_words_for_what_go_refuses() {
        let cases = [
            ("(", "missing closing ): `(`"),
            ("[a-", "missing closing ]: `[a-`"),
            ("a**", "invalid nested repetition operator: `**`"),
            ("x{2}{3}", "invalid nested repetition operator: `{2}{3}`"),
            ("x{2,1}", "invalid repeat count: `{2,1}`"),
            ("a{1001}", "invalid repeat count: `{1001}`"),
            ("[z-a]", "invalid character class range: `z-a`"),
            ("[[:foo:]]", "invalid character class range: `[:foo:]`"),
            ("\\p{Foo}", "invalid character class range: `\\p{Foo}`"),
            ("a)", "unexpected ): `a)`"),
            ("(?=a)", "invalid or unsupported Perl syntax: `(?=`"),
            ("(?z)", "invalid or unsupported Perl syntax: `(?z`"),
            ("(?i", "invalid or unsupported Perl syntax: `(?i`"),
            ("\\1", "invalid escape sequence: `\\1`"),
            ("\\8", "invalid escape sequence: `\\8`"),
            ("a\\", "trailing backslash at end of expression: ``"),
            ("(?P<>a)", "invalid named capture: `(?P<>`"),
            ("*a", "missing argument to repetition operator: `*`"),
            ("a|*", "missing argument to repetition operator: `*`"),
            ("(*)", "missing argument to repetition operator: `*`"),
        ];
        for (pattern, want) in cases {
            assert_eq!(
                syntax_error(pattern).as_deref(),
                Some(format!("error parsing regexp: {want}").as_str()),
                "{pattern}"
            );
        }
    }

    #[test]
    fn what_go_accepts() {
        for pattern in [
            "a{",
            "x{a}",
            "a{,5}",
            "{01}",
            "^*",
            "\\12",
            "(?i)a",
            "(?P<n>a)(?<m>b)",
            "[]a]",
            "[^]a]",
            "a|b",
            "(a|b)*",
            "\\pL",
            "\\p{Greek}",
            "[\\d-z]",
            "\\Qa*\\E+",
            "(?:a)",
            "(?i-s:a)",
            "x*?",
            "[[:alpha:]]",
            "\\x{1F600}",
            "\\x41",
        ] {
            assert_eq!(syntax_error(pattern), None, "{pattern}");
        }
    }

    #[test]
    fn literal_brace_is_no_repeat() {
        assert!(is_repeat("{2}x"));
        assert!(is_repeat("{2,}"));
        assert!(!is_repeat("{"));
        assert!(!is_repeat("{01}"));
        assert!(!is_repeat("{,5}"));
    }
}
