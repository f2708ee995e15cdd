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
        let x = next_u64()?;
        if x < zone {
            return Ok(x % n);
        }
    }
}

/// Random words for [`uniform`], read from the operating system a block at a time. One
/// `getrandom` call per drawn character made the random-string functions a visible share of a
/// short render (grafana's two 40-character passwords were 80 system calls). The block holds
/// only not-yet-used OS randomness for this thread; a word is never handed out twice.
struct WordPool {
    words: [u64; WordPool::WORDS],
    next: usize,
}

impl WordPool {
    const WORDS: usize = 64;
}

thread_local! {
    static WORD_POOL: std::cell::RefCell<WordPool> = const {
        std::cell::RefCell::new(WordPool { words: [0; WordPool::WORDS], next: WordPool::WORDS })
    };
}

fn next_u64() -> Result<u64, String> {
    WORD_POOL.with_borrow_mut(|pool| {
        if pool.next == WordPool::WORDS {
            let mut bytes = [0u8; WordPool::WORDS * 8];
            fill(&mut bytes)?;
            for (word, chunk) in pool.words.iter_mut().zip(bytes.chunks_exact(8)) {
                *word = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
            }
            pool.next = 0;
        }
        let word = std::mem::take(&mut pool.words[pool.next]);
        pool.next += 1;
        Ok(word)
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pooled_words_are_fresh_across_refills() {
        // Three pools' worth: every word is new (a repeat of 64 random bits would mean a word
        // handed out twice), and none is the zero a taken slot is left with.
        let words: Vec<u64> = (0..WordPool::WORDS * 3)
            .map(|_| next_u64().expect("OS randomness"))
            .collect();
        let distinct: std::collections::HashSet<_> = words.iter().collect();
        assert_eq!(distinct.len(), words.len());
        assert!(!words.contains(&0));
    }

    #[test]
    fn uniform_draws_cover_the_range_and_stay_inside_it() {
        let mut seen = [false; 7];
        for _ in 0..500 {
            let x = uniform(7).expect("OS randomness");
            seen[x as usize] = true;
        }
        assert!(seen.iter().all(|&s| s));
        assert!(uniform(0).is_err());
    }
}
