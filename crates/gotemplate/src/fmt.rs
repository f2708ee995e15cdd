//! Go's `fmt` printing rules for template values: `%v` rendering ([`sprint`]), `fmt.Sprint` /
//! `fmt.Sprintln` operand spacing, `fmt.Sprintf` with the verbs charts use (`%v %s %d %q %x %X %o %b
//! %c %U %e %E %f %F %g %G %t %T %%`, width, precision, `*`, `[n]` argument indexes and the
//! `+ - # 0 space` flags), and `strconv`'s float and quoting rules that Go's printing builds on.
//!
//! Bad verbs and argument mismatches are not errors in Go: they print `%!d(string=x)`,
//! `%!s(MISSING)` and `%!(EXTRA int=1)`, and so does this module.

use crate::value::Value;

/// Go's `fmt.Sprint(v)` of one value, i.e. `%v`: `<nil>`, `map[a:1 b:2]`, `[1 2]`, floats like
/// `strconv.FormatFloat(f, 'g', -1, 64)`.
pub fn sprint(v: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, v, &Spec::plain('v'));
    out
}

/// Go's `fmt.Sprint(args...)`: operands concatenated, with a space between two operands when
/// neither is a string.
pub fn sprint_args(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, arg) in args.iter().enumerate() {
        if i > 0 && !matches!(arg, Value::String(_)) && !matches!(args[i - 1], Value::String(_)) {
            out.push(' ');
        }
        write_value(&mut out, arg, &Spec::plain('v'));
    }
    out
}

/// Go's `fmt.Sprintln(args...)`: operands separated by spaces, then a newline.
pub fn sprintln(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        write_value(&mut out, arg, &Spec::plain('v'));
    }
    out.push('\n');
    out
}

/// Go's `fmt.Sprintf(format, args...)`.
pub fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let chars: Vec<char> = format.chars().collect();
    let mut i = 0;
    let mut arg_num = 0usize;
    let mut reordered = false;
    while i < chars.len() {
        let c = chars[i];
        if c != '%' {
            out.push(c);
            i += 1;
            continue;
        }
        i += 1;
        let mut spec = Spec::plain('v');
        // Flags.
        while i < chars.len() {
            match chars[i] {
                '+' => spec.plus = true,
                '-' => {
                    spec.minus = true;
                    spec.zero = false;
                }
                '#' => spec.sharp = true,
                ' ' => spec.space = true,
                '0' => spec.zero = !spec.minus,
                _ => break,
            }
            i += 1;
        }
        // Argument index before width.
        if let Some((idx, next)) = parse_arg_index(&chars, i) {
            arg_num = idx;
            i = next;
            reordered = true;
        }
        // Width.
        if i < chars.len() && chars[i] == '*' {
            i += 1;
            match args.get(arg_num).and_then(int_arg) {
                Some(w) => {
                    if w < 0 {
                        spec.minus = true;
                        spec.zero = false;
                    }
                    spec.width = Some(w.unsigned_abs() as usize);
                }
                None => out.push_str("%!(BADWIDTH)"),
            }
            arg_num += 1;
        } else {
            let (n, next) = parse_num(&chars, i);
            spec.width = n;
            i = next;
        }
        // Precision.
        if i < chars.len() && chars[i] == '.' {
            i += 1;
            if let Some((idx, next)) = parse_arg_index(&chars, i) {
                arg_num = idx;
                i = next;
                reordered = true;
            }
            if i < chars.len() && chars[i] == '*' {
                i += 1;
                match args.get(arg_num).and_then(int_arg) {
                    Some(p) if p >= 0 => spec.prec = Some(p as usize),
                    Some(_) => spec.prec = None,
                    None => out.push_str("%!(BADPREC)"),
                }
                arg_num += 1;
            } else {
                let (n, next) = parse_num(&chars, i);
                spec.prec = Some(n.unwrap_or(0));
                i = next;
            }
        }
        if let Some((idx, next)) = parse_arg_index(&chars, i) {
            arg_num = idx;
            i = next;
            reordered = true;
        }
        if i >= chars.len() {
            out.push_str("%!(NOVERB)");
            break;
        }
        let verb = chars[i];
        i += 1;
        spec.verb = verb;
        if verb == '%' {
            out.push('%');
            continue;
        }
        match args.get(arg_num) {
            None => {
                out.push_str("%!");
                out.push(verb);
                out.push_str("(MISSING)");
            }
            Some(arg) => {
                arg_num += 1;
                write_value(&mut out, arg, &spec);
            }
        }
    }
    if !reordered && arg_num < args.len() {
        out.push_str("%!(EXTRA ");
        for (n, arg) in args[arg_num..].iter().enumerate() {
            if n > 0 {
                out.push_str(", ");
            }
            if arg.is_nil() {
                out.push_str("<nil>");
            } else {
                out.push_str(&arg.type_name());
                out.push('=');
                write_value(&mut out, arg, &Spec::plain('v'));
            }
        }
        out.push(')');
    }
    out
}

/// `[n]` argument index (1-based in the format, 0-based here).
fn parse_arg_index(chars: &[char], i: usize) -> Option<(usize, usize)> {
    if i >= chars.len() || chars[i] != '[' {
        return None;
    }
    let (n, next) = parse_num(chars, i + 1);
    if next < chars.len() && chars[next] == ']' {
        if let Some(n) = n.filter(|n| *n >= 1) {
            return Some((n - 1, next + 1));
        }
    }
    None
}

fn parse_num(chars: &[char], mut i: usize) -> (Option<usize>, usize) {
    let mut n: Option<usize> = None;
    while i < chars.len() && chars[i].is_ascii_digit() {
        let d = chars[i] as usize - '0' as usize;
        n = Some(
            n.unwrap_or(0)
                .saturating_mul(10)
                .saturating_add(d)
                .min(1_000_000),
        );
        i += 1;
    }
    (n, i)
}

fn int_arg(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) | Value::Int64(i) => Some(*i),
        Value::Uint(u) => i64::try_from(*u).ok(),
        _ => None,
    }
}

/// One parsed `%` directive.
#[derive(Clone, Debug)]
struct Spec {
    verb: char,
    plus: bool,
    minus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

impl Spec {
    fn plain(verb: char) -> Spec {
        Spec {
            verb,
            plus: false,
            minus: false,
            sharp: false,
            space: false,
            zero: false,
            width: None,
            prec: None,
        }
    }
}

fn pad(out: &mut String, s: &str, spec: &Spec) {
    let len = s.chars().count();
    let width = spec.width.unwrap_or(0);
    if len >= width {
        out.push_str(s);
        return;
    }
    let fill = width - len;
    if spec.minus {
        out.push_str(s);
        out.extend(std::iter::repeat_n(' ', fill));
    } else {
        out.extend(std::iter::repeat_n(' ', fill));
        out.push_str(s);
    }
}

/// Pad a number: zero padding goes between the sign and the digits.
fn pad_number(out: &mut String, s: &str, spec: &Spec) {
    let width = spec.width.unwrap_or(0);
    let len = s.chars().count();
    if spec.zero && !spec.minus && len < width {
        let (sign, digits) = match s.chars().next() {
            Some(c @ ('+' | '-' | ' ')) => (Some(c), &s[1..]),
            _ => (None, s),
        };
        if let Some(c) = sign {
            out.push(c);
        }
        out.extend(std::iter::repeat_n('0', width - len));
        out.push_str(digits);
    } else {
        pad(out, s, spec);
    }
}

fn bad_verb(out: &mut String, v: &Value, verb: char) {
    out.push_str("%!");
    out.push(verb);
    out.push('(');
    if v.is_nil() {
        out.push_str("<nil>");
    } else {
        out.push_str(&v.type_name());
        out.push('=');
        write_value(out, v, &Spec::plain('v'));
    }
    out.push(')');
}

fn write_value(out: &mut String, v: &Value, spec: &Spec) {
    let verb = spec.verb;
    if verb == 'T' {
        pad(out, &v.type_name(), spec);
        return;
    }
    match v {
        Value::Nil => match verb {
            'v' => pad(out, "<nil>", spec),
            _ => bad_verb(out, v, verb),
        },
        Value::Bool(b) => match verb {
            'v' | 't' => pad(out, if *b { "true" } else { "false" }, spec),
            _ => bad_verb(out, v, verb),
        },
        Value::Int(i) | Value::Int64(i) => write_int(out, v, *i < 0, i.unsigned_abs(), spec),
        Value::Uint(u) => write_int(out, v, false, *u, spec),
        Value::Float(f) => write_float(out, v, *f, spec),
        Value::String(s) => write_string(out, v, s, spec),
        Value::List(items) => {
            if verb == 's' || verb == 'q' || verb == 'x' || verb == 'X' || is_value_verb(verb) {
                out.push('[');
                for (n, item) in items.borrow().iter().enumerate() {
                    if n > 0 {
                        out.push(' ');
                    }
                    write_value(out, item, spec);
                }
                out.push(']');
            } else {
                bad_verb(out, v, verb);
            }
        }
        Value::Map(entries) => {
            out.push_str("map[");
            for (n, (key, val)) in entries.borrow().iter().enumerate() {
                if n > 0 {
                    out.push(' ');
                }
                write_string(out, &Value::str(key.as_str()), key, spec);
                out.push(':');
                write_value(out, val, spec);
            }
            out.push(']');
        }
        Value::Object(o) => match verb {
            'v' | 's' => pad(out, &o.go_string(), spec),
            'q' => pad(out, &quote(&o.go_string()), spec),
            _ => bad_verb(out, v, verb),
        },
    }
}

/// Verbs every value accepts element-wise inside collections.
fn is_value_verb(verb: char) -> bool {
    matches!(
        verb,
        'v' | 'd' | 't' | 'e' | 'E' | 'f' | 'F' | 'g' | 'G' | 'o' | 'O' | 'b' | 'c' | 'U'
    )
}

fn write_int(out: &mut String, v: &Value, neg: bool, mag: u64, spec: &Spec) {
    let (digits, prefix) = match spec.verb {
        'v' | 'd' => (mag.to_string(), ""),
        'x' => (format!("{mag:x}"), if spec.sharp { "0x" } else { "" }),
        'X' => (format!("{mag:X}"), if spec.sharp { "0X" } else { "" }),
        'o' => (format!("{mag:o}"), if spec.sharp { "0" } else { "" }),
        'O' => (format!("{mag:o}"), "0o"),
        'b' => (format!("{mag:b}"), ""),
        'c' => {
            let ch = char::from_u32(mag as u32).unwrap_or('\u{FFFD}');
            pad(out, &ch.to_string(), spec);
            return;
        }
        'q' => {
            let ch = char::from_u32(mag as u32).unwrap_or('\u{FFFD}');
            pad(out, &quote_rune(ch), spec);
            return;
        }
        'U' => {
            let s = format!("U+{mag:04X}");
            pad(out, &s, spec);
            return;
        }
        'e' | 'E' | 'f' | 'F' | 'g' | 'G' | 's' | 't' => {
            bad_verb(out, v, spec.verb);
            return;
        }
        _ => {
            bad_verb(out, v, spec.verb);
            return;
        }
    };
    let mut digits = digits;
    if let Some(p) = spec.prec {
        if p == 0 && mag == 0 {
            digits.clear();
        } else if digits.len() < p {
            digits = "0".repeat(p - digits.len()) + &digits;
        }
    }
    let sign = if neg {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    };
    let s = format!("{sign}{prefix}{digits}");
    if spec.prec.is_some() {
        // Go ignores the zero flag when a precision is given for integers.
        pad(out, &s, spec);
    } else {
        pad_number(out, &s, spec);
    }
}

fn write_float(out: &mut String, v: &Value, f: f64, spec: &Spec) {
    let prec = spec.prec.map(|p| p as i32).unwrap_or(-1);
    let body = match spec.verb {
        'v' => format_float(f, 'g', prec),
        'g' | 'G' | 'e' | 'E' | 'f' | 'F' => {
            let p = if matches!(spec.verb, 'e' | 'E' | 'f' | 'F') && prec < 0 {
                6
            } else {
                prec
            };
            format_float(f, spec.verb, p)
        }
        _ => {
            bad_verb(out, v, spec.verb);
            return;
        }
    };
    let body = if spec.plus && !body.starts_with('-') && !body.starts_with('+') {
        format!("+{body}")
    } else if spec.space && !body.starts_with('-') && !body.starts_with('+') {
        format!(" {body}")
    } else {
        body
    };
    if f.is_finite() {
        pad_number(out, &body, spec);
    } else {
        pad(out, &body, spec);
    }
}

fn write_string(out: &mut String, v: &Value, s: &str, spec: &Spec) {
    match spec.verb {
        'v' | 's' => {
            let s = truncate(s, spec.prec);
            pad(out, s, spec);
        }
        'q' => {
            let s = truncate(s, spec.prec);
            let q = if spec.sharp
                && !s.contains('`')
                && s.chars().all(|c| c != '\n' && !c.is_control())
            {
                format!("`{s}`")
            } else {
                quote(s)
            };
            pad(out, &q, spec);
        }
        'x' | 'X' => {
            let s = truncate(s, spec.prec);
            let mut hex = String::new();
            for (n, b) in s.bytes().enumerate() {
                if spec.space && n > 0 {
                    hex.push(' ');
                }
                if spec.sharp && (spec.space || n == 0) {
                    hex.push_str(if spec.verb == 'x' { "0x" } else { "0X" });
                }
                if spec.verb == 'x' {
                    hex.push_str(&format!("{b:02x}"));
                } else {
                    hex.push_str(&format!("{b:02X}"));
                }
            }
            pad(out, &hex, spec);
        }
        _ => bad_verb(out, v, spec.verb),
    }
}

fn truncate(s: &str, prec: Option<usize>) -> &str {
    match prec {
        Some(p) => match s.char_indices().nth(p) {
            Some((idx, _)) => &s[..idx],
            None => s,
        },
        None => s,
    }
}

/// Go's `strconv.FormatFloat(f, fmt, prec, 64)` for `fmt` in `e E f F g G` (`F` as `f`); `prec < 0`
/// means the shortest representation that round-trips.
pub fn format_float(f: f64, fmt: char, prec: i32) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let neg = f.is_sign_negative();
    let a = f.abs();
    let mut s = String::new();
    if neg {
        s.push('-');
    }
    match fmt {
        'f' | 'F' => {
            if prec < 0 {
                let (digits, dp) = shortest_digits(a);
                s.push_str(&fixed_from_digits(&digits, dp, None));
            } else {
                s.push_str(&format!("{:.*}", prec as usize, a));
            }
        }
        'e' | 'E' => {
            let (digits, dp) = if prec < 0 {
                shortest_digits(a)
            } else {
                rounded_digits(a, prec as usize + 1)
            };
            let frac = if prec < 0 {
                digits.len().saturating_sub(1)
            } else {
                prec as usize
            };
            s.push_str(&exp_from_digits(&digits, dp, frac, fmt == 'E'));
        }
        _ => {
            // 'g' / 'G'
            let shortest = prec < 0;
            let (mut digits, dp) = if shortest {
                shortest_digits(a)
            } else {
                let p = if prec == 0 { 1 } else { prec as usize };
                let (d, dp) = rounded_digits(a, p);
                (d.trim_end_matches('0').to_string(), dp)
            };
            if digits.is_empty() {
                digits.push('0');
            }
            let nd = digits.len() as i32;
            let mut eprec = if shortest { nd } else { prec.max(1) };
            if !shortest && eprec > nd && nd >= dp {
                eprec = nd;
            }
            if shortest {
                eprec = 6;
            }
            let exp = dp - 1;
            if exp < -4 || exp >= eprec {
                let mut p = if shortest { nd } else { prec.max(1) };
                if p > nd {
                    p = nd;
                }
                s.push_str(&exp_from_digits(
                    &digits,
                    dp,
                    (p - 1).max(0) as usize,
                    fmt == 'G',
                ));
            } else {
                let mut p = if shortest { nd } else { prec.max(1) };
                if p > dp {
                    p = nd;
                }
                s.push_str(&fixed_from_digits(
                    &digits,
                    dp,
                    Some((p - dp).max(0) as usize),
                ));
            }
        }
    }
    s
}

/// Shortest round-trip decimal digits of `a >= 0` (no trailing zeros) and the decimal point
/// position (`0.123` has dp 0, `12.3` dp 2).
fn shortest_digits(a: f64) -> (String, i32) {
    if a == 0.0 {
        return ("0".into(), 1);
    }
    split_exp(&format!("{a:e}"))
}

/// `n` significant digits of `a`, correctly rounded, with the decimal point position.
fn rounded_digits(a: f64, n: usize) -> (String, i32) {
    if a == 0.0 {
        return ("0".repeat(n.max(1)), 1);
    }
    split_exp(&format!("{:.*e}", n.saturating_sub(1), a))
}

/// Split Rust's `d.ddde±x` into digits and decimal point position.
fn split_exp(s: &str) -> (String, i32) {
    let (mant, exp) = s.split_once('e').unwrap_or((s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let digits = if digits.trim_end_matches('0').is_empty() {
        "0".to_string()
    } else {
        digits
    };
    (digits, exp + 1)
}

/// Go's `fmtE`: `d.ddde±dd` with `frac` digits after the point.
fn exp_from_digits(digits: &str, dp: i32, frac: usize, upper: bool) -> String {
    let bytes: Vec<char> = digits.chars().collect();
    let mut s = String::new();
    s.push(bytes.first().copied().unwrap_or('0'));
    if frac > 0 {
        s.push('.');
        for i in 1..=frac {
            s.push(bytes.get(i).copied().unwrap_or('0'));
        }
    }
    s.push(if upper { 'E' } else { 'e' });
    let exp = if digits == "0" { 0 } else { dp - 1 };
    s.push(if exp < 0 { '-' } else { '+' });
    let e = exp.unsigned_abs();
    if e < 10 {
        s.push('0');
    }
    s.push_str(&e.to_string());
    s
}

/// Go's `fmtF`: integer part, then `frac` digits (all remaining digits when `None`).
fn fixed_from_digits(digits: &str, dp: i32, frac: Option<usize>) -> String {
    let bytes: Vec<char> = digits.chars().collect();
    let mut s = String::new();
    if dp > 0 {
        for i in 0..dp as usize {
            s.push(bytes.get(i).copied().unwrap_or('0'));
        }
    } else {
        s.push('0');
    }
    let frac = frac.unwrap_or_else(|| (bytes.len() as i32 - dp).max(0) as usize);
    if frac > 0 {
        s.push('.');
        for i in 0..frac as i32 {
            let idx = dp + i;
            let c = if idx < 0 {
                '0'
            } else {
                bytes.get(idx as usize).copied().unwrap_or('0')
            };
            s.push(c);
        }
    }
    s
}

/// Go's `strconv.Quote`: a double-quoted Go string literal.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        push_escaped(&mut out, c, '"');
    }
    out.push('"');
    out
}

/// Go's `strconv.QuoteRune`.
pub fn quote_rune(c: char) -> String {
    let mut out = String::from("'");
    push_escaped(&mut out, c, '\'');
    out.push('\'');
    out
}

fn push_escaped(out: &mut String, c: char, quote_char: char) {
    match c {
        '\x07' => out.push_str("\\a"),
        '\x08' => out.push_str("\\b"),
        '\x0c' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\x0b' => out.push_str("\\v"),
        '\\' => out.push_str("\\\\"),
        c if c == quote_char => {
            out.push('\\');
            out.push(c);
        }
        c if (c as u32) < 0x20 || c as u32 == 0x7f => {
            out.push_str(&format!("\\x{:02x}", c as u32));
        }
        c if is_go_printable(c) => out.push(c),
        c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
        c => out.push_str(&format!("\\U{:08x}", c as u32)),
    }
}

/// An approximation of Go's `strconv.IsPrint`: letters, marks, numbers, punctuation, symbols and
/// the ASCII space; not controls, format characters, separators other than U+0020, or private use.
fn is_go_printable(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    let u = c as u32;
    // Format characters (Cf) commonly met, private use, surrogates/noncharacters.
    !matches!(u,
        0xAD | 0x600..=0x605 | 0x61C | 0x6DD | 0x70F | 0x180E | 0x200B..=0x200F | 0x202A..=0x202E
        | 0x2060..=0x206F | 0xFEFF | 0xFFF9..=0xFFFB | 0xE000..=0xF8FF | 0xFFFE | 0xFFFF
        | 0xF0000..=0x10FFFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_like_go_v() {
        assert_eq!(sprint(&Value::Float(1e6)), "1e+06");
        assert_eq!(sprint(&Value::Float(100000.0)), "100000");
        assert_eq!(sprint(&Value::Float(1.5)), "1.5");
        assert_eq!(sprint(&Value::Float(0.0001)), "0.0001");
        assert_eq!(sprint(&Value::Float(0.00001)), "1e-05");
        assert_eq!(sprint(&Value::Float(123456789.0)), "1.23456789e+08");
        assert_eq!(sprint(&Value::Float(-0.0)), "-0");
        assert_eq!(sprint(&Value::Float(3.0)), "3");
    }

    #[test]
    fn sprintf_verbs() {
        let args = [Value::Int(5), Value::str("ab"), Value::Float(3.14159)];
        assert_eq!(sprintf("%03d|%-4s|%.2f", &args), "005|ab  |3.14");
        assert_eq!(sprintf("%d", &[Value::str("x")]), "%!d(string=x)");
        assert_eq!(sprintf("%s %s", &[Value::str("x")]), "x %!s(MISSING)");
        assert_eq!(
            sprintf("%s", &[Value::str("x"), Value::Int(1)]),
            "x%!(EXTRA int=1)"
        );
        assert_eq!(sprintf("%q", &[Value::str("a\"b\n")]), "\"a\\\"b\\n\"");
        assert_eq!(sprintf("%x", &[Value::Int(255)]), "ff");
        assert_eq!(sprintf("%5.1f%%", &[Value::Float(9.96)]), " 10.0%");
        assert_eq!(sprintf("%e", &[Value::Float(1234.5678)]), "1.234568e+03");
        assert_eq!(sprintf("%g", &[Value::Float(1e21)]), "1e+21");
        assert_eq!(sprintf("%.3g", &[Value::Float(1234.5678)]), "1.23e+03");
        assert_eq!(sprintf("%T %T", &[Value::Int(1), Value::Nil]), "int <nil>");
        assert_eq!(sprintf("%v", &[Value::Nil]), "<nil>");
        assert_eq!(
            sprintf("%+d %x", &[Value::Int(3), Value::str("hi")]),
            "+3 6869"
        );
    }

    #[test]
    fn collections() {
        let l = Value::list(vec![Value::Int(1), Value::str("a"), Value::Nil]);
        assert_eq!(sprint(&l), "[1 a <nil>]");
        let mut m = std::collections::BTreeMap::new();
        m.insert("b".to_string(), Value::Int(2));
        m.insert("a".to_string(), Value::Float(1.0));
        assert_eq!(sprint(&Value::map(m)), "map[a:1 b:2]");
        assert_eq!(
            sprint_args(&[Value::Int(1), Value::Int(2), Value::str("x"), Value::Int(3)]),
            "1 2x3"
        );
        assert_eq!(sprintln(&[Value::str("a"), Value::Int(1)]), "a 1\n");
    }
}
