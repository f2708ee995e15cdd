//! The password envelope inside cosign's `ENCRYPTED SIGSTORE PRIVATE KEY` PEM block: JSON holding
//! scrypt parameters and salt, a NaCl secretbox (XSalsa20-Poly1305) nonce, and the sealed PKCS#8 key
//! (go-securesystemslib's `encrypted` format). Written exactly as cosign 2.x writes it (scrypt
//! N=65536, r=8, p=1, field order as Go marshals it); read with only the two parameter sets cosign
//! has ever used, so a hostile file cannot make us spend unbounded memory or time in scrypt.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use crypto_secretbox::aead::{Aead, KeyInit};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

const KDF_NAME: &str = "scrypt";
const CIPHER_NAME: &str = "nacl/secretbox";
/// cosign 2.x writes N=2^16; go-tuf-era cosign keys used N=2^15.
const SCRYPT_N_WRITTEN: u64 = 1 << 16;
const SCRYPT_N_ACCEPTED: [u64; 2] = [1 << 15, 1 << 16];
const SCRYPT_R: u32 = 8;
const SCRYPT_P: u32 = 1;
const SALT_LEN: usize = 32;
const NONCE_LEN: usize = 24;
const KEY_LEN: usize = 32;

/// Why an encrypted key could not be sealed or opened.
#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    #[error("the encrypted key body is not the JSON envelope cosign writes: {0}")]
    Json(#[from] serde_json::Error),
    #[error("field {field}: {reason}")]
    Field { field: &'static str, reason: String },
    #[error("decryption failed: wrong password, or the key file is corrupted")]
    WrongPassword,
    #[error("cannot {0}")]
    Crypto(&'static str),
}

#[derive(Serialize, Deserialize)]
struct Envelope {
    kdf: Kdf,
    cipher: Cipher,
    ciphertext: String,
}

#[derive(Serialize, Deserialize)]
struct Kdf {
    name: String,
    params: ScryptParams,
    salt: String,
}

#[derive(Serialize, Deserialize)]
struct ScryptParams {
    #[serde(rename = "N")]
    n: u64,
    r: u32,
    p: u32,
}

#[derive(Serialize, Deserialize)]
struct Cipher {
    name: String,
    nonce: String,
}

fn field_error(field: &'static str, reason: impl Into<String>) -> EnvelopeError {
    EnvelopeError::Field {
        field,
        reason: reason.into(),
    }
}

fn derive_key(
    password: &[u8],
    salt: &[u8],
    n: u64,
) -> Result<Zeroizing<[u8; KEY_LEN]>, EnvelopeError> {
    let log_n =
        u8::try_from(n.trailing_zeros()).map_err(|_| field_error("kdf.params.N", "too large"))?;
    let params = scrypt::Params::new(log_n, SCRYPT_R, SCRYPT_P)
        .map_err(|_| EnvelopeError::Crypto("build scrypt parameters"))?;
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    scrypt::scrypt(password, salt, &params, key.as_mut_slice())
        .map_err(|_| EnvelopeError::Crypto("derive the key with scrypt"))?;
    Ok(key)
}

fn random_bytes<const N: usize>() -> Result<[u8; N], EnvelopeError> {
    let mut out = [0u8; N];
    aws_lc_rs::rand::fill(&mut out).map_err(|_| EnvelopeError::Crypto("read random bytes"))?;
    Ok(out)
}

/// Seals `plaintext` (a PKCS#8 DER key) under `password`; returns the JSON envelope bytes.
pub fn seal(plaintext: &[u8], password: &[u8]) -> Result<Vec<u8>, EnvelopeError> {
    let salt: [u8; SALT_LEN] = random_bytes()?;
    let nonce: [u8; NONCE_LEN] = random_bytes()?;
    let key = derive_key(password, &salt, SCRYPT_N_WRITTEN)?;
    let cipher = crypto_secretbox::XSalsa20Poly1305::new(&(*key).into());
    let sealed = cipher
        .encrypt(&nonce.into(), plaintext)
        .map_err(|_| EnvelopeError::Crypto("seal the key with secretbox"))?;
    let envelope = Envelope {
        kdf: Kdf {
            name: KDF_NAME.to_string(),
            params: ScryptParams {
                n: SCRYPT_N_WRITTEN,
                r: SCRYPT_R,
                p: SCRYPT_P,
            },
            salt: STANDARD.encode(salt),
        },
        cipher: Cipher {
            name: CIPHER_NAME.to_string(),
            nonce: STANDARD.encode(nonce),
        },
        ciphertext: STANDARD.encode(sealed),
    };
    Ok(serde_json::to_vec(&envelope)?)
}

/// The envelope names the one algorithm cosign uses for `field`; anything else is refused.
fn require_name(field: &'static str, actual: &str, supported: &str) -> Result<(), EnvelopeError> {
    if actual == supported {
        Ok(())
    } else {
        Err(field_error(
            field,
            format!("{actual:?} is not supported (only {supported:?})"),
        ))
    }
}

/// Opens a JSON envelope with `password`; returns the plaintext (PKCS#8 DER key).
pub fn open(envelope: &[u8], password: &[u8]) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
    let envelope: Envelope = serde_json::from_slice(envelope)?;
    require_name("kdf.name", &envelope.kdf.name, KDF_NAME)?;
    require_name("cipher.name", &envelope.cipher.name, CIPHER_NAME)?;
    let params = &envelope.kdf.params;
    if !SCRYPT_N_ACCEPTED.contains(&params.n) || params.r != SCRYPT_R || params.p != SCRYPT_P {
        return Err(field_error(
            "kdf.params",
            format!(
                "N={} r={} p={} are not cosign's parameters (N=32768 or 65536, r=8, p=1)",
                params.n, params.r, params.p
            ),
        ));
    }
    let salt = STANDARD
        .decode(&envelope.kdf.salt)
        .map_err(|e| field_error("kdf.salt", format!("invalid base64: {e}")))?;
    let nonce: [u8; NONCE_LEN] = STANDARD
        .decode(&envelope.cipher.nonce)
        .map_err(|e| field_error("cipher.nonce", format!("invalid base64: {e}")))?
        .try_into()
        .map_err(|_| field_error("cipher.nonce", format!("must be {NONCE_LEN} bytes")))?;
    let sealed = STANDARD
        .decode(&envelope.ciphertext)
        .map_err(|e| field_error("ciphertext", format!("invalid base64: {e}")))?;
    let key = derive_key(password, &salt, params.n)?;
    let cipher = crypto_secretbox::XSalsa20Poly1305::new(&(*key).into());
    cipher
        .decrypt(&nonce.into(), sealed.as_slice())
        .map(Zeroizing::new)
        .map_err(|_| EnvelopeError::WrongPassword)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_then_open_round_trips_and_matches_cosign_layout() {
        let sealed = seal(b"secret key bytes", b"pw").unwrap();
        let text = String::from_utf8(sealed.clone()).unwrap();
        assert!(
            text.starts_with(
                r#"{"kdf":{"name":"scrypt","params":{"N":65536,"r":8,"p":1},"salt":""#
            ),
            "{text}"
        );
        assert!(text.contains(r#""cipher":{"name":"nacl/secretbox","nonce":""#));
        assert_eq!(
            open(&sealed, b"pw").unwrap().as_slice(),
            b"secret key bytes"
        );
        assert!(matches!(
            open(&sealed, b"wrong"),
            Err(EnvelopeError::WrongPassword)
        ));
    }

    #[test]
    fn rejects_expensive_or_unknown_parameters() {
        let sealed = String::from_utf8(seal(b"k", b"pw").unwrap()).unwrap();
        let costly = sealed.replace(r#""N":65536"#, r#""N":1073741824"#);
        let err = open(costly.as_bytes(), b"pw").unwrap_err().to_string();
        assert!(err.contains("kdf.params"), "{err}");
        let other = sealed.replace("nacl/secretbox", "aes-gcm");
        let err = open(other.as_bytes(), b"pw").unwrap_err().to_string();
        assert!(err.contains("cipher.name"), "{err}");
    }
}
