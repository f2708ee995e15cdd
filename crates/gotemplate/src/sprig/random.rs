//! Sprig's random functions: `randAlphaNum`, `randAlpha`, `randAscii`, `randNumeric`, `randInt`,
//! `randBytes`, `shuffle`, `uuidv4`, and the network lookup `getHostByName`. Randomness comes
//! from the operating system (Sprig uses crypto/rand for strings and bytes).

use base64::Engine;

use super::args::{self, FnResult};
use super::fixed;
use crate::value::{FuncMap, Value};

/// Largest count the random-string functions accept, so a typo cannot exhaust memory.
const MAX_RANDOM_LEN: i64 = 1 << 20;

pub(super) fn register(m: &mut FuncMap) {
    const ALPHA: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    const DIGITS: &str = "0123456789";
    for (name, chars) in [
        ("randAlphaNum", format!("{ALPHA}{DIGITS}")),
        ("randAlpha", ALPHA.to_string()),
        ("randNumeric", DIGITS.to_string()),
        (
            "randAscii",
            (32u8..=126).map(char::from).collect::<String>(),
        ),
    ] {
        let chars: Vec<char> = chars.chars().collect();
        fixed(m, name, 1, move |a| {
            let count = args::int(&a[0])?;
            random_string(count, &chars)
        });
    }
    fixed(m, "randInt", 2, |a| {
        let (min, max) = (args::int(&a[0])?, args::int(&a[1])?);
        let span = max.wrapping_sub(min);
        if span <= 0 {
            return Err("invalid argument to Intn".into());
        }
        Ok(Value::Int(min + uniform(span as u64)? as i64))
    });
    fixed(m, "randBytes", 1, |a| {
        let count = args::int(&a[0])?;
        if !(0..=MAX_RANDOM_LEN).contains(&count) {
            return Err(format!("randBytes: count {count} out of range"));
        }
        let mut buf = vec![0u8; count as usize];
        fill(&mut buf)?;
        Ok(base64::engine::general_purpose::STANDARD.encode(buf).into())
    });
    fixed(m, "shuffle", 1, |a| {
        let s = args::string(&a[0])?;
        let mut chars: Vec<char> = s.chars().collect();
        for i in (1..chars.len()).rev() {
            let j = uniform(i as u64 + 1)? as usize;
            chars.swap(i, j);
        }
        Ok(chars.into_iter().collect::<String>().into())
    });
    fixed(m, "uuidv4", 0, |_| Ok(uuid_v4()?.into()));
    fixed(m, "getHostByName", 1, |a| {
        use std::net::ToSocketAddrs;
        let name = args::string(&a[0])?;
        let addrs: Vec<String> = (&*name, 0u16)
            .to_socket_addrs()
            .map(|it| it.map(|sa| sa.ip().to_string()).collect())
            .unwrap_or_default();
        if addrs.is_empty() {
            return Err("runtime error: invalid argument to Intn".into());
        }
        let pick = uniform(addrs.len() as u64)? as usize;
        Ok(addrs[pick].clone().into())
    });
}

fn fill(buf: &mut [u8]) -> Result<(), String> {
    getrandom::getrandom(buf).map_err(|e| format!("reading random bytes: {e}"))
}

/// A uniform integer in [0, n), by rejection sampling.
pub(super) fn uniform(n: u64) -> Result<u64, String> {
    if n == 0 {
        return Err("invalid argument to Intn".into());
    }
    let zone = u64::MAX - (u64::MAX % n);
    loop {
        let mut b = [0u8; 8];
        fill(&mut b)?;
        let x = u64::from_le_bytes(b);
        if x < zone {
            return Ok(x % n);
        }
    }
}

fn random_string(count: i64, chars: &[char]) -> FnResult {
    if !(0..=MAX_RANDOM_LEN).contains(&count) {
        return Err(format!("random string length {count} out of range"));
    }
    let mut out = String::with_capacity(count as usize);
    for _ in 0..count {
        out.push(chars[uniform(chars.len() as u64)? as usize]);
    }
    Ok(out.into())
}

/// A random (version 4, RFC 4122 variant) UUID in its canonical text form.
pub(super) fn uuid_v4() -> Result<String, String> {
    let mut b = [0u8; 16];
    fill(&mut b)?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    ))
}
