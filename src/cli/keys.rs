//! `signet generate-key-pair`: writes `cosign.key` (password-encrypted, cosign's format) and
//! `cosign.pub`, like `cosign generate-key-pair`. Also the key-password and key-file helpers
//! `signet sign` shares: the password comes from `COSIGN_PASSWORD` when set (even empty), else
//! from a no-echo terminal prompt, else from the first line of standard input.

use std::io::{BufRead, IsTerminal, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;
use zeroize::Zeroizing;

use crate::verify::keys::{KeyAlgorithm, KeyError, SigningKey};

/// Environment variable cosign reads the key password from.
pub const PASSWORD_ENV: &str = "COSIGN_PASSWORD";

#[derive(Debug, Args)]
pub struct GenerateKeyPairArgs {
    /// Write PREFIX.key and PREFIX.pub.
    #[arg(long, value_name = "PREFIX", default_value = "cosign")]
    pub output_key_prefix: PathBuf,
}

/// Reads a password as cosign does; `confirm` asks twice on a terminal (for new keys).
pub fn read_password(confirm: bool) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    if let Ok(password) = std::env::var(PASSWORD_ENV) {
        return Ok(Zeroizing::new(password.into_bytes()));
    }
    if std::io::stdin().is_terminal() {
        let first = Zeroizing::new(
            rpassword::prompt_password("Enter password for private key: ")
                .map_err(|e| KeyError::Password(e.to_string()))?,
        );
        if confirm {
            let again = Zeroizing::new(
                rpassword::prompt_password("Enter password for private key again: ")
                    .map_err(|e| KeyError::Password(e.to_string()))?,
            );
            if *first != *again {
                return Err(KeyError::Password("the passwords do not match".into()));
            }
        }
        return Ok(Zeroizing::new(first.as_bytes().to_vec()));
    }
    let mut line = Zeroizing::new(String::new());
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| KeyError::Password(format!("cannot read standard input: {e}")))?;
    if line.is_empty() {
        return Err(KeyError::Password(format!(
            "set {PASSWORD_ENV}, run in a terminal, or pipe the password on standard input"
        )));
    }
    Ok(Zeroizing::new(
        line.trim_end_matches(['\r', '\n']).as_bytes().to_vec(),
    ))
}

/// Loads a signing key file (cosign's encrypted format or a plain PEM key), asking for the
/// password only when the key is encrypted.
pub fn load_signing_key(path: &Path) -> anyhow::Result<SigningKey> {
    let text = Zeroizing::new(
        std::fs::read(path).with_context(|| format!("cannot read key {}", path.display()))?,
    );
    SigningKey::from_pem(&text, || read_password(false))
        .with_context(|| format!("cannot load key {}", path.display()))
}

/// Creates `path` with `mode`, refusing to overwrite an existing file.
fn write_new(path: &Path, contents: &[u8], mode: u32) -> anyhow::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .with_context(|| {
            format!(
                "cannot create {} (an existing key is never overwritten: remove it or pick \
                 another --output-key-prefix)",
                path.display()
            )
        })?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Runs `signet generate-key-pair`.
pub fn run(args: GenerateKeyPairArgs) -> anyhow::Result<()> {
    let prefix = args.output_key_prefix.as_os_str().to_string_lossy();
    let key_path = PathBuf::from(format!("{prefix}.key"));
    let pub_path = PathBuf::from(format!("{prefix}.pub"));
    for path in [&key_path, &pub_path] {
        if path.exists() {
            bail!(
                "{} already exists; an existing key is never overwritten (remove it or pick \
                 another --output-key-prefix)",
                path.display()
            );
        }
    }
    let key = SigningKey::generate(KeyAlgorithm::EcdsaP256)?;
    let password = read_password(true)?;
    let encrypted = key.to_encrypted_pem(&password)?;
    write_new(&key_path, encrypted.as_bytes(), 0o600)?;
    write_new(&pub_path, key.public_key().to_pem().as_bytes(), 0o644)?;
    eprintln!("Private key written to {}", key_path.display());
    eprintln!("Public key written to {}", pub_path.display());
    Ok(())
}
