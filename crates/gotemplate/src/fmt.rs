//! Go's `fmt` printing rules for template values: `%v` rendering ([`sprint`]), `fmt.Sprint` /
//! `fmt.Sprintln` operand spacing, `fmt.Sprintf` with all of Go's verbs that apply to template
//! values (`%v %+v %#v %s %d %q %x %X %o %O %b %c %U %e %E %f %F %g %G %t %T %%`), width,
//! precision, `*`, `[n]` argument indexes and the `+ - # 0 space` flags, and `strconv`'s float
//! and quoting rules that Go's printing builds on.
//!
//! The printer follows the structure of Go's `fmt` (`printArg`, `printValue`, `fmtInteger`,
//! `fmtFloat`, `badVerb`…) because its output in odd corners (bad verbs inside maps, padding of
//! each element) is part of what charts print. Bad verbs and argument mismatches are not errors
//! in Go: they print `%!d(string=x)`, `%!s(MISSING)` and `%!(EXTRA int=1)`, and so does this module.

use crate::gostr;
use crate::value::Value;

/// Go's `fmt.Sprint(v)` of one value, i.e. `%v`: `<nil>`, `map[a:1 b:2]`, `[1 2]`, floats like
/// `strconv.FormatFloat(f, 'g', -1, 64)`.
pub fn sprint(v: &Value) -> String {
    let mut p = Printer::default();
    p.print_arg(v, 'v');
    p.finish_text()
}

/// [`sprint`] as a Go string: the bytes of non-UTF-8 strings it prints are kept.
pub fn sprint_value(v: &Value) -> Value {
    let mut p = Printer::default();
    p.print_arg(v, 'v');
    p.finish_value()
}

/// Go's `fmt.Sprint(args...)`: operands concatenated, with a space between two operands when
/// neither is a string.
pub fn sprint_args(args: &[Value]) -> String {
    printer_sprint(args).finish_text()
}

/// [`sprint_args`] as a Go string (bytes of non-UTF-8 operands kept).
pub fn sprint_args_value(args: &[Value]) -> Value {
    printer_sprint(args).finish_value()
}

fn printer_sprint(args: &[Value]) -> Printer {
    let mut p = Printer::default();
    let mut prev_string = false;
    for (i, arg) in args.iter().enumerate() {
        let is_string = arg.is_string();
        if i > 0 && !is_string && !prev_string {
            p.buf.push(' ');
        }
        p.print_arg(arg, 'v');
        prev_string = is_string;
    }
    p
}

/// Go's `fmt.Sprintln(args...)`: operands separated by spaces, then a newline.
pub fn sprintln(args: &[Value]) -> String {
    printer_sprintln(args).finish_text()
}

/// [`sprintln`] as a Go string (bytes of non-UTF-8 operands kept).
pub fn sprintln_value(args: &[Value]) -> Value {
    printer_sprintln(args).finish_value()
}

fn printer_sprintln(args: &[Value]) -> Printer {
    let mut p = Printer::default();
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            p.buf.push(' ');
        }
        p.print_arg(arg, 'v');
    }
    p.buf.push('\n');
    p
}

/// Go's `fmt.Sprintf(format, args...)`.
pub fn sprintf(format: &str, args: &[Value]) -> String {
    let mut p = Printer::default();
    p.do_printf(format, args);
    p.finish_text()
}

/// [`sprintf_value`] with a format that is not UTF-8: its bytes reach the output unchanged.
pub fn sprintf_bytes_format(format: &[u8], args: &[Value]) -> Value {
    let mut p = Printer {
        escaped: true,
        ..Printer::default()
    };
    p.do_printf(&gostr::escape(format), args);
    p.finish_value()
}

/// [`sprintf`] as a Go string: `%s` of a non-UTF-8 string writes its bytes, as Go does.
pub fn sprintf_value(format: &str, args: &[Value]) -> Value {
    let mut p = Printer::default();
    p.do_printf(format, args);
    p.finish_value()
}

/// Formatting flags of one directive (Go's `fmt.fmtFlags` plus width and precision).
#[derive(Clone, Copy, Default)]
struct Flags {
    wid: usize,
    wid_present: bool,
    prec: usize,
    prec_present: bool,
    minus: bool,
    plus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    plus_v: bool,
    sharp_v: bool,
}

#[derive(Default)]
struct Printer {
    /// Output; non-UTF-8 string operands are written escaped (see [`crate::gostr`]).
    buf: String,
    f: Flags,
    reordered: bool,
    good_arg_num: bool,
    /// Whether `buf` holds escaped bytes.
    escaped: bool,
}

impl Printer {
    /// The output as text: escaped bytes read as U+FFFD, except for a caller that works on
    /// escaped text (see [`gostr::escaping`]), which gets them escaped.
    fn finish_text(self) -> String {
        if self.escaped && !gostr::escaping() {
            gostr::escaped_to_lossy(self.buf)
        } else {
            self.buf
        }
    }

    /// The output as a Go string, escaped bytes restored.
    fn finish_value(self) -> Value {
        if self.escaped {
            gostr::from_escaped(self.buf)
        } else {
            Value::String(self.buf.into())
        }
    }
}

/// Go's `tooLarge` bound for widths and precisions.
const MAX_NUM: usize = 1_000_000;

/// Go's `parsenum`: digits at `start`, or `None` past the bound.
fn parse_num(s: &[u8], start: usize) -> (usize, bool, usize) {
    let mut i = start;
    let mut num = 0usize;
    let mut isnum = false;
    while i < s.len() && s[i].is_ascii_digit() {
        if num > MAX_NUM {
            return (0, false, s.len());
        }
        num = num * 10 + (s[i] - b'0') as usize;
        isnum = true;
        i += 1;
    }
    (num, isnum, i)
}

/// Go's `parseArgNumber` on `s` starting with `[`: (index, bytes consumed, ok).
fn parse_arg_number(s: &[u8]) -> (usize, usize, bool) {
    if s.len() < 3 {
        return (0, 1, false);
    }
    for i in 1..s.len() {
        if s[i] == b']' {
            let (width, ok, newi) = parse_num(&s[..i], 1);
            if !ok || newi != i || width == 0 {
                return (0, i + 1, false);
            }
            return (width - 1, i + 1, true);
        }
    }
    (0, 1, false)
}

/// Go's `intFromArg`: an int argument for `*` width/precision.
fn int_from_arg(args: &[Value], arg_num: usize) -> (isize, bool, usize) {
    if arg_num >= args.len() {
        return (0, false, arg_num);
    }
    let n = match &args[arg_num] {
        Value::Int(i) | Value::Int64(i) => Some(*i),
        Value::Uint(u) => i64::try_from(*u).ok(),
        _ => None,
    };
    match n {
        Some(n) if n.unsigned_abs() <= MAX_NUM as u64 => (n as isize, true, arg_num + 1),
        _ => (0, false, arg_num + 1),
    }
}

impl Printer {
    fn arg_number(
        &mut self,
        arg_num: usize,
        fmt: &[u8],
        i: usize,
        num_args: usize,
    ) -> (usize, usize, bool) {
        if i >= fmt.len() || fmt[i] != b'[' {
            return (arg_num, i, false);
        }
        self.reordered = true;
        let (index, wid, ok) = parse_arg_number(&fmt[i..]);
        if ok && index < num_args {
            return (index, i + wid, true);
        }
        self.good_arg_num = false;
        (arg_num, i + wid, ok)
    }

    fn do_printf(&mut self, format: &str, args: &[Value]) {
        let fmt = format.as_bytes();
        let end = fmt.len();
        let mut arg_num = 0usize;
        let mut after_index;
        self.reordered = false;
        let mut i = 0;
        'format: while i < end {
            self.good_arg_num = true;
            let lasti = i;
            while i < end && fmt[i] != b'%' {
                i += 1;
            }
            if i > lasti {
                self.buf.push_str(&format[lasti..i]);
            }
            if i >= end {
                break;
            }
            i += 1;
            self.f = Flags::default();
            while i < end {
                match fmt[i] {
                    b'#' => self.f.sharp = true,
                    b'0' => self.f.zero = true,
                    b'+' => self.f.plus = true,
                    b'-' => self.f.minus = true,
                    b' ' => self.f.space = true,
                    c => {
                        if c.is_ascii_lowercase() && arg_num < args.len() {
                            if c == b'v' || c == b'w' {
                                self.f.sharp_v = self.f.sharp;
                                self.f.sharp = false;
                                self.f.plus_v = self.f.plus;
                                self.f.plus = false;
                            }
                            self.print_arg(&args[arg_num], c as char);
                            arg_num += 1;
                            i += 1;
                            continue 'format;
                        }
                        break;
                    }
                }
                i += 1;
            }
            (arg_num, i, after_index) = self.arg_number(arg_num, fmt, i, args.len());
            if i < end && fmt[i] == b'*' {
                i += 1;
                let (w, ok, n) = int_from_arg(args, arg_num);
                arg_num = n;
                self.f.wid_present = ok;
                if !ok {
                    self.buf.push_str("%!(BADWIDTH)");
                }
                if w < 0 {
                    self.f.minus = true;
                    self.f.zero = false;
                }
                self.f.wid = w.unsigned_abs();
                after_index = false;
            } else {
                let (w, ok, ni) = parse_num(fmt, i);
                self.f.wid = w;
                self.f.wid_present = ok;
                i = ni;
                if after_index && ok {
                    self.good_arg_num = false;
                }
            }
            if i + 1 < end && fmt[i] == b'.' {
                i += 1;
                if after_index {
                    self.good_arg_num = false;
                }
                (arg_num, i, after_index) = self.arg_number(arg_num, fmt, i, args.len());
                if i < end && fmt[i] == b'*' {
                    i += 1;
                    let (p, ok, n) = int_from_arg(args, arg_num);
                    arg_num = n;
                    self.f.prec_present = ok && p >= 0;
                    self.f.prec = p.max(0) as usize;
                    if !self.f.prec_present {
                        self.buf.push_str("%!(BADPREC)");
                    }
                    after_index = false;
                } else {
                    let (p, ok, ni) = parse_num(fmt, i);
                    i = ni;
                    self.f.prec = if ok { p } else { 0 };
                    self.f.prec_present = true;
                }
            }
            if !after_index {
                (arg_num, i, _) = self.arg_number(arg_num, fmt, i, args.len());
            }
            if i >= end {
                self.buf.push_str("%!(NOVERB)");
                break;
            }
            let verb = format[i..].chars().next().unwrap_or('?');
            i += verb.len_utf8();
            if verb == '%' {
                self.buf.push('%');
            } else if !self.good_arg_num {
                self.buf.push_str("%!");
                self.buf.push(verb);
                self.buf.push_str("(BADINDEX)");
            } else if arg_num >= args.len() {
                self.buf.push_str("%!");
                self.buf.push(verb);
                self.buf.push_str("(MISSING)");
            } else {
                if verb == 'v' || verb == 'w' {
                    self.f.sharp_v = self.f.sharp;
                    self.f.sharp = false;
                    self.f.plus_v = self.f.plus;
                    self.f.plus = false;
                }
                self.print_arg(&args[arg_num], verb);
                arg_num += 1;
            }
        }
        if !self.reordered && arg_num < args.len() {
            self.f = Flags::default();
            self.buf.push_str("%!(EXTRA ");
            for (n, arg) in args[arg_num..].iter().enumerate() {
                if n > 0 {
                    self.buf.push_str(", ");
                }
                if arg.is_nil() {
                    self.buf.push_str("<nil>");
                } else {
                    self.buf.push_str(&arg.type_name());
                    self.buf.push('=');
                    self.print_arg(arg, 'v');
                }
            }
            self.buf.push(')');
        }
    }

    // ---- padding (Go's fmt.pad / writePadding) ----

    fn write_padding(&mut self, n: isize) {
        if n <= 0 {
            return;
        }
        let c = if self.f.zero && !self.f.minus {
            '0'
        } else {
            ' '
        };
        self.buf.extend(std::iter::repeat_n(c, n as usize));
    }

    fn pad(&mut self, s: &str) {
        if !self.f.wid_present || self.f.wid == 0 {
            self.buf.push_str(s);
            return;
        }
        let width = self.f.wid as isize - s.chars().count() as isize;
        if !self.f.minus {
            self.write_padding(width);
            self.buf.push_str(s);
        } else {
            self.buf.push_str(s);
            self.write_padding(width);
        }
    }

    /// `pad` with the zero flag off (Go does this for integers, `%U`, infinities).
    fn pad_no_zero(&mut self, s: &str) {
        let old = self.f.zero;
        self.f.zero = false;
        self.pad(s);
        self.f.zero = old;
    }

    fn truncate<'s>(&self, s: &'s str) -> &'s str {
        if self.f.prec_present
            && let Some((i, _)) = s.char_indices().nth(self.f.prec)
        {
            return &s[..i];
        }
        s
    }

    // ---- print.go ----

    fn print_arg(&mut self, v: &Value, verb: char) {
        if v.is_nil() {
            match verb {
                'T' | 'v' => self.pad("<nil>"),
                _ => self.bad_verb(v, verb),
            }
            return;
        }
        if verb == 'T' {
            let t = v.type_name();
            self.fmt_s(&t);
            return;
        }
        // Template values are never pointers or errors: `%p` and `%w` are bad verbs for the
        // whole argument (Go prints an address for maps and slices, which is not reproducible).
        if verb == 'p' || verb == 'w' {
            self.bad_verb(v, verb);
            return;
        }
        self.print_value(v, verb, 0);
    }

    fn bad_verb(&mut self, v: &Value, verb: char) {
        self.buf.push_str("%!");
        self.buf.push(verb);
        self.buf.push('(');
        if v.is_nil() {
            self.buf.push_str("<nil>");
        } else {
            self.buf.push_str(&v.type_name());
            self.buf.push('=');
            self.print_arg(v, 'v');
        }
        self.buf.push(')');
    }

    fn print_value(&mut self, v: &Value, verb: char, depth: usize) {
        match v {
            Value::Nil => {
                // A nil interface inside a collection.
                if self.f.sharp_v {
                    self.buf.push_str("interface {}(nil)");
                } else if depth == 0 {
                    self.print_arg(v, verb);
                } else {
                    self.buf.push_str("<nil>");
                }
            }
            Value::Bool(b) => match verb {
                't' | 'v' => self.pad(if *b { "true" } else { "false" }),
                _ => self.bad_verb(v, verb),
            },
            Value::Int(i) | Value::Int64(i) => self.fmt_integer_verb(v, *i as u64, true, verb),
            Value::Uint(u) => self.fmt_integer_verb(v, *u, false, verb),
            Value::Float(f) => self.fmt_float_verb(v, *f, verb),
            Value::String(s) => match verb {
                'v' => {
                    if self.f.sharp_v {
                        self.fmt_q(s)
                    } else {
                        self.fmt_s(s)
                    }
                }
                's' => self.fmt_s(s),
                'x' => self.fmt_sx(s.as_bytes(), false),
                'X' => self.fmt_sx(s.as_bytes(), true),
                'q' => self.fmt_q(s),
                _ => self.bad_verb(v, verb),
            },
            Value::Binary(b) => match verb {
                'v' | 's' | 'q' => {
                    // Written escaped, restored by `finish_value`; quoting and precision then
                    // count each invalid byte as one rune, as Go does.
                    let e = gostr::escape(b);
                    self.escaped = true;
                    if verb == 'q' || self.f.sharp_v {
                        gostr::with_escaping(|| self.fmt_q(&e));
                    } else {
                        self.fmt_s(&e);
                    }
                }
                'x' => self.fmt_sx(b, false),
                'X' => self.fmt_sx(b, true),
                _ => self.bad_verb(v, verb),
            },
            Value::Map(m) => {
                if self.f.sharp_v {
                    self.buf.push_str("map[string]interface {}{");
                } else {
                    self.buf.push_str("map[");
                }
                for (n, (key, val)) in m.borrow().iter().enumerate() {
                    if n > 0 {
                        self.buf.push_str(if self.f.sharp_v { ", " } else { " " });
                    }
                    self.print_value(&Value::str(key.as_str()), verb, depth + 1);
                    self.buf.push(':');
                    self.print_value(val, verb, depth + 1);
                }
                self.buf.push(if self.f.sharp_v { '}' } else { ']' });
            }
            Value::List(l) => {
                if self.f.sharp_v {
                    self.buf.push_str("[]interface {}{");
                } else {
                    self.buf.push('[');
                }
                for (n, item) in l.borrow().iter().enumerate() {
                    if n > 0 {
                        self.buf.push_str(if self.f.sharp_v { ", " } else { " " });
                    }
                    self.print_value(item, verb, depth + 1);
                }
                self.buf.push(if self.f.sharp_v { '}' } else { ']' });
            }
            Value::Object(o) => {
                if let Some(c) = o.as_any().downcast_ref::<crate::literal::Complex>() {
                    self.fmt_complex(v, c.0, c.1, verb);
                    return;
                }
                // A []byte is text to %s, %q and %x.
                if let Some(b) = o.as_bytes()
                    && matches!(verb, 's' | 'q' | 'x' | 'X')
                {
                    let s = Value::from_go_slice(b);
                    self.print_value(&s, verb, depth);
                    return;
                }
                // Objects print through their String method, as Go's Stringer handling does.
                match verb {
                    'v' | 's' | 'x' | 'X' | 'q' => {
                        let s = Value::from(o.go_string());
                        self.print_value(&s, verb, depth);
                    }
                    _ => self.bad_verb(v, verb),
                }
            }
        }
    }

    fn fmt_integer_verb(&mut self, v: &Value, u: u64, signed: bool, verb: char) {
        match verb {
            'v' => {
                if self.f.sharp_v && !signed {
                    let old = self.f.sharp;
                    self.f.sharp = true;
                    self.fmt_integer(u, 16, signed, 'v', false);
                    self.f.sharp = old;
                } else {
                    self.fmt_integer(u, 10, signed, verb, false)
                }
            }
            'd' => self.fmt_integer(u, 10, signed, verb, false),
            'b' => self.fmt_integer(u, 2, signed, verb, false),
            'o' | 'O' => self.fmt_integer(u, 8, signed, verb, false),
            'x' => self.fmt_integer(u, 16, signed, verb, false),
            'X' => self.fmt_integer(u, 16, signed, verb, true),
            'c' => {
                let c = char::from_u32(u as u32)
                    .filter(|_| u <= 0x10FFFF)
                    .unwrap_or('\u{FFFD}');
                self.pad(&c.to_string());
            }
            'q' => {
                let c = char::from_u32(u as u32)
                    .filter(|_| u <= 0x10FFFF)
                    .unwrap_or('\u{FFFD}');
                let q = if self.f.plus {
                    quote_rune_ascii(c)
                } else {
                    quote_rune(c)
                };
                self.pad(&q);
            }
            'U' => self.fmt_unicode(u),
            _ => self.bad_verb(v, verb),
        }
    }

    /// Go's `fmt.fmtInteger`.
    fn fmt_integer(&mut self, u: u64, base: u32, signed: bool, verb: char, upper: bool) {
        let negative = signed && (u as i64) < 0;
        let mag = if negative {
            (u as i64).unsigned_abs()
        } else {
            u
        };
        let mut prec = 0usize;
        if self.f.prec_present {
            prec = self.f.prec;
            if prec == 0 && mag == 0 {
                let old = self.f.zero;
                self.f.zero = false;
                self.write_padding(self.f.wid as isize);
                self.f.zero = old;
                return;
            }
        } else if self.f.zero && !self.f.minus && self.f.wid_present {
            prec = self.f.wid;
            if negative || self.f.plus || self.f.space {
                prec = prec.saturating_sub(1);
            }
        }
        let mut digits = match base {
            2 => format!("{mag:b}"),
            8 => format!("{mag:o}"),
            16 if upper => format!("{mag:X}"),
            16 => format!("{mag:x}"),
            _ => mag.to_string(),
        };
        if digits.len() < prec {
            digits = "0".repeat(prec - digits.len()) + &digits;
        }
        let mut s = String::new();
        if negative {
            s.push('-');
        } else if self.f.plus {
            s.push('+');
        } else if self.f.space {
            s.push(' ');
        }
        if self.f.sharp {
            match base {
                2 => s.push_str("0b"),
                8 if !digits.starts_with('0') => s.push('0'),
                16 => s.push_str(if upper { "0X" } else { "0x" }),
                _ => {}
            }
        }
        if verb == 'O' {
            s.push_str("0o");
        }
        s.push_str(&digits);
        self.pad_no_zero(&s);
    }

    fn fmt_unicode(&mut self, u: u64) {
        let mut prec = 4;
        if self.f.prec_present && self.f.prec > 4 {
            prec = self.f.prec;
        }
        let hex = format!("{u:X}");
        let mut s = String::from("U+");
        if hex.len() < prec {
            s.push_str(&"0".repeat(prec - hex.len()));
        }
        s.push_str(&hex);
        if self.f.sharp
            && let Some(c) = char::from_u32(u as u32)
            && u <= 0x10FFFF
            && is_go_printable(c)
        {
            s.push_str(&format!(" '{c}'"));
        }
        self.pad_no_zero(&s);
    }

    fn fmt_s(&mut self, s: &str) {
        let s = self.truncate(s);
        self.pad(s);
    }

    fn fmt_sx(&mut self, b: &[u8], upper: bool) {
        let mut length = b.len();
        if self.f.prec_present && self.f.prec < length {
            length = self.f.prec;
        }
        let mut width = 2 * length;
        if width > 0 {
            if self.f.space {
                if self.f.sharp {
                    width *= 2;
                }
                width += length - 1;
            } else if self.f.sharp {
                width += 2;
            }
        } else {
            if self.f.wid_present {
                self.write_padding(self.f.wid as isize);
            }
            return;
        }
        if self.f.wid_present && self.f.wid > width && !self.f.minus {
            self.write_padding((self.f.wid - width) as isize);
        }
        let x = if upper { "0X" } else { "0x" };
        if self.f.sharp {
            self.buf.push_str(x);
        }
        for (i, c) in b.iter().take(length).enumerate() {
            if self.f.space && i > 0 {
                self.buf.push(' ');
                if self.f.sharp {
                    self.buf.push_str(x);
                }
            }
            if upper {
                self.buf.push_str(&format!("{c:02X}"));
            } else {
                self.buf.push_str(&format!("{c:02x}"));
            }
        }
        if self.f.wid_present && self.f.wid > width && self.f.minus {
            self.write_padding((self.f.wid - width) as isize);
        }
    }

    fn fmt_q(&mut self, s: &str) {
        let s = self.truncate(s);
        if self.f.sharp && can_backquote(s) {
            let q = format!("`{s}`");
            self.pad(&q);
            return;
        }
        let q = if self.f.plus {
            quote_ascii(s)
        } else {
            quote(s)
        };
        self.pad(&q);
    }

    fn fmt_float_verb(&mut self, v: &Value, f: f64, verb: char) {
        match verb {
            'v' => self.fmt_float(f, 'g', -1),
            'b' | 'g' | 'G' | 'x' | 'X' => self.fmt_float(f, verb, -1),
            'f' | 'e' | 'E' => self.fmt_float(f, verb, 6),
            'F' => self.fmt_float(f, 'f', 6),
            _ => self.bad_verb(v, verb),
        }
    }

    fn fmt_complex(&mut self, v: &Value, re: f64, im: f64, verb: char) {
        match verb {
            'v' | 'b' | 'g' | 'G' | 'x' | 'X' | 'f' | 'F' | 'e' | 'E' => {
                let old_plus = self.f.plus;
                self.buf.push('(');
                self.fmt_float_verb(v, re, verb);
                self.f.plus = true;
                self.fmt_float_verb(v, im, verb);
                self.buf.push_str("i)");
                self.f.plus = old_plus;
            }
            _ => self.bad_verb(v, verb),
        }
    }

    /// Go's `fmt.fmtFloat`.
    fn fmt_float(&mut self, v: f64, verb: char, prec: i32) {
        let prec = if self.f.prec_present {
            self.f.prec as i32
        } else {
            prec
        };
        let formatted = format_float(v, verb, prec);
        let mut num: Vec<char> = Vec::with_capacity(formatted.len() + 1);
        if formatted.starts_with(['-', '+']) {
            num.extend(formatted.chars());
        } else {
            num.push('+');
            num.extend(formatted.chars());
        }
        if self.f.space && num[0] == '+' && !self.f.plus {
            num[0] = ' ';
        }
        if num.get(1) == Some(&'I') || num.get(1) == Some(&'N') {
            if num[1] == 'N' && !self.f.space && !self.f.plus {
                num.remove(0);
            }
            let s: String = num.into_iter().collect();
            self.pad_no_zero(&s);
            return;
        }
        if self.f.sharp && verb != 'b' {
            let mut digits: i32 = match verb {
                'v' | 'g' | 'G' | 'x' => {
                    if prec == -1 {
                        6
                    } else {
                        prec
                    }
                }
                _ => 0,
            };
            let mut tail: Vec<char> = Vec::new();
            let mut has_point = false;
            let mut saw_nonzero = false;
            let mut i = 1;
            while i < num.len() {
                match num[i] {
                    '.' => has_point = true,
                    'p' | 'P' => {
                        tail.extend(num.drain(i..));
                        break;
                    }
                    'e' | 'E' if verb != 'x' && verb != 'X' => {
                        tail.extend(num.drain(i..));
                        break;
                    }
                    c => {
                        if c != '0' {
                            saw_nonzero = true;
                        }
                        if saw_nonzero {
                            digits -= 1;
                        }
                    }
                }
                i += 1;
            }
            if !has_point {
                if num.len() == 2 && num[1] == '0' {
                    digits -= 1;
                }
                num.push('.');
            }
            while digits > 0 {
                num.push('0');
                digits -= 1;
            }
            num.extend(tail);
        }
        let s: String = num.iter().collect();
        if self.f.plus || num[0] != '+' {
            if self.f.zero && !self.f.minus && self.f.wid_present && self.f.wid > num.len() {
                self.buf.push(num[0]);
                self.write_padding((self.f.wid - num.len()) as isize);
                self.buf.push_str(&s[num[0].len_utf8()..]);
                return;
            }
            self.pad(&s);
            return;
        }
        self.pad(&s[1..]);
    }
}

/// Go's `strconv.CanBackquote`.
fn can_backquote(s: &str) -> bool {
    // An escaped invalid byte is invalid UTF-8 to Go, which cannot be backquoted either.
    s.chars().all(|c| {
        c != '`'
            && c != '\u{FFFD}'
            && (c == '\t' || !(c < ' ' || c == '\x7f'))
            && !(gostr::escaped_byte(c).is_some() && gostr::escaping())
    })
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
    if matches!(fmt, 'b' | 'x' | 'X') {
        return format_float_binary(f, fmt, prec);
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

/// `strconv`'s `%b` (`-ddddp±ddd`) and `%x`/`%X` (`-0x1.fffp±dd`, shortest digits) float formats.
fn format_float_binary(f: f64, fmt: char, prec: i32) -> String {
    let bits = f.to_bits();
    let neg = bits >> 63 != 0;
    let mut exp = ((bits >> 52) & 0x7FF) as i64;
    let mut mant = bits & ((1u64 << 52) - 1);
    if exp == 0 {
        exp += 1;
    } else {
        mant |= 1u64 << 52;
    }
    exp -= 1023;
    let mut s = String::new();
    if neg {
        s.push('-');
    }
    if fmt == 'b' {
        let e = exp - 52;
        s.push_str(&format!("{mant}p{}{}", if e >= 0 { "+" } else { "" }, e));
        return s;
    }
    if mant == 0 {
        exp = 0;
    }
    mant <<= 60 - 52;
    while mant != 0 && mant & (1u64 << 60) == 0 {
        mant <<= 1;
        exp -= 1;
    }
    if (0..15).contains(&prec) {
        // Round to `prec` hex digits, half to even, as strconv does.
        let shift = (prec * 4) as u32;
        let extra = (mant << shift) & ((1u64 << 60) - 1);
        mant >>= 60 - shift;
        if extra | (mant & 1) > 1u64 << 59 {
            mant += 1;
        }
        mant <<= 60 - shift;
        if mant & (1u64 << 61) != 0 {
            mant >>= 1;
            exp += 1;
        }
    }
    let upper = fmt == 'X';
    s.push_str(if upper { "0X" } else { "0x" });
    s.push(if (mant >> 60) & 1 == 1 { '1' } else { '0' });
    mant <<= 4;
    let digit = |m: u64| {
        let c = char::from_digit(((m >> 60) & 15) as u32, 16).unwrap_or('0');
        if upper { c.to_ascii_uppercase() } else { c }
    };
    if prec < 0 && mant != 0 {
        s.push('.');
        while mant != 0 {
            s.push(digit(mant));
            mant <<= 4;
        }
    } else if prec > 0 {
        s.push('.');
        for _ in 0..prec {
            s.push(digit(mant));
            mant <<= 4;
        }
    }
    s.push(if upper { 'P' } else { 'p' });
    s.push(if exp < 0 { '-' } else { '+' });
    let e = exp.unsigned_abs();
    if e < 10 {
        s.push('0');
    }
    s.push_str(&e.to_string());
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

/// Go's `strconv.QuoteToASCII`.
pub fn quote_ascii(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        if (c as u32) < 0x80 || (gostr::escaping() && gostr::escaped_byte(c).is_some()) {
            push_escaped(&mut out, c, '"');
        } else if (c as u32) < 0x10000 {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push_str(&format!("\\U{:08x}", c as u32));
        }
    }
    out.push('"');
    out
}

fn quote_rune_ascii(c: char) -> String {
    if (c as u32) < 0x80 {
        return quote_rune(c);
    }
    if (c as u32) < 0x10000 {
        format!("'\\u{:04x}'", c as u32)
    } else {
        format!("'\\U{:08x}'", c as u32)
    }
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
        // An escaped invalid byte (see `crate::gostr`): Go's strconv writes `\xNN`.
        c if gostr::escaped_byte(c).is_some() && gostr::escaping() => {
            out.push_str(&format!("\\x{:02x}", gostr::escaped_byte(c).unwrap_or(0)));
        }
        c if (c as u32) < 0x20 || c as u32 == 0x7f => {
            out.push_str(&format!("\\x{:02x}", c as u32));
        }
        c if is_go_printable(c) => out.push(c),
        c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
        c => out.push_str(&format!("\\U{:08x}", c as u32)),
    }
}

/// Go's `strconv.IsPrint`: letters, marks, numbers, punctuation, symbols and the ASCII space
/// (Unicode 15.0.0, as the Go helm is built with).
pub(crate) fn is_go_printable(c: char) -> bool {
    if c.is_ascii() {
        return (' '..='~').contains(&c);
    }
    crate::printable::is_print(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected texts are Go 1.25's (helm v4.1.4's) `strconv.Quote`.
    #[test]
    fn quote_escapes_exactly_the_runes_go_cannot_print() {
        assert_eq!(quote("\u{FFFE}"), "\"\\ufffe\"");
        assert_eq!(quote("a\u{378}b"), "\"a\\u0378b\"");
        assert_eq!(quote("\u{AD}\u{200B}\u{2028}"), "\"\\u00ad\\u200b\\u2028\"");
        assert_eq!(quote("\u{10FFFF}\u{E000}"), "\"\\U0010ffff\\ue000\"");
        assert_eq!(quote("é\u{3000}中🙂"), "\"é\\u3000中🙂\"");
        assert_eq!(quote_rune('\u{FFFE}'), "'\\ufffe'");
        // Unassigned in Unicode 15.0 (assigned later): escaped, as helm's Go does.
        assert_eq!(quote("\u{1C89}"), "\"\\u1c89\"");
    }

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
        let args = [Value::Int(5), Value::str("ab"), Value::Float(1.23456)];
        assert_eq!(sprintf("%03d|%-4s|%.2f", &args), "005|ab  |1.23");
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
