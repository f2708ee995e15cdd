//! RFC 3161 signed timestamps: the CMS SignedData around a TSTInfo is checked against the trust
//! root's timestamp authorities; the result is a verified time at which a signature existed.

use super::certs::ParsedCert;
use super::crypto::{self, hash_of_signature_oid};
use super::der::{self, Tlv};
use super::error::VerifyError;
use super::keys::HashAlgorithm;
use super::trust_root::TrustRoot;
use chrono::{DateTime, NaiveDateTime, Utc};
use x509_cert::der::Decode;
use x509_cert::der::oid::ObjectIdentifier;

const OID_MESSAGE_DIGEST: &str = "1.2.840.113549.1.9.4";
const OID_SIGNED_DATA: &str = "1.2.840.113549.1.7.2";

fn err(msg: impl Into<String>) -> VerifyError {
    VerifyError::Timestamp(msg.into())
}

fn oid(tlv: &Tlv<'_>) -> Result<String, VerifyError> {
    <ObjectIdentifier as Decode>::from_der(tlv.raw)
        .map(|o: ObjectIdentifier| o.to_string())
        .map_err(|e| err(format!("bad OID: {e}")))
}

fn kids<'a>(tlv: &Tlv<'a>) -> Result<Vec<Tlv<'a>>, VerifyError> {
    der::children(tlv.content).map_err(err)
}

/// Verifies a DER timestamp (a TimeStampResp or a bare token) over `signature` and returns the
/// time it attests, if it was issued by a timestamp authority of the trust root.
pub(crate) fn verify_timestamp(
    token_der: &[u8],
    signature: &[u8],
    root: &TrustRoot,
) -> Result<DateTime<Utc>, VerifyError> {
    let (outer, _) = der::read(token_der).map_err(err)?;
    let parts = kids(&outer)?;
    // A TimeStampResp starts with PKIStatusInfo (a SEQUENCE); a ContentInfo with an OID.
    let content_info = match parts.first() {
        Some(first) if first.tag == 0x30 => {
            let status = kids(first)?;
            let ok = status
                .first()
                .map(|s| s.content == [0] || s.content == [1])
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
    let (signed_data, _) = der::read(explicit.content).map_err(err)?;
    let sd = kids(&signed_data)?;
    let encap = sd.get(2).ok_or_else(|| err("SignedData without content"))?;
    let encap_parts = kids(encap)?;
    let econtent_explicit = encap_parts
        .get(1)
        .ok_or_else(|| err("SignedData without eContent"))?;
    let (econtent, _) = der::read(econtent_explicit.content).map_err(err)?;
    let tst_info_der = econtent.content;
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
        Some(o) => hash_of_signature_oid(&oid(&o)?),
        None => None,
    };
    let signed_attrs = si
        .iter()
        .find(|t| t.tag == 0xa0)
        .ok_or_else(|| err("SignerInfo without signed attributes"))?;
    let idx = si.iter().position(|t| t.tag == 0xa0).unwrap_or(0);
    let sig_alg = si
        .get(idx + 1)
        .map(kids)
        .transpose()?
        .and_then(|a| a.first().copied());
    let sig_hash = match sig_alg {
        Some(o) => hash_of_signature_oid(&oid(&o)?).or(digest_alg),
        None => digest_alg,
    };
    let sig_value = si
        .get(idx + 2)
        .ok_or_else(|| err("SignerInfo without signature"))?;

    // The messageDigest attribute must be the digest of the TSTInfo.
    let mut message_digest = None;
    for attr in der::children(signed_attrs.content).map_err(err)? {
        let a = kids(&attr)?;
        if let [t, values] = a.as_slice()
            && oid(t)? == OID_MESSAGE_DIGEST
        {
            let v = kids(values)?;
            message_digest = v.first().map(|o| o.content.to_vec());
        }
    }
    let message_digest = message_digest.ok_or_else(|| err("no messageDigest attribute"))?;
    let hash = digest_alg.unwrap_or(HashAlgorithm::Sha256);
    if crypto::digest(hash, tst_info_der) != message_digest {
        return Err(err("messageDigest does not match the TSTInfo"));
    }
    let signed_bytes = der::encode(0x31, signed_attrs.content);

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
            .verify_with_hash(&signed_bytes, sig_value.content, sig_hash)
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
    let (tst, _) = der::read(der_bytes).map_err(err)?;
    let f = kids(&tst)?;
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
    let hash = hash_of_signature_oid(&oid(&alg_oid)?)
        .ok_or_else(|| err("unsupported messageImprint hash algorithm"))?;
    let gen_time = f
        .get(4)
        .filter(|t| t.tag == 0x18)
        .ok_or_else(|| err("TSTInfo without genTime"))?;
    let text = std::str::from_utf8(gen_time.content).map_err(|_| err("genTime is not ASCII"))?;
    let trimmed = text.trim_end_matches('Z');
    let main = trimmed.split('.').next().unwrap_or_default();
    let t = NaiveDateTime::parse_from_str(main, "%Y%m%d%H%M%S")
        .map_err(|e| err(format!("genTime {text:?}: {e}")))?
        .and_utc();
    Ok((t, hash, hashed.content.to_vec()))
}
