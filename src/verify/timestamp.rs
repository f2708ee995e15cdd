//! RFC 3161 signed timestamps: the CMS SignedData around a TSTInfo is checked against the trust
//! root's timestamp authorities; the result is a verified time at which a signature existed.

use super::certs::ParsedCert;
use super::crypto::{self, hash_of_signature_oid};
use super::error::VerifyError;
use super::keys::HashAlgorithm;
use super::trust_root::TrustRoot;
use chrono::{DateTime, NaiveDateTime, Utc};
use x509_cert::der::asn1::{AnyRef, ObjectIdentifier};
use x509_cert::der::{self, Decode, Encode, Reader, SliceReader, Tag, TagNumber, Tagged};

const OID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const OID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
/// `signedAttrs [0] IMPLICIT SignedAttributes` of a CMS SignerInfo.
const SIGNED_ATTRS_TAG: Tag = Tag::ContextSpecific {
    constructed: true,
    number: TagNumber(0),
};

fn err(msg: impl Into<String>) -> VerifyError {
    VerifyError::Timestamp(msg.into())
}

fn der_err(e: der::Error) -> VerifyError {
    err(format!("DER: {e}"))
}

fn oid(element: &AnyRef<'_>) -> Result<ObjectIdentifier, VerifyError> {
    ObjectIdentifier::try_from(*element).map_err(|e| err(format!("bad OID: {e}")))
}

/// The element at the start of `bytes`; anything after it is ignored.
fn first_element(bytes: &[u8]) -> Result<AnyRef<'_>, VerifyError> {
    AnyRef::from_der_partial(bytes)
        .map(|(element, _)| element)
        .map_err(der_err)
}

/// The elements a constructed element contains, in order.
fn kids<'a>(element: &AnyRef<'a>) -> Result<Vec<AnyRef<'a>>, VerifyError> {
    let mut reader = SliceReader::new(element.value()).map_err(der_err)?;
    let mut out = Vec::new();
    while !reader.is_finished() {
        out.push(reader.decode().map_err(der_err)?);
    }
    Ok(out)
}

/// Verifies a DER timestamp (a TimeStampResp or a bare token) over `signature` and returns the
/// time it attests, if it was issued by a timestamp authority of the trust root.
pub(crate) fn verify_timestamp(
    token_der: &[u8],
    signature: &[u8],
    root: &TrustRoot,
) -> Result<DateTime<Utc>, VerifyError> {
    let outer = first_element(token_der)?;
    let parts = kids(&outer)?;
    // A TimeStampResp starts with PKIStatusInfo (a SEQUENCE); a ContentInfo with an OID.
    let content_info = match parts.first() {
        Some(first) if first.tag() == Tag::Sequence => {
            let status = kids(first)?;
            let ok = status
                .first()
                .map(|s| s.value() == [0] || s.value() == [1])
                .unwrap_or(false);
            if !ok {
                return Err(err("timestamp response status is not granted"));
            }
            *parts
                .get(1)
                .ok_or_else(|| err("timestamp response carries no token"))?
        }
        _ => outer,
    };
    let ci = kids(&content_info)?;
    let [ct, explicit] = ci.as_slice() else {
        return Err(err("malformed ContentInfo"));
    };
    if oid(ct)? != OID_SIGNED_DATA {
        return Err(err("timestamp token is not CMS SignedData"));
    }
    let signed_data = first_element(explicit.value())?;
    let sd = kids(&signed_data)?;
    let encap = sd.get(2).ok_or_else(|| err("SignedData without content"))?;
    let encap_parts = kids(encap)?;
    let econtent_explicit = encap_parts
        .get(1)
        .ok_or_else(|| err("SignedData without eContent"))?;
    let tst_info_der = first_element(econtent_explicit.value())?.value();
    let signer_infos = sd
        .last()
        .ok_or_else(|| err("SignedData without signerInfos"))?;
    let signers = kids(signer_infos)?;
    let signer = signers.first().ok_or_else(|| err("no SignerInfo"))?;
    let si = kids(signer)?;
    let digest_alg_oid = si
        .get(2)
        .map(kids)
        .transpose()?
        .and_then(|a| a.first().copied());
    let digest_alg = match digest_alg_oid {
        Some(o) => hash_of_signature_oid(&oid(&o)?.to_string()),
        None => None,
    };
    let signed_attrs = si
        .iter()
        .find(|t| t.tag() == SIGNED_ATTRS_TAG)
        .ok_or_else(|| err("SignerInfo without signed attributes"))?;
    let idx = si
        .iter()
        .position(|t| t.tag() == SIGNED_ATTRS_TAG)
        .unwrap_or(0);
    let sig_alg = si
        .get(idx + 1)
        .map(kids)
        .transpose()?
        .and_then(|a| a.first().copied());
    let sig_hash = match sig_alg {
        Some(o) => hash_of_signature_oid(&oid(&o)?.to_string()).or(digest_alg),
        None => digest_alg,
    };
    let sig_value = si
        .get(idx + 2)
        .ok_or_else(|| err("SignerInfo without signature"))?;

    // The messageDigest attribute must be the digest of the TSTInfo.
    let mut message_digest = None;
    for attr in kids(signed_attrs)? {
        let a = kids(&attr)?;
        if let [t, values] = a.as_slice()
            && oid(t)? == OID_MESSAGE_DIGEST
        {
            let v = kids(values)?;
            message_digest = v.first().map(|o| o.value().to_vec());
        }
    }
    let message_digest = message_digest.ok_or_else(|| err("no messageDigest attribute"))?;
    let hash = digest_alg.unwrap_or(HashAlgorithm::Sha256);
    if crypto::digest(hash, tst_info_der) != message_digest {
        return Err(err("messageDigest does not match the TSTInfo"));
    }
    // The signature covers the attributes with their universal SET tag, not the [0] tag.
    let signed_bytes = AnyRef::new(Tag::Set, signed_attrs.value())
        .and_then(|set| set.to_der())
        .map_err(der_err)?;

    let (gen_time, imprint_hash, imprint) = parse_tst_info(tst_info_der)?;
    if crypto::digest(imprint_hash, signature) != imprint {
        return Err(err(
            "timestamp message imprint does not match the signature",
        ));
    }

    let mut reasons = Vec::new();
    for tsa in &root.timestamp_authorities {
        let chain: Vec<ParsedCert> =
            match tsa.chain.iter().map(|c| ParsedCert::from_der(c)).collect() {
                Ok(c) => c,
                Err(e) => {
                    reasons.push(e);
                    continue;
                }
            };
        let Some(leaf) = chain.first() else { continue };
        if leaf
            .key
            .verify_with_hash(&signed_bytes, sig_value.value(), sig_hash)
            .is_err()
        {
            continue;
        }
        if !chain.windows(2).all(|w| w[0].signed_by(&w[1])) {
            reasons.push("timestamp authority chain in the trust root does not verify".into());
            continue;
        }
        if !tsa.valid_at(gen_time) {
            reasons.push(format!(
                "timestamp {gen_time} is outside the timestamp authority's validity"
            ));
            continue;
        }
        if !chain.iter().all(|c| c.valid_at(gen_time)) {
            reasons.push(format!(
                "timestamp {gen_time} is outside the TSA certificate's validity"
            ));
            continue;
        }
        return Ok(gen_time);
    }
    Err(err(if reasons.is_empty() {
        "timestamp was not signed by a timestamp authority of the trust root".to_string()
    } else {
        reasons.join("; ")
    }))
}

/// TSTInfo → (genTime, imprint hash algorithm, imprint).
fn parse_tst_info(
    der_bytes: &[u8],
) -> Result<(DateTime<Utc>, HashAlgorithm, Vec<u8>), VerifyError> {
    let f = kids(&first_element(der_bytes)?)?;
    let imprint = f
        .get(2)
        .ok_or_else(|| err("TSTInfo without messageImprint"))?;
    let imp = kids(imprint)?;
    let [alg, hashed] = imp.as_slice() else {
        return Err(err("malformed messageImprint"));
    };
    let alg_oid = kids(alg)?
        .first()
        .copied()
        .ok_or_else(|| err("messageImprint algorithm"))?;
    let hash = hash_of_signature_oid(&oid(&alg_oid)?.to_string())
        .ok_or_else(|| err("unsupported messageImprint hash algorithm"))?;
    let gen_time = f
        .get(4)
        .filter(|t| t.tag() == Tag::GeneralizedTime)
        .ok_or_else(|| err("TSTInfo without genTime"))?;
    let text = std::str::from_utf8(gen_time.value()).map_err(|_| err("genTime is not ASCII"))?;
    let trimmed = text.trim_end_matches('Z');
    let main = trimmed.split('.').next().unwrap_or_default();
    let t = NaiveDateTime::parse_from_str(main, "%Y%m%d%H%M%S")
        .map_err(|e| err(format!("genTime {text:?}: {e}")))?
        .and_utc();
    Ok((t, hash, hashed.value().to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tlv(tag: Tag, content: &[u8]) -> Vec<u8> {
        AnyRef::new(tag, content).unwrap().to_der().unwrap()
    }

    fn reason(token: &[u8]) -> String {
        match verify_timestamp(token, b"signature", &TrustRoot::default()) {
            Err(VerifyError::Timestamp(reason)) => reason,
            other => panic!("expected a timestamp error, got {other:?}"),
        }
    }

    #[test]
    fn rejected_response_status_is_reported() {
        let status = tlv(Tag::Sequence, &tlv(Tag::Integer, &[2]));
        let response = tlv(Tag::Sequence, &status);
        assert_eq!(
            reason(&response),
            "timestamp response status is not granted"
        );
    }

    #[test]
    fn malformed_der_is_a_timestamp_error() {
        assert!(reason(&[]).starts_with("DER: "));
        assert!(reason(&[0x30, 0x05, 0x02]).starts_with("DER: "));
        // Non-minimal lengths are not DER.
        assert!(reason(&[0x30, 0x81, 0x00]).starts_with("DER: "));
    }

    #[test]
    fn content_info_must_be_signed_data() {
        let data_oid = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1")
            .to_der()
            .unwrap();
        let content_info = tlv(Tag::Sequence, &[data_oid, tlv(Tag::Null, &[])].concat());
        assert_eq!(
            reason(&content_info),
            "timestamp token is not CMS SignedData"
        );
    }
}
