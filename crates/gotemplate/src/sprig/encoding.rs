//! Sprig's base64 and base32 functions (standard alphabets, padded). Decoding failures return
//! Go's error text as the function's result, as Sprig does.

use base64::Engine;

use super::args;
use super::fixed;
use crate::value::{FuncMap, Value};

pub(super) fn register(m: &mut FuncMap) {
    fixed(m, "b64enc", 1, |a| {
        let s = args::bytes(&a[0])?;
        Ok(base64::engine::general_purpose::STANDARD.encode(s).into())
    });
    fixed(m, "b64dec", 1, |a| {
        let s = args::string(&a[0])?;
        Ok(
            match base64::engine::general_purpose::STANDARD.decode(s.as_bytes()) {
                Ok(bytes) => Value::from_go_bytes(bytes),
                Err(e) => go_base64_error(&e).into(),
            },
        )
    });
    fixed(m, "b32enc", 1, |a| {
        Ok(base32_encode(args::bytes(&a[0])?).into())
    });
    fixed(m, "b32dec", 1, |a| {
        let s = args::string(&a[0])?;
        Ok(match base32_decode(&s) {
            Ok(bytes) => Value::from_go_bytes(bytes),
            Err(at) => format!("illegal base32 data at input byte {at}").into(),
        })
    });
}

fn go_base64_error(e: &base64::DecodeError) -> String {
    let at = match e {
        base64::DecodeError::InvalidByte(at, _) => *at,
        base64::DecodeError::InvalidLastSymbol(at, _) => *at,
        base64::DecodeError::InvalidLength(len) => *len,
        base64::DecodeError::InvalidPadding => 0,
    };
    format!("illegal base64 data at input byte {at}")
}

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32 with padding (Go's `base32.StdEncoding`).
pub(super) fn base32_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(5) * 8);
    for chunk in data.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let bits = buf.iter().fold(0u64, |acc, b| (acc << 8) | *b as u64);
        let chars = match chunk.len() {
            1 => 2,
            2 => 4,
            3 => 5,
            4 => 7,
            _ => 8,
        };
        for i in 0..8 {
            if i < chars {
                out.push(BASE32[((bits >> (35 - i * 5)) & 31) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes padded base32; the error is the offset of the first bad byte.
fn base32_decode(s: &str) -> Result<Vec<u8>, usize> {
    let bytes: Vec<u8> = s.bytes().filter(|b| *b != b'\n' && *b != b'\r').collect();
    if !bytes.len().is_multiple_of(8) {
        return Err(bytes.len() / 8 * 8);
    }
    let mut out = Vec::with_capacity(bytes.len() / 8 * 5);
    for (ci, chunk) in bytes.chunks(8).enumerate() {
        let data_len = chunk.iter().position(|b| *b == b'=').unwrap_or(8);
        if chunk[data_len..].iter().any(|b| *b != b'=') || ci * 8 + 8 < bytes.len() && data_len < 8
        {
            return Err(ci * 8 + data_len);
        }
        let mut bits = 0u64;
        for (i, b) in chunk.iter().enumerate() {
            let v = if i < data_len {
                BASE32.iter().position(|c| c == b).ok_or(ci * 8 + i)? as u64
            } else {
                0
            };
            bits = (bits << 5) | v;
        }
        let n = match data_len {
            8 => 5,
            7 => 4,
            5 => 3,
            4 => 2,
            2 => 1,
            _ => return Err(ci * 8 + data_len),
        };
        for i in 0..n {
            out.push((bits >> (32 - i * 8)) as u8);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_round_trips() {
        assert_eq!(base32_encode(b"coffee"), "MNXWMZTFMU======");
        assert_eq!(base32_decode("MNXWMZTFMU======").unwrap(), b"coffee");
        assert!(base32_decode("M1======").is_err());
    }
}
