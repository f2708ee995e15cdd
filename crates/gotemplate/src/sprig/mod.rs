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
mod golayout;
mod json;
mod keys;
mod lists;
mod math;
mod paths;
mod random;
mod reflection;
mod regex;
mod semver;
mod strings;
mod strings_case;
mod urls;
mod zones;

use std::sync::Arc;

use crate::value::{FuncMap, Value};
use args::FnResult;

/// All Sprig functions, keyed by their template names.
pub fn functions() -> FuncMap {
    let mut map = FuncMap::new();
    strings::register(&mut map);
    lists::register(&mut map);
    dicts::register(&mut map);
    math::register(&mut map);
    defaults::register(&mut map);
    json::register(&mut map);
    regex::register(&mut map);
    encoding::register(&mut map);
    crypto::register(&mut map);
    semver::register(&mut map);
    dates::register(&mut map);
    paths::register(&mut map);
    urls::register(&mut map);
    reflection::register(&mut map);
    random::register(&mut map);
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

/// Registers `name` as another name for an already registered function.
fn alias(map: &mut FuncMap, name: &str, existing: &str) {
    if let Some(f) = map.get(existing).cloned() {
        map.insert(name.to_string(), f);
    }
}
