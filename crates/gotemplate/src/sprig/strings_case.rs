//! Case conversion as `huandu/xstrings` v1.4 does it (Sprig's `snakecase`, `kebabcase`,
//! `camelcase`): words are split at case changes, digits and connectors (`-`, `_`, whitespace),
//! an upper-case run keeps its last letter for the next word ("HTTPServer" → "HTTP", "Server").

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum WordKind {
    Connector,
    Punct,
    Upper,
    Alphabet,
    Number,
    Other,
    /// The end of the input.
    Invalid,
}

fn is_connector(c: char) -> bool {
    c == '-' || c == '_' || c.is_whitespace()
}

fn is_punct(c: char) -> bool {
    c.is_ascii_punctuation() && !is_connector(c)
        || (!c.is_ascii() && !c.is_alphanumeric() && !c.is_whitespace() && !c.is_control())
}

/// Splits off the next word of `s`: its kind, the word, and the rest.
fn next_word(s: &str) -> (WordKind, &str, &str) {
    if s.is_empty() {
        return (WordKind::Invalid, "", "");
    }
    let chars: Vec<(usize, char)> = s.char_indices().collect();
    let end_at = |i: usize| chars.get(i).map(|(o, _)| *o).unwrap_or(s.len());
    let first = chars[0].1;
    let run = |from: usize, pred: &dyn Fn(char) -> bool| {
        let mut i = from;
        while i < chars.len() && pred(chars[i].1) {
            i += 1;
        }
        i
    };
    let (kind, end) = if is_connector(first) {
        (WordKind::Connector, run(1, &is_connector))
    } else if is_punct(first) {
        (WordKind::Punct, run(1, &is_punct))
    } else if first.is_uppercase() {
        match chars.get(1).map(|c| c.1) {
            Some(c) if c.is_uppercase() => {
                let mut i = run(1, &|c: char| c.is_uppercase());
                if i < chars.len() && chars[i].1.is_lowercase() {
                    i -= 1;
                }
                (WordKind::Upper, i)
            }
            // A capitalised word stays an upper-case word for the number rules below.
            Some(c) if c.is_lowercase() => (WordKind::Upper, run(2, &|c: char| c.is_lowercase())),
            _ => (WordKind::Upper, 1),
        }
    } else if first.is_lowercase() {
        (WordKind::Alphabet, run(1, &|c: char| c.is_lowercase()))
    } else if first.is_numeric() {
        (WordKind::Number, run(1, &|c: char| c.is_numeric()))
    } else {
        let other = |c: char| {
            !(is_connector(c)
                || is_punct(c)
                || c.is_uppercase()
                || c.is_lowercase()
                || c.is_numeric())
        };
        (WordKind::Other, run(1, &other))
    };
    let end = end_at(end);
    (kind, &s[..end], &s[end..])
}

fn write_lower(out: &mut String, word: &str, connector: char) {
    for c in word.chars() {
        if is_connector(c) {
            out.push(connector);
        } else if c.is_uppercase() {
            out.push(super::strings::simple_lower(c));
        } else {
            out.push(c);
        }
    }
}

/// xstrings' camelCaseToLowerCase: `snakecase` with '_', `kebabcase` with '-'.
pub(super) fn to_lower_words(s: &str, connector: char) -> String {
    use WordKind::*;
    if s.is_empty() {
        return String::new();
    }
    let mut out = String::with_capacity(s.len() + 4);
    let (mut kind, mut word, mut rest) = next_word(s);
    while !rest.is_empty() {
        if kind != Connector {
            write_lower(&mut out, word, connector);
        }
        let prev = kind;
        let last = word;
        (kind, word, rest) = next_word(rest);
        match prev {
            Number => {
                while kind == Alphabet || kind == Number {
                    write_lower(&mut out, word, connector);
                    (kind, word, rest) = next_word(rest);
                }
                if kind != Invalid && kind != Punct && kind != Connector {
                    out.push(connector);
                }
            }
            Connector => write_lower(&mut out, last, connector),
            Punct => {}
            _ => {
                if kind != Number {
                    if kind != Connector && kind != Punct {
                        out.push(connector);
                    }
                    continue;
                }
                if rest.is_empty() {
                    continue;
                }
                let number = word;
                (kind, word, rest) = next_word(rest);
                if kind != Alphabet {
                    // A number right after a word belongs to it: "Bld4Floor" → "bld4_floor".
                    write_lower(&mut out, number, connector);
                    if kind != Invalid && kind != Connector && kind != Punct {
                        out.push(connector);
                    }
                    continue;
                }
                // Lower-case letters after the number: "HTTP2xx" → "http_2xx".
                out.push(connector);
                write_lower(&mut out, number, connector);
                while kind == Alphabet || kind == Number {
                    write_lower(&mut out, word, connector);
                    (kind, word, rest) = next_word(rest);
                }
                if kind != Invalid && kind != Connector && kind != Punct {
                    out.push(connector);
                }
            }
        }
    }
    write_lower(&mut out, word, connector);
    out
}

/// xstrings v1.4 `ToCamelCase`: connectors are dropped and the rune after them upper-cased; the
/// first rune is upper-cased; leading connectors and doubled connectors are kept.
pub(super) fn to_camel(s: &str) -> String {
    let mut chars = s.chars();
    let mut out = String::with_capacity(s.len());
    let mut r0 = None;
    for c in chars.by_ref() {
        if !is_connector(c) {
            r0 = Some(super::strings::simple_upper(c));
            break;
        }
        out.push(c);
    }
    let Some(mut r0) = r0 else {
        return out;
    };
    for c in chars {
        let r1 = r0;
        r0 = c;
        if is_connector(r0) && is_connector(r1) {
            out.push(r1);
            continue;
        }
        if is_connector(r1) {
            r0 = super::strings::simple_upper(r0);
        } else {
            out.push(r1);
        }
    }
    out.push(r0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_and_kebab_split_acronyms() {
        assert_eq!(to_lower_words("HTTPServer", '_'), "http_server");
        assert_eq!(to_lower_words("NoHTTPS", '_'), "no_https");
        assert_eq!(to_lower_words("GO_PATH", '_'), "go_path");
        assert_eq!(to_lower_words("GO PATH", '_'), "go_path");
        assert_eq!(to_lower_words("FirstName", '-'), "first-name");
        assert_eq!(to_lower_words("Bld4Floor", '_'), "bld4_floor");
        assert_eq!(to_lower_words("HTTP2xx", '_'), "http_2xx");
    }

    #[test]
    fn camel_case_keeps_leading_and_doubled_connectors() {
        assert_eq!(to_camel("http_server"), "HttpServer");
        assert_eq!(to_camel("_camel_case"), "_CamelCase");
        assert_eq!(to_camel("_complex__case_"), "_Complex_Case_");
        assert_eq!(to_camel("all"), "All");
    }
}
