//! Sprig's hashing and crypto helpers: `sha1sum`, `sha256sum`, `sha512sum`, `adler32sum`,
//! `derivePassword` (the Master Password algorithm: scrypt, then HMAC-SHA256 over the site),
//! `encryptAES`/`decryptAES` (AES-256-CBC, PKCS#7 padding, random IV prefixed, base64),
//! `bcrypt`/`htpasswd` (`$2a$`, cost 10), `buildCustomCert` (validates a base64 PEM certificate
//! and key), and `genPrivateKey` (the certificate generators are [`super::certs`]).

use std::collections::BTreeMap;
use std::rc::Rc;

use aes::cipher::{Array, BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Digest;

use super::args;
use super::fixed;
use super::keys::KeyPair;

/// Key size Sprig uses for `genPrivateKey "rsa"`.
const PRIVATE_KEY_RSA_BITS: usize = 4096;
use crate::value::{FuncMap, Object, Value};

pub(super) fn register(m: &mut FuncMap) {
    fixed(m, "sha1sum", 1, |a| {
        Ok(hex::encode(sha1::Sha1::digest(args::bytes(&a[0])?)).into())
    });
    fixed(m, "sha256sum", 1, |a| {
        Ok(hex::encode(sha2::Sha256::digest(args::bytes(&a[0])?)).into())
    });
    fixed(m, "sha512sum", 1, |a| {
        Ok(hex::encode(sha2::Sha512::digest(args::bytes(&a[0])?)).into())
    });
    fixed(m, "adler32sum", 1, |a| {
        Ok(adler32(args::bytes(&a[0])?).to_string().into())
    });
    fixed(m, "derivePassword", 5, |a| {
        let counter = args::uint32(&a[0])?;
        let kind = args::string(&a[1])?;
        let password = args::string(&a[2])?;
        let user = args::string(&a[3])?;
        let site = args::string(&a[4])?;
        Ok(derive_password(counter, &kind, &password, &user, &site).into())
    });
    fixed(m, "encryptAES", 2, |a| {
        let key = args::string(&a[0])?;
        let text = args::string(&a[1])?;
        encrypt_aes(&key, &text).map(Value::from)
    });
    fixed(m, "decryptAES", 2, |a| {
        let key = args::string(&a[0])?;
        let text = args::string(&a[1])?;
        decrypt_aes(&key, &text).map(Value::from)
    });
    fixed(m, "genPrivateKey", 1, |a| {
        let kind = args::string(&a[0])?;
        Ok(match &*kind {
            "" | "rsa" => KeyPair::generate_rsa(PRIVATE_KEY_RSA_BITS)?.to_pem()?,
            "ecdsa" => KeyPair::generate_ecdsa()?.to_pem()?,
            "ed25519" => KeyPair::generate_ed25519()?.to_pem()?,
            "dsa" => {
                return Err("genPrivateKey: DSA keys are not supported by signet".into());
            }
            other => format!("Unknown type {other}"),
        }
        .into())
    });
    fixed(m, "buildCustomCert", 2, |a| {
        let cert = args::string(&a[0])?;
        let key = args::string(&a[1])?;
        build_custom_cert(&cert, &key)
    });
    fixed(m, "bcrypt", 1, |a| {
        Ok(bcrypt_hash(&args::string(&a[0])?).into())
    });
    fixed(m, "htpasswd", 2, |a| {
        let user = args::string(&a[0])?;
        let password = args::string(&a[1])?;
        Ok(if user.contains(':') {
            format!("invalid username: {user}")
        } else {
            format!("{user}:{}", bcrypt_hash(&password))
        }
        .into())
    });
}

/// Go's `bcrypt.GenerateFromPassword(input, DefaultCost)` as Sprig prints it: `$2a$10$…`, or the
/// failure as text.
fn bcrypt_hash(input: &str) -> String {
    const DEFAULT_COST: u32 = 10;
    if input.len() > 72 {
        return "failed to encrypt string with bcrypt: bcrypt: password length exceeds 72 bytes"
            .into();
    }
    match bcrypt::non_truncating_hash_with_result(input, DEFAULT_COST) {
        Ok(parts) => parts.format_for_version(bcrypt::Version::TwoA),
        Err(e) => format!("failed to encrypt string with bcrypt: {e}"),
    }
}

/// Adler-32 (RFC 1950), as Go's `hash/adler32`.
fn adler32(data: &[u8]) -> u32 {
    const MOD: u32 = 65521;
    let (mut a, mut b) = (1u32, 0u32);
    for chunk in data.chunks(5552) {
        for byte in chunk {
            a += *byte as u32;
            b += a;
        }
        a %= MOD;
        b %= MOD;
    }
    (b << 16) | a
}

const MASTER_PASSWORD_SEED: &str = "com.lyndir.masterpassword";

fn password_templates(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "maximum" => &["anoxxxxxxxxxxxxxxxxx", "axxxxxxxxxxxxxxxxxno"],
        "long" => &[
            "CvcvnoCvcvCvcv",
            "CvcvCvcvnoCvcv",
            "CvcvCvcvCvcvno",
            "CvccnoCvcvCvcv",
            "CvccCvcvnoCvcv",
            "CvccCvcvCvcvno",
            "CvcvnoCvccCvcv",
            "CvcvCvccnoCvcv",
            "CvcvCvccCvcvno",
            "CvcvnoCvcvCvcc",
            "CvcvCvcvnoCvcc",
            "CvcvCvcvCvccno",
            "CvccnoCvccCvcv",
            "CvccCvccnoCvcv",
            "CvccCvccCvcvno",
            "CvcvnoCvccCvcc",
            "CvcvCvccnoCvcc",
            "CvcvCvccCvccno",
            "CvccnoCvcvCvcc",
            "CvccCvcvnoCvcc",
            "CvccCvcvCvccno",
        ],
        "medium" => &["CvcnoCvc", "CvcCvcno"],
        "short" => &["Cvcn"],
        "basic" => &["aaanaaan", "aannaaan", "aaannaaa"],
        "pin" => &["nnnn"],
        _ => return None,
    })
}

fn template_characters(class: char) -> &'static [u8] {
    match class {
        'V' => b"AEIOU",
        'C' => b"BCDFGHJKLMNPQRSTVWXYZ",
        'v' => b"aeiou",
        'c' => b"bcdfghjklmnpqrstvwxyz",
        'A' => b"AEIOUBCDFGHJKLMNPQRSTVWXYZ",
        'a' => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz",
        'n' => b"0123456789",
        'o' => b"@&%?,=[]_:-+*$#!'^~;()/.",
        'x' => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789!@#$%^&*()",
        _ => b"",
    }
}

/// Sprig's `derivePassword` (Master Password v? algorithm as Sprig implements it).
fn derive_password(counter: u32, kind: &str, password: &str, user: &str, site: &str) -> String {
    let Some(templates) = password_templates(kind) else {
        return format!("cannot find password template {kind}");
    };
    let mut salt = MASTER_PASSWORD_SEED.as_bytes().to_vec();
    salt.extend_from_slice(&(user.len() as u32).to_be_bytes());
    salt.extend_from_slice(user.as_bytes());
    let mut key = [0u8; 64];
    let derived = scrypt::Params::new(15, 8, 2)
        .map_err(|e| e.to_string())
        .and_then(|params| {
            scrypt::scrypt(password.as_bytes(), &salt, &params, &mut key).map_err(|e| e.to_string())
        });
    if let Err(e) = derived {
        return format!("failed to derive password: {e}");
    }
    let mut message = MASTER_PASSWORD_SEED.as_bytes().to_vec();
    message.extend_from_slice(&(site.len() as u32).to_be_bytes());
    message.extend_from_slice(site.as_bytes());
    message.extend_from_slice(&counter.to_be_bytes());
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(&key) else {
        return "failed to derive password: bad HMAC key".into();
    };
    mac.update(&message);
    let seed = mac.finalize().into_bytes();
    let template = templates[seed[0] as usize % templates.len()];
    template
        .chars()
        .enumerate()
        .map(|(i, class)| {
            let chars = template_characters(class);
            chars[seed[i + 1] as usize % chars.len()] as char
        })
        .collect()
}

/// The AES-256 key Sprig builds: the password's bytes, zero-padded or cut to 32.
fn aes_key(password: &str) -> Result<aes::Aes256, String> {
    let mut key = [0u8; 32];
    let bytes = password.as_bytes();
    let n = bytes.len().min(32);
    key[..n].copy_from_slice(&bytes[..n]);
    aes::Aes256::new_from_slice(&key).map_err(|e| e.to_string())
}

fn encrypt_aes(password: &str, plaintext: &str) -> Result<String, String> {
    if plaintext.is_empty() {
        return Ok(String::new());
    }
    let cipher = aes_key(password)?;
    let mut content = plaintext.as_bytes().to_vec();
    let padding = 16 - content.len() % 16;
    content.extend(std::iter::repeat_n(padding as u8, padding));
    let mut iv = [0u8; 16];
    getrandom::getrandom(&mut iv).map_err(|e| format!("reading random bytes: {e}"))?;
    let mut out = iv.to_vec();
    let mut prev = iv;
    for chunk in content.chunks(16) {
        let mut block = [0u8; 16];
        for i in 0..16 {
            block[i] = chunk[i] ^ prev[i];
        }
        let mut b = Array(block);
        cipher.encrypt_block(&mut b);
        prev = b.0;
        out.extend_from_slice(&prev);
    }
    Ok(base64::engine::general_purpose::STANDARD.encode(out))
}

fn decrypt_aes(password: &str, crypt64: &str) -> Result<String, String> {
    let crypt = base64::engine::general_purpose::STANDARD
        .decode(crypt64.as_bytes())
        .map_err(|e| format!("illegal base64 data: {e}"))?;
    let cipher = aes_key(password)?;
    if crypt.len() < 16 {
        return Err("ciphertext too short".into());
    }
    let (iv, body) = crypt.split_at(16);
    if body.len() % 16 != 0 {
        return Err("crypto/cipher: input not full blocks".into());
    }
    let mut prev: [u8; 16] = iv.try_into().map_err(|_| "bad IV".to_string())?;
    let mut out = Vec::with_capacity(body.len());
    for chunk in body.chunks(16) {
        let block: [u8; 16] = chunk.try_into().map_err(|_| "bad block".to_string())?;
        let mut b = Array(block);
        cipher.decrypt_block(&mut b);
        out.extend(b.0.iter().zip(prev.iter()).map(|(x, p)| x ^ p));
        prev = block;
    }
    let pad = *out.last().unwrap_or(&0) as usize;
    if pad > out.len() {
        return Err("runtime error: slice bounds out of range".into());
    }
    out.truncate(out.len() - pad);
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Sprig's `certificate` struct: `.Cert` and `.Key` as PEM text.
#[derive(Debug)]
pub(super) struct Certificate {
    pub(super) cert: String,
    pub(super) key: String,
}

impl Object for Certificate {
    fn type_name(&self) -> &str {
        "sprig.certificate"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "Cert" => Some(Value::str(self.cert.as_str())),
            "Key" => Some(Value::str(self.key.as_str())),
            _ => None,
        }
    }
    fn go_string(&self) -> String {
        format!("{{{} {}}}", self.cert, self.key)
    }
    fn to_data(&self) -> Option<Value> {
        let mut m = BTreeMap::new();
        m.insert("Cert".into(), Value::str(self.cert.as_str()));
        m.insert("Key".into(), Value::str(self.key.as_str()));
        Some(Value::map(m))
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// Finds the first PEM block and returns its label and decoded body (Go's `pem.Decode`).
pub(super) fn pem_decode(text: &[u8]) -> Option<(String, Vec<u8>)> {
    let text = String::from_utf8_lossy(text);
    let begin = text.find("-----BEGIN ")?;
    let after = &text[begin + 11..];
    let label_end = after.find("-----")?;
    let label = after[..label_end].to_string();
    let body_start = &after[label_end + 5..];
    let end_marker = format!("-----END {label}-----");
    let end = body_start.find(&end_marker)?;
    let body: String = body_start[..end]
        .lines()
        .filter(|l| !l.contains(':'))
        .collect::<Vec<_>>()
        .join("")
        .split_whitespace()
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body.as_bytes())
        .ok()?;
    Some((label, der))
}

fn build_custom_cert(b64cert: &str, b64key: &str) -> Result<Value, String> {
    let std = base64::engine::general_purpose::STANDARD;
    let cert = std
        .decode(b64cert.as_bytes())
        .map_err(|_| "unable to decode base64 certificate".to_string())?;
    let key = std
        .decode(b64key.as_bytes())
        .map_err(|_| "unable to decode base64 private key".to_string())?;
    let (_, cert_der) = pem_decode(&cert).ok_or("unable to decode certificate")?;
    // A DER certificate is a SEQUENCE; anything else cannot parse as X.509.
    if cert_der.first() != Some(&0x30) {
        return Err("error parsing certificate: x509: malformed certificate".into());
    }
    let (_, key_der) = pem_decode(&key).ok_or("unable to decode key")?;
    if key_der.first() != Some(&0x30) {
        return Err("error parsing private key: x509: malformed private key".into());
    }
    Ok(Value::Object(Rc::new(Certificate {
        cert: String::from_utf8_lossy(&cert).into_owned(),
        key: String::from_utf8_lossy(&key).into_owned(),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_match_go() {
        assert_eq!(adler32(b"abc"), 38600999);
    }

    #[test]
    fn aes_round_trips() {
        let enc = encrypt_aes("secretkey", "plaintext").unwrap();
        assert_eq!(decrypt_aes("secretkey", &enc).unwrap(), "plaintext");
        assert_eq!(encrypt_aes("k", "").unwrap(), "");
    }

    #[test]
    fn derive_password_matches_sprig() {
        assert_eq!(
            derive_password(1, "pin", "password", "user", "example.com"),
            "6685"
        );
        assert_eq!(
            derive_password(1, "long", "password", "user", "example.com"),
            "ZedaFaxcZaso9*"
        );
    }
}
