//! Data-driven tests over Go's own `text/template` cases (`gotemplate-cases.json` of the corpus):
//! exec cases, parse cases and number literals. An expected error must contain the case's
//! `error_contains` and read exactly as Go's recorded `go_error`. Prints
//! `corpus gotemplate: P/T passed` before asserting; cases that fail for a documented reason are listed in
//! `tests/known-differences/gotemplate.txt`, and a listed case that passes fails the test.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value as Json;
use signet_gotemplate::literal::{NumberKind, parse_number};
use signet_gotemplate::{Func, FuncMap, Template, Value, fmt};

#[path = "../../../tests/support/corpus.rs"]
mod corpus;
use corpus::{CaseTally, corpus_dir, known_differences_file, load_case_file};

fn func(f: impl Fn(&[Value]) -> Result<Value, String> + Send + Sync + 'static) -> Func {
    Arc::new(f)
}

fn want_args(name: &str, args: &[Value], n: usize) -> Result<(), String> {
    if args.len() != n {
        return Err(format!(
            "wrong number of args for {name}: want {n} got {}",
            args.len()
        ));
    }
    Ok(())
}

fn want_string(v: &Value) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s.to_string()),
        other => Err(format!(
            "wrong type for value; expected string; got {}",
            other.type_name()
        )),
    }
}

fn want_int(v: &Value) -> Result<i64, String> {
    match v {
        Value::Int(i) => Ok(*i),
        other => Err(format!(
            "wrong type for value; expected int; got {}",
            other.type_name()
        )),
    }
}

/// The Go test helper functions described in the corpus's `helper_funcs`, with Go's typing.
fn helper_funcs() -> FuncMap {
    let mut m = FuncMap::new();
    m.insert(
        "add".into(),
        func(|a| {
            let mut sum = 0i64;
            for v in a {
                sum += want_int(v)?;
            }
            Ok(Value::Int(sum))
        }),
    );
    m.insert(
        "dddArg".into(),
        func(|a| {
            if a.is_empty() {
                return Err("wrong number of args for dddArg: want at least 1 got 0".into());
            }
            let first = want_int(&a[0])?;
            let mut rest = Vec::new();
            for v in &a[1..] {
                rest.push(Value::from(want_string(v)?));
            }
            Ok(Value::from(fmt::sprintln(&[
                Value::Int(first),
                Value::list(rest),
            ])))
        }),
    );
    m.insert(
        "die".into(),
        func(|a| {
            want_args("die", a, 0)?;
            Err("die".into())
        }),
    );
    m.insert(
        "echo".into(),
        func(|a| {
            want_args("echo", a, 1)?;
            Ok(a[0].clone())
        }),
    );
    m.insert(
        "makemap".into(),
        func(|a| {
            if a.len() % 2 != 0 {
                return Err("bad makemap".into());
            }
            let mut map = BTreeMap::new();
            for pair in a.chunks(2) {
                map.insert(want_string(&pair[0])?, Value::from(want_string(&pair[1])?));
            }
            Ok(Value::map(map))
        }),
    );
    m.insert(
        "mapOfThree".into(),
        func(|a| {
            want_args("mapOfThree", a, 0)?;
            let mut map = BTreeMap::new();
            map.insert("three".to_string(), Value::Int(3));
            Ok(Value::map(map))
        }),
    );
    m.insert(
        "oneArg".into(),
        func(|a| {
            want_args("oneArg", a, 1)?;
            Ok(Value::from(format!("oneArg={}", want_string(&a[0])?)))
        }),
    );
    m.insert(
        "returnInt".into(),
        func(|a| {
            want_args("returnInt", a, 0)?;
            Ok(Value::Int(7))
        }),
    );
    m.insert(
        "twoArgs".into(),
        func(|a| {
            want_args("twoArgs", a, 2)?;
            Ok(Value::from(format!(
                "twoArgs={}{}",
                want_string(&a[0])?,
                want_string(&a[1])?
            )))
        }),
    );
    m.insert(
        "typeOf".into(),
        func(|a| {
            want_args("typeOf", a, 1)?;
            Ok(Value::from(a[0].type_name()))
        }),
    );
    m.insert(
        "valueString".into(),
        func(|a| {
            want_args("valueString", a, 1)?;
            want_string(&a[0])?;
            Ok(Value::from("value is ignored"))
        }),
    );
    m.insert(
        "zeroArgs".into(),
        func(|a| {
            want_args("zeroArgs", a, 0)?;
            Ok(Value::from("zeroArgs"))
        }),
    );
    m.insert(
        "contains".into(),
        func(|a| {
            want_args("contains", a, 2)?;
            Ok(Value::Bool(
                want_string(&a[0])?.contains(&want_string(&a[1])?),
            ))
        }),
    );
    m
}

/// Parse the case's `{name, source}` texts listed under `key` (none when absent) into `t`.
fn parse_named_texts(
    t: &mut Template,
    case: &Json,
    key: &str,
) -> Result<(), signet_gotemplate::Error> {
    for text in case.get(key).and_then(Json::as_array).into_iter().flatten() {
        t.parse_named(
            text["name"].as_str().unwrap_or(""),
            text["source"].as_str().unwrap_or(""),
        )?;
    }
    Ok(())
}

/// Run one exec case; `Err` describes the mismatch.
fn run_exec_case(case: &Json) -> Result<(), String> {
    let name = case["template_name"].as_str().unwrap_or("");
    let mut t = Template::with_funcs(name, helper_funcs());
    if let Some(d) = case.get("delims").and_then(Json::as_array) {
        t.delims(d[0].as_str().unwrap_or(""), d[1].as_str().unwrap_or(""));
    }
    if let Some(opts) = case.get("options").and_then(Json::as_array) {
        for o in opts {
            t.option(o.as_str().unwrap_or(""))
                .map_err(|e| e.to_string())?;
        }
    }
    let expect_error = case["expect_error"].as_bool().unwrap_or(false);
    let result = (|| {
        parse_named_texts(&mut t, case, "extra_templates")?;
        t.parse(case["template"].as_str().unwrap_or(""))?;
        parse_named_texts(&mut t, case, "overlay_templates")?;
        let data = Value::from_json(&case["data"]);
        match case.get("exec_template").and_then(Json::as_str) {
            Some(n) => t.execute_template(n, &data),
            None => t.execute(&data),
        }
    })();
    match (result, expect_error) {
        (Ok(out), false) => {
            let want = case["expected"].as_str().unwrap_or("");
            if out == want {
                Ok(())
            } else {
                Err(format!("got {out:?} want {want:?}"))
            }
        }
        (Ok(out), true) => Err(format!("expected an error, got output {out:?}")),
        (Err(e), true) => check_error(case, &e.to_string()),
        (Err(e), false) => Err(format!("unexpected error: {e}")),
    }
}

/// An expected error must contain the case's `error_contains` and, where the corpus recorded Go's
/// message (`go_error`), be worded exactly like it.
fn check_error(case: &Json, err: &str) -> Result<(), String> {
    if let Some(sub) = case.get("error_contains").and_then(Json::as_str)
        && !err.contains(sub)
    {
        return Err(format!("error {err:?} lacks {sub:?}"));
    }
    match case.get("go_error").and_then(Json::as_str) {
        Some(go) if err != go => Err(format!("error {err:?}, Go says {go:?}")),
        _ => Ok(()),
    }
}

fn run_parse_case(case: &Json) -> Result<(), String> {
    let name = case["name"].as_str().unwrap_or("");
    let mut t = Template::with_funcs(name, helper_funcs());
    let expect_error = case["expect_parse_error"].as_bool().unwrap_or(false);
    match (
        t.parse(case["template"].as_str().unwrap_or("")),
        expect_error,
    ) {
        (Ok(_), true) => Err("expected a parse error".into()),
        (Err(e), false) => Err(format!("unexpected parse error: {e}")),
        (Err(e), true) => check_error(case, &e.to_string()),
        (Ok(_), false) => match case.get("tree").and_then(Json::as_str) {
            Some(want) => {
                let got = t.tree_string(name).unwrap_or_default();
                if got == want {
                    Ok(())
                } else {
                    Err(format!("tree {got:?} want {want:?}"))
                }
            }
            None => Ok(()),
        },
    }
}

fn number_kind(text: &str) -> NumberKind {
    if text.starts_with('\'') {
        return NumberKind::Char;
    }
    let b = text.as_bytes();
    let complex = text.ends_with('i')
        && (1..b.len()).any(|i| {
            (b[i] == b'+' || b[i] == b'-') && !matches!(b[i - 1], b'e' | b'E' | b'p' | b'P')
        });
    if complex {
        NumberKind::Complex
    } else {
        NumberKind::Number
    }
}

fn run_number_case(case: &Json) -> Result<(), String> {
    let text = case["text"].as_str().unwrap_or("");
    let flags =
        ["is_int", "is_uint", "is_float", "is_complex"].map(|k| case[k].as_bool().unwrap_or(false));
    let parsed = parse_number(text, number_kind(text));
    let n = match parsed {
        Err(e) => {
            return if flags.iter().any(|f| *f) {
                Err(format!("unexpected error {e}"))
            } else {
                Ok(())
            };
        }
        Ok(n) => n,
    };
    let got = [n.is_int, n.is_uint, n.is_float, n.is_complex];
    if got != flags {
        return Err(format!("flags {got:?} want {flags:?}"));
    }
    if n.is_int && Some(n.int64) != case["int64"].as_i64() {
        return Err(format!("int64 {} want {}", n.int64, case["int64"]));
    }
    if n.is_uint && Some(n.uint64) != case["uint64"].as_u64() {
        return Err(format!("uint64 {} want {}", n.uint64, case["uint64"]));
    }
    if n.is_float {
        let got = fmt::format_float(n.float64, 'g', -1);
        if Some(got.as_str()) != case["float64"].as_str() {
            return Err(format!("float64 {got} want {}", case["float64"]));
        }
    }
    if n.is_complex {
        let got = [
            fmt::format_float(n.complex128.0, 'g', -1),
            fmt::format_float(n.complex128.1, 'g', -1),
        ];
        let want = [&case["complex128"][0], &case["complex128"][1]]
            .map(|v| v.as_str().unwrap_or("").to_string());
        if got != want {
            return Err(format!("complex {got:?} want {want:?}"));
        }
    }
    Ok(())
}

#[test]
fn gotemplate_corpus() {
    let dir = corpus_dir();
    let path = dir.join("gotemplate-cases.json");
    let Some(corpus) = load_case_file("corpus gotemplate", &path) else {
        return;
    };
    let mut results: Vec<(String, Result<(), String>)> = Vec::new();
    for case in corpus["cases"].as_array().into_iter().flatten() {
        results.push((
            case["id"].as_str().unwrap_or("?").to_string(),
            run_exec_case(case),
        ));
    }
    for case in corpus["parse_cases"].as_array().into_iter().flatten() {
        results.push((
            case["id"].as_str().unwrap_or("?").to_string(),
            run_parse_case(case),
        ));
    }
    for case in corpus["number_literals"].as_array().into_iter().flatten() {
        let id = format!("number:{}", case["text"].as_str().unwrap_or("?"));
        results.push((id, run_number_case(case)));
    }
    let mut tally = CaseTally::new("gotemplate", &known_differences_file("gotemplate.txt"));
    for (id, result) in &results {
        tally.record(id, result);
    }
    tally.finish();
}
