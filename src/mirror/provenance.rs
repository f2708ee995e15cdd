//! Helm provenance (`helm package --sign`): a `.prov` file next to the archive holding a
//! clearsigned OpenPGP message whose text is the chart's Chart.yaml, a `...` line, and
//! `files: {<archive name>: sha256:<hex>}`. Checked as `helm verify` does: the signature must be
//! by a key in the keyring, and the checksum for the archive's file name must be the archive's.
//! Key expiry and revocation are not evaluated (Helm does not either).

use std::collections::BTreeMap;
use std::path::Path;

use pgp::composed::{CleartextSignedMessage, PublicOrSecret, SignedPublicKey};
use pgp::types::KeyDetails;
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use super::MirrorError;

/// The public keys of a keyring file (`--keyring`, binary or ASCII-armored; public or secret
/// keys, as `gpg --export` or Helm's legacy `secring.gpg` hold them).
#[derive(Debug, Clone)]
pub struct Keyring {
    path: String,
    keys: Vec<SignedPublicKey>,
}

/// A provenance file that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvenanceCheck {
    /// The signer's first user ID (e.g. `Jane <jane@example.com>`).
    pub signer: String,
    /// The signing key's fingerprint (hex, upper case).
    pub fingerprint: String,
}

impl Keyring {
    /// Reads the keys in `path`.
    pub fn load(path: &Path) -> Result<Self, MirrorError> {
        let shown = path.display().to_string();
        let invalid = |reason: String| MirrorError::Keyring {
            path: shown.clone(),
            reason,
        };
        let bytes = std::fs::read(path).map_err(|e| invalid(format!("cannot read it: {e}")))?;
        Self::from_bytes(&bytes, &shown)
    }

    /// Parses keyring bytes; `path` names them in messages.
    pub fn from_bytes(bytes: &[u8], path: &str) -> Result<Self, MirrorError> {
        let invalid = |reason: String| MirrorError::Keyring {
            path: path.to_string(),
            reason,
        };
        // GnuPG ≥ 2.1 keeps keys in a keybox (pubring.kbx), which neither Helm nor OpenPGP
        // libraries read; say how to get the format Helm wants.
        if bytes.len() > 12 && &bytes[8..12] == b"KBXf" {
            return Err(invalid(
                "this is a GnuPG keybox (pubring.kbx), not an OpenPGP keyring; export one with \
                 `gpg --export > pubring.gpg` (as Helm needs too)"
                    .into(),
            ));
        }
        let (keys, _) = PublicOrSecret::from_reader_many(bytes)
            .map_err(|e| invalid(format!("not an OpenPGP keyring: {e}")))?;
        let mut out = Vec::new();
        for key in keys {
            match key {
                Ok(PublicOrSecret::Public(k)) => out.push(k),
                Ok(PublicOrSecret::Secret(k)) => out.push(k.to_public_key()),
                Err(e) => return Err(invalid(format!("not an OpenPGP keyring: {e}"))),
            }
        }
        if out.is_empty() {
            return Err(invalid("holds no OpenPGP keys".into()));
        }
        Ok(Self {
            path: path.to_string(),
            keys: out,
        })
    }

    /// How many keys (certificates) the keyring holds.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the keyring holds no key (never true for a loaded keyring).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Checks `provenance` for the archive `archive` named `file_name` (the last segment of its
    /// URL, as Helm names it in the `.prov`) of chart `name` at `version`. The error is the
    /// reason, for the caller to wrap with the chart and URL.
    pub fn verify(
        &self,
        provenance: &[u8],
        archive: &[u8],
        file_name: &str,
        name: &str,
        version: &str,
    ) -> Result<ProvenanceCheck, String> {
        let text = std::str::from_utf8(provenance)
            .map_err(|_| "not a clearsigned OpenPGP message (not UTF-8 text)".to_string())?;
        let (message, _) = CleartextSignedMessage::from_string(text)
            .map_err(|e| format!("not a clearsigned OpenPGP message: {e}"))?;
        let check = self.verify_signature(&message)?;
        let signed = message.signed_text().replace("\r\n", "\n");
        let block = ProvenanceBlock::parse(&signed)?;
        let sum = format!("sha256:{}", hex::encode(Sha256::digest(archive)));
        match block.files.get(file_name) {
            None => {
                let names: Vec<&str> = block.files.keys().map(String::as_str).collect();
                return Err(format!(
                    "it holds no checksum for a file named {file_name:?} (it names: {})",
                    names.join(", ")
                ));
            }
            Some(expected) if *expected != sum => {
                return Err(format!(
                    "the signed checksum of {file_name} is {expected}, but the archive is {sum}"
                ));
            }
            Some(_) => {}
        }
        if block.name != name || block.version != version {
            return Err(format!(
                "it was made for chart {} {}, not {name} {version}",
                block.name, block.version
            ));
        }
        Ok(check)
    }

    /// The key that made one of the message's signatures, or why none did.
    fn verify_signature(
        &self,
        message: &CleartextSignedMessage,
    ) -> Result<ProvenanceCheck, String> {
        if message.signatures().is_empty() {
            return Err("the message carries no signature".into());
        }
        let signed = message.signed_text();
        let mut known_but_bad = Vec::new();
        let mut unknown = Vec::new();
        for signature in message.signatures() {
            let ids: Vec<String> = signature
                .issuer_key_id()
                .iter()
                .map(|id| hex::encode_upper(id.as_ref()))
                .collect();
            let fingerprints = signature.issuer_fingerprint();
            let mut matched = false;
            for key in &self.keys {
                let primary = &key.primary_key;
                let names_key = |kid: String, fp: pgp::types::Fingerprint| {
                    (ids.is_empty() && fingerprints.is_empty())
                        || ids.contains(&kid)
                        || fingerprints.iter().any(|f| **f == fp)
                };
                let signer = || ProvenanceCheck {
                    signer: key
                        .details
                        .users
                        .first()
                        .map(|u| String::from_utf8_lossy(u.id.id()).into_owned())
                        .unwrap_or_default(),
                    fingerprint: hex::encode_upper(key.fingerprint().as_bytes()),
                };
                if names_key(
                    hex::encode_upper(primary.legacy_key_id().as_ref()),
                    primary.fingerprint(),
                ) {
                    matched = true;
                    if signature.verify(primary, signed.as_bytes()).is_ok() {
                        return Ok(signer());
                    }
                }
                for sub in &key.public_subkeys {
                    if !names_key(
                        hex::encode_upper(sub.key.legacy_key_id().as_ref()),
                        sub.key.fingerprint(),
                    ) {
                        continue;
                    }
                    // A subkey speaks for the key only when the key bound it.
                    if sub.verify_bindings(primary).is_err() {
                        continue;
                    }
                    matched = true;
                    if signature.verify(&sub.key, signed.as_bytes()).is_ok() {
                        return Ok(signer());
                    }
                }
            }
            let named = if ids.is_empty() {
                "an unnamed key".to_string()
            } else {
                format!("key {}", ids.join("/"))
            };
            if matched {
                known_but_bad.push(named);
            } else {
                unknown.push(named);
            }
        }
        if !known_but_bad.is_empty() {
            return Err(format!(
                "the signature by {} does not verify: the signed text or the signature was \
                 altered",
                known_but_bad.join(", ")
            ));
        }
        Err(format!(
            "signed by {}, which is not in the keyring {}",
            unknown.join(", "),
            self.path
        ))
    }
}

/// The signed text of a `.prov`: Chart.yaml, `...`, then the checksums.
struct ProvenanceBlock {
    name: String,
    version: String,
    files: BTreeMap<String, String>,
}

impl ProvenanceBlock {
    fn parse(text: &str) -> Result<Self, String> {
        #[derive(Deserialize)]
        struct Metadata {
            #[serde(default)]
            name: String,
            #[serde(default)]
            version: String,
        }
        #[derive(Deserialize)]
        struct Sums {
            #[serde(default)]
            files: BTreeMap<String, String>,
        }
        // Helm separates the two YAML documents with the document end marker, since `---`
        // cannot start a line in a clearsigned message.
        let (metadata, sums) = text
            .split_once("\n...\n")
            .ok_or("the signed text is not Helm's (Chart.yaml, `...`, checksums)")?;
        let metadata: Metadata = serde_saphyr::from_str(metadata)
            .map_err(|e| format!("the signed Chart.yaml does not parse: {e}"))?;
        let sums: Sums = serde_saphyr::from_str(sums)
            .map_err(|e| format!("the signed checksums do not parse: {e}"))?;
        Ok(Self {
            name: metadata.name,
            version: metadata.version,
            files: sums.files,
        })
    }
}

/// The file name Helm gives an archive in its `.prov`: the last segment of its URL path.
pub fn archive_file_name(url: &url::Url) -> String {
    url.path_segments()
        .and_then(|mut s| s.next_back())
        .map(percent_decode)
        .unwrap_or_default()
}

fn percent_decode(s: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push(hi << 4 | lo);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helm_block_parses() {
        let text = "apiVersion: v2\nname: app\nversion: 1.0.0\n\n...\nfiles:\n  app-1.0.0.tgz: sha256:abcd\n";
        let block = ProvenanceBlock::parse(text).unwrap();
        assert_eq!(block.name, "app");
        assert_eq!(block.files["app-1.0.0.tgz"], "sha256:abcd");
        assert!(ProvenanceBlock::parse("name: x\n").is_err());
    }

    #[test]
    fn file_names_come_from_the_url() {
        let url = url::Url::parse("https://h/a/b/app%2B1-1.0.0.tgz?x=1").unwrap();
        assert_eq!(archive_file_name(&url), "app+1-1.0.0.tgz");
    }

    #[test]
    fn keyboxes_and_garbage_are_refused() {
        let mut kbx = vec![0u8; 32];
        kbx[8..12].copy_from_slice(b"KBXf");
        let err = Keyring::from_bytes(&kbx, "pubring.kbx").unwrap_err();
        assert!(err.to_string().contains("gpg --export"), "{err}");
        assert!(Keyring::from_bytes(b"hello", "k").is_err());
    }
}
