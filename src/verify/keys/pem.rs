//! PEM armour (RFC 7468) as cosign and Go's `encoding/pem` write it: 64-column base64 lines and `\n`
//! line ends, so files we write are byte-compatible with cosign's. Parsing accepts any number of
//! blocks (certificate chains), CRLF line ends and RFC 1421 header lines.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// One `-----BEGIN LABEL-----` … `-----END LABEL-----` block, decoded.
#[derive(Clone, PartialEq, Eq)]
pub struct PemBlock {
    /// The label, e.g. `PUBLIC KEY` or `ENCRYPTED SIGSTORE PRIVATE KEY`.
    pub label: String,
    /// The decoded base64 body.
    pub contents: Vec<u8>,
}

impl std::fmt::Debug for PemBlock {
    // The contents may be a private key: never print them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PemBlock")
            .field("label", &self.label)
            .field("len", &self.contents.len())
            .finish()
    }
}

/// Why a PEM text could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PemError {
    #[error("no PEM block (\"-----BEGIN …-----\") found")]
    NoBlock,
    #[error("no \"{label}\" PEM block found")]
    MissingLabel { label: String },
    #[error("PEM block \"{label}\" has no matching \"-----END {label}-----\" line")]
    Unterminated { label: String },
    #[error("PEM block \"{label}\" has invalid base64: {source}")]
    Base64 {
        label: String,
        source: base64::DecodeError,
    },
}

/// Encodes `contents` as one PEM block with 64-column lines and a trailing newline.
pub fn encode(label: &str, contents: &[u8]) -> String {
    let body = STANDARD.encode(contents);
    let mut out = String::with_capacity(body.len() + body.len() / 64 + 2 * label.len() + 40);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    for chunk in body.as_bytes().chunks(64) {
        // Base64 output is ASCII, so every 64-byte chunk is valid UTF-8.
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

/// Parses every PEM block in `text`, in order; text between blocks is ignored.
pub fn parse_all(text: &[u8]) -> Result<Vec<PemBlock>, PemError> {
    let text = String::from_utf8_lossy(text);
    let mut blocks = Vec::new();
    let mut lines = text.lines().map(str::trim);
    while let Some(line) = lines.next() {
        let Some(label) = line
            .strip_prefix("-----BEGIN ")
            .and_then(|rest| rest.strip_suffix("-----"))
        else {
            continue;
        };
        let end = format!("-----END {label}-----");
        let mut body = String::new();
        let mut terminated = false;
        for line in lines.by_ref() {
            if line == end {
                terminated = true;
                break;
            }
            // RFC 1421 headers ("Proc-Type: …") are not base64; skip them.
            if line.contains(':') {
                continue;
            }
            body.push_str(line);
        }
        if !terminated {
            return Err(PemError::Unterminated {
                label: label.to_string(),
            });
        }
        let contents = STANDARD
            .decode(body.as_bytes())
            .map_err(|source| PemError::Base64 {
                label: label.to_string(),
                source,
            })?;
        blocks.push(PemBlock {
            label: label.to_string(),
            contents,
        });
    }
    if blocks.is_empty() {
        return Err(PemError::NoBlock);
    }
    Ok(blocks)
}

/// Parses the first PEM block in `text`.
pub fn parse_first(text: &[u8]) -> Result<PemBlock, PemError> {
    parse_all(text)?.into_iter().next().ok_or(PemError::NoBlock)
}

/// The first block labelled `label` in `text` (other blocks may come before it).
pub fn find_labelled(text: &[u8], label: &str) -> Result<PemBlock, PemError> {
    parse_all(text)?
        .into_iter()
        .find(|b| b.label == label)
        .ok_or_else(|| PemError::MissingLabel {
            label: label.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_with_64_column_lf_lines() {
        let data: Vec<u8> = (0u8..=200).collect();
        let text = encode("PUBLIC KEY", &data);
        assert!(text.starts_with("-----BEGIN PUBLIC KEY-----\n"));
        assert!(text.ends_with("-----END PUBLIC KEY-----\n"));
        assert!(!text.contains('\r'));
        assert!(text.lines().all(|l| l.len() <= 64));
        let block = parse_first(text.as_bytes()).unwrap();
        assert_eq!(block.label, "PUBLIC KEY");
        assert_eq!(block.contents, data);
    }

    #[test]
    fn parses_chains_and_crlf() {
        let text = format!(
            "junk\r\n{}{}",
            encode("CERTIFICATE", b"one").replace('\n', "\r\n"),
            encode("CERTIFICATE", b"two")
        );
        let blocks = parse_all(text.as_bytes()).unwrap();
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[1].contents, b"two");
    }

    #[test]
    fn reports_missing_and_broken_blocks() {
        assert!(matches!(parse_all(b"hello"), Err(PemError::NoBlock)));
        assert!(matches!(
            parse_all(b"-----BEGIN X-----\nAAAA\n"),
            Err(PemError::Unterminated { .. })
        ));
        assert!(matches!(
            parse_all(b"-----BEGIN X-----\n!!!!\n-----END X-----\n"),
            Err(PemError::Base64 { .. })
        ));
    }

    #[test]
    fn finds_a_labelled_block_after_others() {
        let text = format!(
            "{}{}",
            encode("CERTIFICATE", b"cert"),
            encode("PUBLIC KEY", b"key")
        );
        let block = find_labelled(text.as_bytes(), "PUBLIC KEY").unwrap();
        assert_eq!(block.contents, b"key");
        let err = find_labelled(text.as_bytes(), "PRIVATE KEY").unwrap_err();
        assert_eq!(err.to_string(), "no \"PRIVATE KEY\" PEM block found");
    }
}
