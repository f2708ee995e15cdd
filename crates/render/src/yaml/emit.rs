//! `toYaml` byte for byte as Helm prints it: `sigs.k8s.io/yaml.Marshal` = `json.Marshal`, then the
//! JSON read back by go-yaml v2 and written by go-yaml v2's emitter (a port of libyaml's).
//!
//! The JSON round trip decides the scalar types (a float `1e6` becomes the integer `1000000`, a
//! float `1234567.5` prints `1.2345675e+06`); go-yaml's key order is its "natural" sort (digit runs
//! compare as numbers); the emitter decides quoting, block scalars and 80-column folding.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::rc::Rc;

use signet_gotemplate::Value;

use super::json::go_json_float;
use super::resolve::{Resolved, is_base60_float, resolve_plain};

const BEST_INDENT: i64 = 2;
const BEST_WIDTH: i64 = 80;

/// Which go-yaml the output should match.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// `sigs.k8s.io/yaml.Marshal` (JSON round trip, go-yaml v2): Helm's `toYaml`.
    HelmToYaml,
    /// go-yaml v3 `Encoder` with `SetIndent(2)` on the raw values: Helm's `toYamlPretty`.
    Pretty,
}

/// A node ready to emit: scalars already carry their text and whether it is a string.
#[derive(Debug)]
enum YNode {
    /// Non-string scalar text (`null`, `true`, `12`, `1.5`), always plain.
    Plain(String),
    /// Shared with the value when the JSON round trip leaves the text as it was (most strings).
    Str(Rc<str>),
    Seq(Vec<YNode>),
    Map(Vec<(String, YNode)>),
}

/// Helm's `toYaml` without the trailing-newline trim: the full `yaml.Marshal` output.
pub fn marshal(v: &Value) -> Result<String, String> {
    marshal_flavor(v, Flavor::HelmToYaml)
}

/// go-yaml output for `v` in the given flavor.
pub fn marshal_flavor(v: &Value, flavor: Flavor) -> Result<String, String> {
    let node = to_node(v, flavor)?;
    let mut e = Emitter::new(flavor);
    e.emit_node(&node, Ctx::ROOT);
    e.document_end();
    Ok(e.out)
}

fn to_node(v: &Value, flavor: Flavor) -> Result<YNode, String> {
    Ok(match v {
        Value::Nil => YNode::Plain("null".into()),
        Value::Bool(b) => YNode::Plain(b.to_string()),
        Value::Int(i) | Value::Int64(i) => YNode::Plain(i.to_string()),
        Value::Uint(u) => YNode::Plain(u.to_string()),
        Value::Float(f) => match flavor {
            Flavor::HelmToYaml => {
                // What go-yaml reads back from the JSON number.
                let json = go_json_float(*f)?;
                match resolve_plain(&json) {
                    Resolved::Int(i) => YNode::Plain(i.to_string()),
                    Resolved::Uint(u) => YNode::Plain(u.to_string()),
                    Resolved::Float(g) => YNode::Plain(yaml_float(g)),
                    _ => YNode::Plain(json),
                }
            }
            Flavor::Pretty => YNode::Plain(yaml_float(*f)),
        },
        Value::String(s) => YNode::Str(match json_round_trip_text(s, flavor)? {
            Cow::Borrowed(_) => s.clone(),
            Cow::Owned(changed) => changed.into(),
        }),
        // Helm marshals through encoding/json, which reads each invalid byte as U+FFFD.
        Value::Binary(b) => {
            YNode::Str(json_round_trip_text(&signet_gotemplate::gostr::lossy(b), flavor)?.into())
        }
        Value::List(l) => YNode::Seq(
            l.borrow()
                .iter()
                .map(|x| to_node(x, flavor))
                .collect::<Result<_, _>>()?,
        ),
        Value::Map(m) => {
            let mut entries: Vec<(String, YNode)> = m
                .borrow()
                .iter()
                .map(|(k, x)| {
                    let key = json_round_trip_text(k, flavor)?.into_owned();
                    Ok((key, to_node(x, flavor)?))
                })
                .collect::<Result<_, String>>()?;
            sort_keys(&mut entries);
            YNode::Map(entries)
        }
        Value::Object(o) => match o.to_data() {
            Some(d) => to_node(&d, flavor)?,
            None => YNode::Str(o.go_string().into()),
        },
    })
}

/// A string after `json.Marshal` and go-yaml's reading of the JSON: Go's JSON escapes every line
/// break except NEL (U+0085), which go-yaml then folds like a line break in a double-quoted
/// scalar (one break → a space, n breaks → n-1 newlines, surrounding spaces dropped).
///
/// go-yaml's reader refuses the characters JSON leaves raw but YAML forbids (DEL, C1 controls
/// other than NEL, U+FFFE, U+FFFF), so Helm's marshalling of such a string fails.
fn json_round_trip_text(s: &str, flavor: Flavor) -> Result<Cow<'_, str>, String> {
    if flavor != Flavor::HelmToYaml {
        return Ok(Cow::Borrowed(s));
    }
    if s.bytes().any(|b| matches!(b, 0x7F | 0xC2 | 0xEF))
        && s.chars().any(
            |c| matches!(c, '\u{7f}'..='\u{84}' | '\u{86}'..='\u{9f}' | '\u{fffe}' | '\u{ffff}'),
        )
    {
        return Err(
            "error converting JSON to YAML: yaml: control characters are not allowed".into(),
        );
    }
    if !s.contains('\u{85}') {
        return Ok(Cow::Borrowed(s));
    }
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == ' ' || chars[i] == '\u{85}' {
            let start = i;
            while i < chars.len() && (chars[i] == ' ' || chars[i] == '\u{85}') {
                i += 1;
            }
            let breaks = chars[start..i].iter().filter(|&&c| c == '\u{85}').count();
            match breaks {
                0 => out.extend(&chars[start..i]),
                1 => out.push(' '),
                n => out.extend(std::iter::repeat_n('\n', n - 1)),
            }
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    Ok(Cow::Owned(out))
}

/// go-yaml's float text: `strconv.FormatFloat(f, 'g', -1, 64)` with YAML's names for the specials.
fn yaml_float(f: f64) -> String {
    if f.is_nan() {
        ".nan".into()
    } else if f.is_infinite() {
        if f > 0.0 {
            ".inf".into()
        } else {
            "-.inf".into()
        }
    } else {
        format_float_g(f, false)
    }
}

/// Sorts keys with go-yaml's `keyList.Less`: insertion sort for small maps (what Go's sort does
/// there), a stable merge sort beyond; neither can panic on the comparator's rare intransitive
/// corner cases. ASCII keys (nearly all) are compared as bytes; others are decoded to chars once.
fn sort_keys(entries: &mut Vec<(String, YNode)>) {
    if entries.len() < 2 {
        return;
    }
    let order = if entries.iter().all(|(k, _)| k.is_ascii()) {
        // A map's keys arrive in byte order, which is usually go-yaml's order already.
        let in_order = entries
            .windows(2)
            .all(|w| !seq_less(w[1].0.as_bytes(), w[0].0.as_bytes()));
        if in_order {
            return;
        }
        let keys: Vec<&[u8]> = entries.iter().map(|(k, _)| k.as_bytes()).collect();
        go_yaml_order(&keys)
    } else {
        let keys: Vec<Vec<char>> = entries.iter().map(|(k, _)| k.chars().collect()).collect();
        go_yaml_order(&keys)
    };
    let mut slots: Vec<Option<(String, YNode)>> = entries.drain(..).map(Some).collect();
    for i in order {
        if let Some(e) = slots[i].take() {
            entries.push(e);
        }
    }
}

/// The positions of `keys` in go-yaml's order.
fn go_yaml_order<K: AsRef<[C]>, C: KeyChar>(keys: &[K]) -> Vec<usize> {
    let less = |a: usize, b: usize| seq_less(keys[a].as_ref(), keys[b].as_ref());
    let mut order: Vec<usize> = (0..keys.len()).collect();
    if order.len() <= 12 {
        for i in 1..order.len() {
            let mut j = i;
            while j > 0 && less(order[j], order[j - 1]) {
                order.swap(j, j - 1);
                j -= 1;
            }
        }
    } else {
        merge_sort(&mut order, &less);
    }
    order
}

fn merge_sort(order: &mut [usize], less: &dyn Fn(usize, usize) -> bool) {
    if order.len() <= 1 {
        return;
    }
    let mid = order.len() / 2;
    merge_sort(&mut order[..mid], less);
    merge_sort(&mut order[mid..], less);
    let mut merged = Vec::with_capacity(order.len());
    let (mut i, mut j) = (0, mid);
    while i < mid && j < order.len() {
        if less(order[j], order[i]) {
            merged.push(order[j]);
            j += 1;
        } else {
            merged.push(order[i]);
            i += 1;
        }
    }
    merged.extend_from_slice(&order[i..mid]);
    merged.extend_from_slice(&order[j..]);
    order.copy_from_slice(&merged);
}

/// A key's unit as `keyList.Less` reads it: a rune, or a byte of an all-ASCII key (the same
/// rune, without decoding).
trait KeyChar: Copy + PartialEq + PartialOrd {
    fn is_letter(self) -> bool;
    /// The ASCII digit's value, if it is one.
    fn digit(self) -> Option<i64>;
}

impl KeyChar for char {
    fn is_letter(self) -> bool {
        self.is_alphabetic()
    }
    fn digit(self) -> Option<i64> {
        self.is_ascii_digit().then(|| i64::from(self as u8 - b'0'))
    }
}

impl KeyChar for u8 {
    fn is_letter(self) -> bool {
        self.is_ascii_alphabetic()
    }
    fn digit(self) -> Option<i64> {
        self.is_ascii_digit().then(|| i64::from(self - b'0'))
    }
}

/// go-yaml's `keyList.Less` for two string keys: letters after non-letters, digit runs compared
/// as numbers, otherwise rune order.
pub fn key_less(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        return seq_less(a.as_bytes(), b.as_bytes());
    }
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
    seq_less(&ar, &br)
}

fn seq_less<C: KeyChar>(ar: &[C], br: &[C]) -> bool {
    let mut i = 0;
    while i < ar.len() && i < br.len() {
        if ar[i] == br[i] {
            i += 1;
            continue;
        }
        let al = ar[i].is_letter();
        let bl = br[i].is_letter();
        if al && bl {
            return ar[i] < br[i];
        }
        if al || bl {
            return bl;
        }
        let (mut an, mut bn): (i64, i64) = (0, 0);
        if ar[i].digit() == Some(0) || br[i].digit() == Some(0) {
            let mut j = i;
            while j > 0 && ar[j - 1].digit().is_some() {
                j -= 1;
                if ar[j].digit() != Some(0) {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let mut ai = i;
        while let Some(d) = ar.get(ai).and_then(|c| c.digit()) {
            an = an.wrapping_mul(10).wrapping_add(d);
            ai += 1;
        }
        let mut bi = i;
        while let Some(d) = br.get(bi).and_then(|c| c.digit()) {
            bn = bn.wrapping_mul(10).wrapping_add(d);
            bi += 1;
        }
        if an != bn {
            return an < bn;
        }
        if ai != bi {
            return ai < bi;
        }
        return ar[i] < br[i];
    }
    ar.len() < br.len()
}

/// Ordering helper for callers that sort other things the go-yaml way.
pub fn key_cmp(a: &str, b: &str) -> Ordering {
    if key_less(a, b) {
        Ordering::Less
    } else if key_less(b, a) {
        Ordering::Greater
    } else {
        Ordering::Equal
    }
}

/// Shortest decimal digits and exponent of a float (like Go's `strconv` shortest mode).
pub struct FloatParts {
    neg: bool,
    digits: Vec<u8>,
    /// Position of the decimal point relative to the digits (Go's `dp`).
    dp: i64,
}

/// Splits `f` into shortest round-trip digits; `as_f32` uses float32 precision.
pub fn float_parts(f: f64, as_f32: bool) -> FloatParts {
    let s = if as_f32 {
        format!("{:e}", f as f32)
    } else {
        format!("{:e}", f)
    };
    let (mant, exp) = s.split_once('e').unwrap_or((s.as_str(), "0"));
    let neg = mant.starts_with('-');
    let digits: Vec<u8> = mant.bytes().filter(u8::is_ascii_digit).collect();
    let exp: i64 = exp.parse().unwrap_or(0);
    let zero = digits.iter().all(|&d| d == b'0');
    FloatParts {
        neg,
        digits: if zero { vec![b'0'] } else { digits },
        dp: if zero { 1 } else { exp + 1 },
    }
}

impl FloatParts {
    /// Go's `'e'` format with shortest precision: `1.5e+06`, `1e-07`.
    pub fn fmt_e(&self) -> String {
        let mut s = String::new();
        if self.neg {
            s.push('-');
        }
        s.push(self.digits[0] as char);
        if self.digits.len() > 1 {
            s.push('.');
            s.extend(self.digits[1..].iter().map(|&d| d as char));
        }
        let exp = if self.digits == b"0" { 0 } else { self.dp - 1 };
        s.push('e');
        s.push(if exp < 0 { '-' } else { '+' });
        let a = exp.abs();
        if a < 10 {
            s.push('0');
        }
        s.push_str(&a.to_string());
        s
    }

    /// Go's `'f'` format with shortest precision.
    pub fn fmt_f(&self) -> String {
        let mut s = String::new();
        if self.neg {
            s.push('-');
        }
        let nd = self.digits.len() as i64;
        if self.dp <= 0 {
            s.push('0');
            s.push('.');
            for _ in 0..(-self.dp) {
                s.push('0');
            }
            s.extend(self.digits.iter().map(|&d| d as char));
        } else if self.dp >= nd {
            s.extend(self.digits.iter().map(|&d| d as char));
            for _ in 0..(self.dp - nd) {
                s.push('0');
            }
        } else {
            let (a, b) = self.digits.split_at(self.dp as usize);
            s.extend(a.iter().map(|&d| d as char));
            s.push('.');
            s.extend(b.iter().map(|&d| d as char));
        }
        s
    }
}

/// `strconv.FormatFloat(f, 'g', -1, 64 or 32)`: exponent form when the exponent is below -4 or at
/// least 6 (`1e+06`, `1.2345675e+06`), plain decimals otherwise.
pub fn format_float_g(f: f64, as_f32: bool) -> String {
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
    let p = float_parts(f, as_f32);
    let exp = p.dp - 1;
    // Go's shortest mode decides with precision 6.
    let eprec = 6;
    if p.digits == b"0" {
        return p.fmt_f();
    }
    if exp < -4 || exp >= eprec {
        p.fmt_e()
    } else {
        p.fmt_f()
    }
}

/// Where a node is emitted (libyaml's `mapping_context` and `simple_key_context`).
#[derive(Clone, Copy)]
struct Ctx {
    mapping: bool,
    simple_key: bool,
}

impl Ctx {
    const ROOT: Ctx = Ctx {
        mapping: false,
        simple_key: false,
    };
    const SEQUENCE_ITEM: Ctx = Ctx {
        mapping: false,
        simple_key: false,
    };
    const SIMPLE_KEY: Ctx = Ctx {
        mapping: true,
        simple_key: true,
    };
    /// A mapping value, or a key written after `? `.
    const MAPPING: Ctx = Ctx {
        mapping: true,
        simple_key: false,
    };
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

/// libyaml's `yaml_emitter_analyze_scalar` result.
#[derive(Default)]
struct Analysis {
    multiline: bool,
    flow_plain_allowed: bool,
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

struct Emitter {
    flavor: Flavor,
    out: String,
    column: i64,
    indent: i64,
    indents: Vec<i64>,
    whitespace: bool,
    indention: bool,
    flow_level: i64,
    mapping_context: bool,
    simple_key_context: bool,
    /// Column after which plain and quoted scalars fold (go-yaml v3's encoder never folds).
    best_width: i64,
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// go-yaml's `is_printable` (with unicode output on): BMP only, no BOM, no U+FFFE/U+FFFF.
fn is_printable(c: char) -> bool {
    let u = c as u32;
    u == 0x0A
        || (0x20..=0x7E).contains(&u)
        || (0xA0..=0xD7FF).contains(&u)
        || ((0xE000..=0xFFFD).contains(&u) && u != 0xFEFF)
}

fn analyze(value: &str, flavor: Flavor) -> Analysis {
    if value.is_empty() {
        return Analysis {
            multiline: false,
            flow_plain_allowed: false,
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: false,
        };
    }
    let chars: Vec<char> = value.chars().collect();
    let (mut block_indicators, mut flow_indicators) = (false, false);
    if value.starts_with("---") || value.starts_with("...") {
        block_indicators = true;
        flow_indicators = true;
    }
    let (mut line_breaks, mut special_characters) = (false, false);
    let mut tab_characters = false;
    let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) =
        (false, false, false, false);
    let (mut break_space, mut space_break) = (false, false);
    let (mut previous_space, mut previous_break) = (false, false);
    let mut preceded_by_whitespace = true;
    let n = chars.len();
    for i in 0..n {
        let c = chars[i];
        let followed_by_whitespace = i + 1 >= n || is_blank(chars[i + 1]) || is_break(chars[i + 1]);
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                '?' | ':' => {
                    flow_indicators = true;
                    if followed_by_whitespace {
                        block_indicators = true;
                    }
                }
                '-' if followed_by_whitespace => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                _ => {}
            }
        } else {
            match c {
                ',' | '?' | '[' | ']' | '{' | '}' => flow_indicators = true,
                ':' => {
                    flow_indicators = true;
                    if followed_by_whitespace {
                        block_indicators = true;
                    }
                }
                '#' if preceded_by_whitespace => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                _ => {}
            }
        }
        if c == '\t' && flavor == Flavor::Pretty {
            // go-yaml v3 allows tabs in block scalars but not in plain or single-quoted ones.
            tab_characters = true;
        } else if !is_printable(c) {
            special_characters = true;
        }
        if is_break(c) {
            line_breaks = true;
        }
        if c == ' ' {
            if i == 0 {
                leading_space = true;
            }
            if i == n - 1 {
                trailing_space = true;
            }
            if previous_break {
                break_space = true;
            }
            previous_space = true;
            previous_break = false;
        } else if is_break(c) {
            if i == 0 {
                leading_break = true;
            }
            if i == n - 1 {
                trailing_break = true;
            }
            if previous_space {
                space_break = true;
            }
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_whitespace = is_blank(c) || is_break(c);
    }
    let mut a = Analysis {
        multiline: line_breaks,
        flow_plain_allowed: true,
        block_plain_allowed: true,
        single_quoted_allowed: true,
        block_allowed: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
    }
    if trailing_space {
        a.block_allowed = false;
    }
    if break_space {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if tab_characters {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || special_characters {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
        a.block_allowed = false;
    }
    if line_breaks {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
    }
    if flow_indicators {
        a.flow_plain_allowed = false;
    }
    if block_indicators {
        a.block_plain_allowed = false;
    }
    a
}

/// The style go-yaml's encoder asks for a string (`stringv`): literal for multi-line text, double
/// quotes when the plain text would read back as something other than a string.
fn requested_style(s: &str) -> Style {
    // go-yaml v3 (toYamlPretty) quotes the same set: its YAML 1.2 resolver plus the YAML 1.1
    // booleans it still quotes for old readers (checked against helm).
    let can_use_plain = match resolve_plain(s) {
        Resolved::Str => !is_base60_float(s),
        _ => false,
    };
    if s.contains('\n') {
        Style::Literal
    } else if can_use_plain {
        Style::Plain
    } else {
        Style::Double
    }
}

impl Emitter {
    fn new(flavor: Flavor) -> Self {
        Emitter {
            flavor,
            out: String::new(),
            column: 0,
            indent: -1,
            indents: Vec::new(),
            whitespace: true,
            indention: true,
            flow_level: 0,
            mapping_context: false,
            simple_key_context: false,
            best_width: match flavor {
                Flavor::HelmToYaml => BEST_WIDTH,
                Flavor::Pretty => i64::MAX,
            },
        }
    }

    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
    }

    fn write_break(&mut self, c: char) {
        if c == '\n' {
            self.put_break();
        } else {
            self.out.push(c);
            self.column = 0;
        }
    }

    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        self.indents.push(self.indent);
        if self.indent < 0 {
            self.indent = if flow { BEST_INDENT } else { 0 };
        } else if !indentless {
            self.indent += BEST_INDENT;
        }
    }

    fn pop_indent(&mut self) {
        self.indent = self.indents.pop().unwrap_or(-1);
    }

    fn write_indent(&mut self) {
        let indent = self.indent.max(0);
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
        self.indention = true;
    }

    fn write_indicator(
        &mut self,
        indicator: &str,
        need_whitespace: bool,
        is_whitespace: bool,
        is_indention: bool,
    ) {
        if need_whitespace && !self.whitespace {
            self.put(' ');
        }
        for c in indicator.chars() {
            self.put(c);
        }
        self.whitespace = is_whitespace;
        self.indention = self.indention && is_indention;
    }

    fn emit_node(&mut self, node: &YNode, ctx: Ctx) {
        self.mapping_context = ctx.mapping;
        self.simple_key_context = ctx.simple_key;
        match node {
            YNode::Plain(text) => self.emit_scalar(text, Style::Plain),
            YNode::Str(s) => self.emit_string(s, ctx),
            YNode::Seq(items) => {
                if self.flow_level > 0 || items.is_empty() {
                    self.write_indicator("[", true, true, false);
                    self.increase_indent(true, false);
                    self.flow_level += 1;
                    // Only empty sequences are written in flow style.
                    self.flow_level -= 1;
                    self.pop_indent();
                    self.write_indicator("]", false, false, false);
                } else {
                    let indentless = match self.flavor {
                        Flavor::HelmToYaml => self.mapping_context && !self.indention,
                        Flavor::Pretty => false,
                    };
                    self.increase_indent(false, indentless);
                    for item in items {
                        self.write_indent();
                        self.write_indicator("-", true, false, true);
                        self.emit_node(item, Ctx::SEQUENCE_ITEM);
                    }
                    self.pop_indent();
                }
            }
            YNode::Map(entries) => {
                if self.flow_level > 0 || entries.is_empty() {
                    self.write_indicator("{", true, true, false);
                    self.increase_indent(true, false);
                    self.pop_indent();
                    self.write_indicator("}", false, false, false);
                } else {
                    self.increase_indent(false, false);
                    for (k, v) in entries {
                        self.write_indent();
                        let simple = !k.contains(is_break) && k.len() <= 128;
                        if simple {
                            self.emit_string(k, Ctx::SIMPLE_KEY);
                            self.write_indicator(":", false, false, false);
                        } else {
                            self.write_indicator("?", true, false, true);
                            self.emit_string(k, Ctx::MAPPING);
                            self.write_indent();
                            self.write_indicator(":", true, false, true);
                        }
                        self.emit_node(v, Ctx::MAPPING);
                    }
                    self.pop_indent();
                }
            }
        }
    }

    /// A string scalar (a value or a key) in `ctx`.
    fn emit_string(&mut self, s: &str, ctx: Ctx) {
        self.mapping_context = ctx.mapping;
        self.simple_key_context = ctx.simple_key;
        let style = requested_style(s);
        self.emit_scalar(s, style)
    }

    fn select_style(&self, value: &str, requested: Style, a: &Analysis) -> Style {
        let mut style = requested;
        if self.simple_key_context && a.multiline {
            style = Style::Double;
        }
        if style == Style::Plain {
            if (self.flow_level > 0 && !a.flow_plain_allowed)
                || (self.flow_level == 0 && !a.block_plain_allowed)
            {
                style = Style::Single;
            }
            if value.is_empty() && (self.flow_level > 0 || self.simple_key_context) {
                style = Style::Single;
            }
        }
        if style == Style::Single && !a.single_quoted_allowed {
            style = Style::Double;
        }
        if style == Style::Literal
            && (!a.block_allowed || self.flow_level > 0 || self.simple_key_context)
        {
            style = Style::Double;
        }
        style
    }

    fn emit_scalar(&mut self, value: &str, requested: Style) {
        let a = analyze(value, self.flavor);
        let style = self.select_style(value, requested, &a);
        self.increase_indent(true, false);
        let allow_breaks = !self.simple_key_context;
        match style {
            Style::Plain => self.write_plain(value, allow_breaks),
            Style::Single => self.write_single(value, allow_breaks),
            Style::Double => self.write_double(value, allow_breaks),
            Style::Literal => self.write_literal(value),
        }
        self.pop_indent();
    }

    fn write_plain(&mut self, value: &str, allow_breaks: bool) {
        if !self.whitespace {
            self.put(' ');
        }
        let chars: Vec<char> = value.chars().collect();
        let (mut spaces, mut breaks) = (false, false);
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > self.best_width
                    && !(i + 1 < chars.len() && chars[i + 1] == ' ')
                {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
            i += 1;
        }
        self.whitespace = false;
        self.indention = false;
    }

    fn write_single(&mut self, value: &str, allow_breaks: bool) {
        self.write_indicator("'", true, false, false);
        let chars: Vec<char> = value.chars().collect();
        let n = chars.len();
        let (mut spaces, mut breaks) = (false, false);
        for i in 0..n {
            let c = chars[i];
            if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > self.best_width
                    && i != 0
                    && i != n - 1
                    && !(i + 1 < n && chars[i + 1] == ' ')
                {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                if c == '\'' {
                    self.put('\'');
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        self.write_indicator("'", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_double(&mut self, value: &str, allow_breaks: bool) {
        self.write_indicator("\"", true, false, false);
        let chars: Vec<char> = value.chars().collect();
        let n = chars.len();
        let mut spaces = false;
        for i in 0..n {
            let c = chars[i];
            if !is_printable(c) || c == '\u{FEFF}' || is_break(c) || c == '"' || c == '\\' {
                self.put('\\');
                let u = c as u32;
                let esc = match u {
                    0x00 => Some('0'),
                    0x07 => Some('a'),
                    0x08 => Some('b'),
                    0x09 => Some('t'),
                    0x0A => Some('n'),
                    0x0B => Some('v'),
                    0x0C => Some('f'),
                    0x0D => Some('r'),
                    0x1B => Some('e'),
                    0x22 => Some('"'),
                    0x5C => Some('\\'),
                    0x85 => Some('N'),
                    0xA0 => Some('_'),
                    0x2028 => Some('L'),
                    0x2029 => Some('P'),
                    _ => None,
                };
                match esc {
                    Some(e) => self.put(e),
                    None => {
                        let hex = if u <= 0xFF {
                            format!("x{u:02X}")
                        } else if u <= 0xFFFF {
                            format!("u{u:04X}")
                        } else {
                            format!("U{u:08X}")
                        };
                        for h in hex.chars() {
                            self.put(h);
                        }
                    }
                }
                spaces = false;
            } else if c == ' ' {
                if allow_breaks && !spaces && self.column > self.best_width && i != 0 && i != n - 1
                {
                    self.write_indent();
                    if i + 1 < n && chars[i + 1] == ' ' {
                        self.put('\\');
                    }
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
        }
        self.write_indicator("\"", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_literal(&mut self, value: &str) {
        self.write_indicator("|", true, false, false);
        // Block scalar hints: indentation indicator when the text starts with a space or break,
        // chomping from how the text ends.
        let first = value.chars().next();
        if matches!(first, Some(c) if c == ' ' || is_break(c)) {
            let hint = BEST_INDENT.to_string();
            self.write_indicator(&hint, false, false, false);
        }
        let chars: Vec<char> = value.chars().collect();
        let chomp = match chars.len() {
            0 => Some("-"),
            n if !is_break(chars[n - 1]) => Some("-"),
            1 => Some("+"),
            n if is_break(chars[n - 2]) => Some("+"),
            _ => None,
        };
        if let Some(h) = chomp {
            self.write_indicator(h, false, false, false);
        }
        self.put_break();
        self.indention = true;
        self.whitespace = true;
        let mut breaks = true;
        for c in chars {
            if is_break(c) {
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                    breaks = false;
                }
                self.put(c);
                self.indention = false;
            }
        }
    }

    /// go-yaml v2 ends an implicit document with a line break and, unlike libyaml, never writes
    /// the `...` end marker for open-ended scalars (checked against helm).
    fn document_end(&mut self) {
        self.write_indent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_float_g() {
        assert_eq!(format_float_g(1e6, false), "1e+06");
        assert_eq!(format_float_g(1.5, false), "1.5");
        assert_eq!(format_float_g(123456.0, false), "123456");
        assert_eq!(format_float_g(1e-5, false), "1e-05");
        assert_eq!(format_float_g(0.0001, false), "0.0001");
        assert_eq!(format_float_g(0.1, true), "0.1");
    }

    #[test]
    fn natural_key_order() {
        assert!(key_less("a2", "a10"));
        assert!(key_less("_x", "a"));
        assert!(key_less("B", "a"));
        assert!(!key_less("a10", "a2"));
    }

    /// The byte path for ASCII keys orders exactly as the rune path does, on every pair of keys
    /// drawn from the characters the comparator treats differently.
    #[test]
    fn ascii_keys_compare_as_bytes_and_as_runes_alike() {
        let alphabet = ['0', '1', '2', '9', 'a', 'B', 'z', '_', '-', '.', '/', ' '];
        let mut keys = vec![String::new()];
        for _ in 0..3 {
            let longer: Vec<String> = keys
                .iter()
                .flat_map(|k| alphabet.iter().map(move |c| format!("{k}{c}")))
                .collect();
            keys.extend(longer);
        }
        keys.sort();
        keys.dedup();
        let runes = |k: &str| k.chars().collect::<Vec<char>>();
        for a in &keys {
            for b in &keys {
                assert_eq!(
                    seq_less(a.as_bytes(), b.as_bytes()),
                    seq_less(&runes(a), &runes(b)),
                    "{a:?} < {b:?}"
                );
            }
        }
    }

    /// The order `helm template` prints for `toYaml` of these keys (helm 4.1.4): a small map
    /// (insertion sort) and a large one (merge sort), neither given in go-yaml's order.
    #[test]
    fn maps_print_in_go_yamls_key_order() {
        let printed_keys = |keys: &[&str]| {
            let mut map = std::collections::BTreeMap::new();
            for key in keys {
                map.insert(key.to_string(), Value::Int(1));
            }
            let printed = marshal(&Value::map(map)).unwrap();
            printed
                .lines()
                .map(|l| l.split(':').next().unwrap().to_string())
                .collect::<Vec<_>>()
        };
        let small = ["a10", "a2", "B", "_x", "1", "01", "a", "é", "10", "b"];
        assert_eq!(
            printed_keys(&small),
            [
                "_x", "\"1\"", "\"01\"", "\"10\"", "B", "a", "a2", "a10", "b", "é"
            ]
        );
        let large = [
            "a10", "a2", "B", "_x", "1", "01", "a", "é", "10", "b", "z9", "z10", "Z", "x-1", "x_1",
            "x.1", "007", "7", "aa", "A1",
        ];
        assert_eq!(
            printed_keys(&large),
            [
                "_x", "\"1\"", "\"01\"", "\"7\"", "\"007\"", "\"10\"", "A1", "B", "Z", "a", "a2",
                "a10", "aa", "b", "x-1", "x.1", "x_1", "z9", "z10", "é"
            ]
        );
    }
}
