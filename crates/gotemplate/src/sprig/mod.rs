//! Sprig v3 (v3.3.0, the version Helm pins): the function library `sprig.TxtFuncMap()` gives Go
//! templates, split by family. [`functions`] returns all of them, `env` and `expandenv` included
//! (Sprig's own map has them; Helm's layer deletes both before rendering charts).

mod args;
mod certs;
mod crypto;
mod dates;
mod defaults;
mod der;
mod dicts;
mod encoding;
mod go_regexp;
mod golayout;
mod json;
mod keys;
mod keysupply;
mod lists;
mod math;
mod paths;
mod prime_search;
mod random;
mod reflection;
mod regex;
pub use go_regexp::syntax_error as go_regexp_syntax_error;
mod semver;
pub use semver::semver_compare;
mod strings;
mod strings_case;
mod urls;
mod zones;

use std::sync::Arc;

use crate::value::{FuncMap, Value};
use args::FnResult;
pub use json::{Style as JsonStyle, to_json};
pub(crate) use keysupply::{KeySupply, ParsedText, draws_certificate_key};

/// All Sprig functions, keyed by their template names.
pub fn functions() -> FuncMap {
    // Room for Sprig's 211 functions and those Helm adds, so building it never rehashes.
    let mut map = FuncMap::with_capacity(256);
    strings::register(&mut map);
    lists::register(&mut map);
    dicts::register(&mut map);
    math::register(&mut map);
    defaults::register(&mut map);
    json::register(&mut map);
    regex::register(&mut map);
    encoding::register(&mut map);
    crypto::register(&mut map);
    certs::register(&mut map, &Arc::new(KeySupply::on_demand()));
    semver::register(&mut map);
    dates::register(&mut map);
    paths::register(&mut map);
    urls::register(&mut map);
    reflection::register(&mut map);
    random::register(&mut map);
    for (name, bytes_as_text) in strings::TRANSPARENT {
        if let Some(f) = map.remove(*name) {
            map.insert(
                name.to_string(),
                crate::gostr::transparent(f, *bytes_as_text),
            );
        }
    }
    map
}

/// Sprig's certificate generators drawing fresh keys from `keys` (a template set's own supply,
/// see [`crate::Template::prefetch_certificate_keys`]).
pub(crate) fn certificate_functions(keys: &Arc<KeySupply>) -> FuncMap {
    let mut map = FuncMap::new();
    certs::register(&mut map, keys);
    map
}

/// Registers a function with `want` fixed parameters; the arity is checked before `f` runs.
fn fixed<F>(map: &mut FuncMap, name: &'static str, want: usize, f: F)
where
    F: Fn(&[Value]) -> FnResult + Send + Sync + 'static,
{
    map.insert(
        name.to_string(),
        Arc::new(move |a: &[Value]| {
            args::arity(name, a, want)?;
            f(a)
        }),
    );
}

/// Registers a variadic function with `min` fixed parameters before the variadic tail.
fn variadic<F>(map: &mut FuncMap, name: &'static str, min: usize, f: F)
where
    F: Fn(&[Value]) -> FnResult + Send + Sync + 'static,
{
    map.insert(
        name.to_string(),
        Arc::new(move |a: &[Value]| {
            args::arity_at_least(name, a, min)?;
            f(a)
        }),
    );
}

/// Registers `name` as another name for an already registered function. The tables are fixed, so
/// a missing `existing` is a registration-order bug: fail loudly (every test builds the table)
/// instead of leaving `name` silently undefined.
fn alias(map: &mut FuncMap, name: &str, existing: &str) {
    let f = map
        .get(existing)
        .cloned()
        .unwrap_or_else(|| panic!("sprig alias {name}: {existing} is not registered before it"));
    map.insert(name.to_string(), f);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// Functions left out of the sweep: slow by design (key generation, scrypt, bcrypt) or
    /// reaching the network.
    const SLOW: &[&str] = &[
        "genPrivateKey",
        "genCA",
        "genCAWithKey",
        "genSelfSignedCert",
        "genSelfSignedCertWithKey",
        "genSignedCert",
        "genSignedCertWithKey",
        "derivePassword",
        "bcrypt",
        "htpasswd",
        "getHostByName",
    ];

    fn pool() -> Vec<Value> {
        let mut m = BTreeMap::new();
        m.insert("a".to_string(), Value::Int(1));
        m.insert("b".to_string(), Value::empty_map());
        vec![
            Value::Nil,
            Value::Bool(true),
            Value::Int(-1),
            Value::Int(0),
            Value::Int(3),
            Value::Int(i64::MAX),
            Value::Int(i64::MIN),
            Value::Int64(7),
            Value::Uint(u64::MAX),
            Value::Float(f64::NAN),
            Value::Float(-2.5),
            Value::Float(1e300),
            Value::str(""),
            Value::str("a€b\nc"),
            Value::str("2006-01-02"),
            Value::str("[("),
            Value::str("1.2.3"),
            Value::list(vec![]),
            Value::list(vec![Value::Int(1), Value::str("x"), Value::Nil]),
            Value::map(m),
        ]
    }

    /// Every function, called with every zero-, one- and two-argument combination of awkward
    /// values (and a sample of three-argument ones), answers with a value or an error: never a
    /// panic.
    #[test]
    fn functions_never_panic_on_bad_arguments() {
        let funcs = functions();
        let pool = pool();
        let mut names: Vec<&String> = funcs.keys().collect();
        names.sort();
        for name in names {
            if SLOW.contains(&name.as_str()) {
                continue;
            }
            let f = &funcs[name];
            let _ = f(&[]);
            for a in &pool {
                let _ = f(std::slice::from_ref(a));
                for b in &pool {
                    let _ = f(&[a.clone(), b.clone()]);
                }
            }
            for (i, a) in pool.iter().enumerate() {
                let b = &pool[(i * 7 + 3) % pool.len()];
                let c = &pool[(i * 11 + 5) % pool.len()];
                let _ = f(&[a.clone(), b.clone(), c.clone()]);
                let _ = f(&[c.clone(), a.clone(), b.clone(), a.clone()]);
            }
        }
    }
}
