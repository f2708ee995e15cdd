//! A minimal DER tag-length-value reader and writer. Used where signatures cover the exact
//! original bytes (certificate TBS, CMS signed attributes) or where a structure must be rebuilt
//! byte for byte (a precertificate TBS without its SCT extension), which typed decoders hide.

/// One DER element: its tag byte, the whole encoding and the content.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tlv<'a> {
    pub tag: u8,
    pub raw: &'a [u8],
    pub content: &'a [u8],
}

/// Reads the element at the start of `input`; returns it and the remaining bytes.
pub(crate) fn read(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), String> {
    let tag = *input.first().ok_or("DER: unexpected end of data")?;
    if tag & 0x1f == 0x1f {
        return Err("DER: multi-byte tags are not supported".into());
    }
    let first = *input.get(1).ok_or("DER: truncated length")?;
    let (len, header) = if first < 0x80 {
        (first as usize, 2)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 {
            return Err("DER: unsupported length encoding".into());
        }
        let bytes = input.get(2..2 + n).ok_or("DER: truncated length")?;
        (
            bytes.iter().fold(0usize, |acc, b| (acc << 8) | *b as usize),
            2 + n,
        )
    };
    let end = header.checked_add(len).ok_or("DER: length overflow")?;
    if input.len() < end {
        return Err("DER: element longer than its container".into());
    }
    Ok((
        Tlv {
            tag,
            raw: &input[..end],
            content: &input[header..end],
        },
        &input[end..],
    ))
}

/// All consecutive elements of a content.
pub(crate) fn children(mut content: &[u8]) -> Result<Vec<Tlv<'_>>, String> {
    let mut out = Vec::new();
    while !content.is_empty() {
        let (tlv, rest) = read(content)?;
        out.push(tlv);
        content = rest;
    }
    Ok(out)
}

/// Encodes an element from tag and content.
pub(crate) fn encode(tag: u8, content: &[u8]) -> Vec<u8> {
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

/// The exact TBSCertificate bytes, signature algorithm OID and signature of a certificate.
pub(crate) fn split_certificate(cert_der: &[u8]) -> Result<(Vec<u8>, Vec<u8>), String> {
    let (cert, _) = read(cert_der)?;
    let parts = children(cert.content)?;
    let [tbs, _alg, sig] = parts.as_slice() else {
        return Err("certificate is not a 3-element SEQUENCE".into());
    };
    let sig = sig.content.get(1..).ok_or("empty signature BIT STRING")?;
    Ok((tbs.raw.to_vec(), sig.to_vec()))
}
