//! A minimal DER writer and reader for the certificates and keys Sprig's generators produce, and
//! Go's PEM encoding.

use base64::Engine;

/// PEM text as Go's `pem.Encode` writes it.
pub(super) fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// A minimal DER writer.
pub(super) struct Der;

impl Der {
    pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let len = content.len();
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let bytes: Vec<u8> = len
                .to_be_bytes()
                .iter()
                .copied()
                .skip_while(|b| *b == 0)
                .collect();
            out.push(0x80 | bytes.len() as u8);
            out.extend(bytes);
        }
        out.extend_from_slice(content);
        out
    }

    pub fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
        Der::tlv(0x30, &parts.concat())
    }

    pub fn oid(arcs: &[u64]) -> Vec<u8> {
        let mut body = vec![(arcs[0] * 40 + arcs[1]) as u8];
        for &arc in &arcs[2..] {
            let mut chunk = vec![(arc & 0x7f) as u8];
            let mut rest = arc >> 7;
            while rest > 0 {
                chunk.push(0x80 | (rest & 0x7f) as u8);
                rest >>= 7;
            }
            chunk.reverse();
            body.extend(chunk);
        }
        Der::tlv(0x06, &body)
    }

    /// A non-negative INTEGER from big-endian magnitude bytes.
    pub fn uint(magnitude: &[u8]) -> Vec<u8> {
        let trimmed: Vec<u8> = magnitude.iter().copied().skip_while(|b| *b == 0).collect();
        let mut body = Vec::with_capacity(trimmed.len() + 1);
        if trimmed.first().is_none_or(|b| b & 0x80 != 0) {
            body.push(0);
        }
        body.extend(trimmed);
        Der::tlv(0x02, &body)
    }

    pub fn bit_string(bytes: &[u8], unused: u8) -> Vec<u8> {
        let mut body = vec![unused];
        body.extend_from_slice(bytes);
        Der::tlv(0x03, &body)
    }

    pub fn octets(bytes: &[u8]) -> Vec<u8> {
        Der::tlv(0x04, bytes)
    }

    /// Go's `time.Time` in a certificate: UTCTime before 2050, GeneralizedTime after.
    pub fn time(unix: i64) -> Vec<u8> {
        use chrono::Datelike;
        let t = chrono::DateTime::from_timestamp(unix, 0).unwrap_or_default();
        if t.year() < 2050 {
            Der::tlv(0x17, t.format("%y%m%d%H%M%SZ").to_string().as_bytes())
        } else {
            Der::tlv(0x18, t.format("%Y%m%d%H%M%SZ").to_string().as_bytes())
        }
    }
}

/// One DER element: (tag, content, whole element, the bytes after it).
pub(super) type Tlv<'a> = (u8, &'a [u8], &'a [u8], &'a [u8]);

/// Reads one TLV element.
pub(super) fn read_tlv(b: &[u8]) -> Option<Tlv<'_>> {
    let tag = *b.first()?;
    let first = *b.get(1)? as usize;
    let (len, header) = if first < 0x80 {
        (first, 2)
    } else {
        let n = first & 0x7f;
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | *b.get(2 + i)? as usize;
        }
        (len, 2 + n)
    };
    let end = header.checked_add(len)?;
    Some((tag, b.get(header..end)?, b.get(..end)?, b.get(end..)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_primitives() {
        assert_eq!(
            Der::oid(&[2, 5, 29, 15]),
            vec![0x06, 0x03, 0x55, 0x1d, 0x0f]
        );
        assert_eq!(
            Der::oid(&[1, 2, 840, 113_549, 1, 1, 11]),
            vec![
                0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b
            ]
        );
        assert_eq!(Der::uint(&[0x80]), vec![0x02, 0x02, 0x00, 0x80]);
        assert_eq!(Der::tlv(0x04, &[0u8; 200])[..3], [0x04, 0x81, 200]);
        // 2049-12-31T23:59:59Z is the last UTCTime; a second later is GeneralizedTime.
        assert_eq!(Der::time(2_524_607_999), Der::tlv(0x17, b"491231235959Z"));
        assert_eq!(Der::time(2_524_608_000), Der::tlv(0x18, b"20500101000000Z"));
    }
}
