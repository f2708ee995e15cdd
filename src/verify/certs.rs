//! Signing certificates: parsing, the chain to a trust-root CA, Fulcio identity (SANs and the OIDC
//! issuer extensions 1.3.6.1.4.1.57264.1.1 / .1.8) and embedded SCTs checked against CT log keys.

use super::crypto::{self, hash_of_signature_oid};
use super::error::VerifyError;
use super::keys::{HashAlgorithm, PublicKey};
use super::trust_root::{CertificateAuthority, TrustRoot};
use chrono::{DateTime, Utc};
use x509_cert::Certificate;
use x509_cert::der::asn1::{AnyRef, ObjectIdentifier};
use x509_cert::der::{self, Decode, Encode, Reader, SliceReader, Tag, TagNumber, Tagged};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;

const OID_SAN: &str = "2.5.29.17";
const OID_ISSUER_V1: &str = "1.3.6.1.4.1.57264.1.1";
const OID_ISSUER_V2: &str = "1.3.6.1.4.1.57264.1.8";
/// The embedded SCT list (RFC 6962 section 3.3).
const OID_SCT_LIST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.2");
/// `extensions [3] EXPLICIT Extensions` of a TBSCertificate.
const TBS_EXTENSIONS_TAG: Tag = Tag::ContextSpecific {
    constructed: true,
    number: TagNumber(3),
};

/// A parsed certificate with the parts verification needs.
#[derive(Debug, Clone)]
pub(crate) struct ParsedCert {
    pub tbs: Vec<u8>,
    pub signature: Vec<u8>,
    pub signature_oid: String,
    pub key: PublicKey,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    pub self_issued: bool,
    /// URI and email subject alternative names.
    pub sans: Vec<String>,
    /// OIDC issuer from the Fulcio extensions (1.8 preferred, else 1.1).
    pub oidc_issuer: Option<String>,
    cert: Certificate,
}

/// An `X509CertificateChain` as Sigstore bundles and trusted roots write it in JSON.
#[derive(serde::Deserialize)]
pub(super) struct RawChain {
    #[serde(default)]
    pub certificates: Vec<RawCert>,
}

/// One base64 DER certificate of a Sigstore JSON document.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RawCert {
    pub raw_bytes: String,
}

fn to_utc(t: &x509_cert::time::Time) -> DateTime<Utc> {
    let secs = t.to_unix_duration().as_secs() as i64;
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

impl ParsedCert {
    pub fn from_der(der_bytes: &[u8]) -> Result<Self, String> {
        let cert =
            Certificate::from_der(der_bytes).map_err(|e| format!("invalid certificate: {e}"))?;
        let tbs = raw_tbs(der_bytes)
            .map_err(|e| format!("certificate TBS: {e}"))?
            .to_vec();
        let tbs_cert = cert.tbs_certificate();
        let spki = tbs_cert
            .subject_public_key_info()
            .to_der()
            .map_err(|e| format!("certificate public key: {e}"))?;
        let key =
            PublicKey::from_spki_der(&spki).map_err(|e| format!("certificate public key: {e}"))?;
        let validity = tbs_cert.validity();
        let mut sans = Vec::new();
        let mut oidc_issuer_v1 = None;
        let mut oidc_issuer_v2 = None;
        for ext in tbs_cert
            .extensions()
            .map(|e| e.as_slice())
            .unwrap_or_default()
        {
            let value = ext.extn_value.as_bytes();
            match ext.extn_id.to_string().as_str() {
                OID_SAN => {
                    let san = SubjectAltName::from_der(value)
                        .map_err(|e| format!("subjectAltName: {e}"))?;
                    for name in san.0 {
                        match name {
                            GeneralName::UniformResourceIdentifier(s) => sans.push(s.to_string()),
                            GeneralName::Rfc822Name(s) => sans.push(s.to_string()),
                            _ => {}
                        }
                    }
                }
                // Fulcio's first issuer extension holds the raw string, not DER.
                OID_ISSUER_V1 => oidc_issuer_v1 = String::from_utf8(value.to_vec()).ok(),
                OID_ISSUER_V2 => {
                    oidc_issuer_v2 = der::asn1::Utf8StringRef::from_der(value)
                        .ok()
                        .map(|s| s.as_str().to_string())
                }
                _ => {}
            }
        }
        Ok(ParsedCert {
            tbs,
            signature: cert.signature().raw_bytes().to_vec(),
            signature_oid: cert.signature_algorithm().oid.to_string(),
            key,
            not_before: to_utc(&validity.not_before),
            not_after: to_utc(&validity.not_after),
            self_issued: tbs_cert.issuer() == tbs_cert.subject(),
            sans,
            oidc_issuer: oidc_issuer_v2.or(oidc_issuer_v1),
            cert,
        })
    }

    pub fn valid_at(&self, t: DateTime<Utc>) -> bool {
        t >= self.not_before && t <= self.not_after
    }

    /// Checks that `issuer` signed this certificate.
    pub fn signed_by(&self, issuer: &ParsedCert) -> bool {
        issuer
            .key
            .verify_with_hash(
                &self.tbs,
                &self.signature,
                hash_of_signature_oid(&self.signature_oid),
            )
            .is_ok()
    }

    /// A human summary for error messages and results.
    pub fn describe(&self) -> String {
        format!(
            "subject [{}] issuer {:?}",
            self.sans.join(", "),
            self.oidc_issuer.as_deref().unwrap_or("(none)")
        )
    }
}

/// Parses a chain leaf-first.
fn parse_chain(chain: &[Vec<u8>]) -> Result<Vec<ParsedCert>, VerifyError> {
    chain
        .iter()
        .map(|c| ParsedCert::from_der(c).map_err(VerifyError::InvalidTrustRoot))
        .collect()
}

/// Finds the trust-root CA whose chain issued `leaf`. Time checks are separate ([`chain_valid_at`]).
pub(crate) fn find_issuing_ca<'a>(
    leaf: &ParsedCert,
    root: &'a TrustRoot,
) -> Result<(&'a CertificateAuthority, Vec<ParsedCert>), VerifyError> {
    if root.certificate_authorities.is_empty() {
        return Err(VerifyError::UntrustedChain(
            "the trust root has no certificate authorities".into(),
        ));
    }
    for ca in &root.certificate_authorities {
        let chain = parse_chain(&ca.chain)?;
        let Some(first) = chain.first() else { continue };
        if !leaf.signed_by(first) {
            continue;
        }
        if chain.windows(2).all(|w| w[0].signed_by(&w[1])) {
            return Ok((ca, chain));
        }
    }
    Err(VerifyError::UntrustedChain(format!(
        "certificate ({}) is not issued by any certificate authority of the trust root",
        leaf.describe()
    )))
}

/// Whether the leaf, every CA certificate and the CA's trust window cover time `t`.
pub(crate) fn chain_valid_at(
    leaf: &ParsedCert,
    ca: &CertificateAuthority,
    chain: &[ParsedCert],
    t: DateTime<Utc>,
) -> bool {
    leaf.valid_at(t) && ca.valid_at(t) && chain.iter().all(|c| c.valid_at(t))
}

/// Verifies that at least one embedded SCT is signed by a CT log of the trust root.
pub(crate) fn verify_sct(
    leaf: &ParsedCert,
    issuer: &ParsedCert,
    root: &TrustRoot,
) -> Result<(), VerifyError> {
    let ext = leaf
        .cert
        .tbs_certificate()
        .extensions()
        .and_then(|exts| exts.iter().find(|e| e.extn_id == OID_SCT_LIST))
        .ok_or_else(|| VerifyError::Sct("certificate has no embedded SCT".into()))?;
    let (list, _) = AnyRef::from_der_partial(ext.extn_value.as_bytes())
        .map_err(|e| VerifyError::Sct(format!("SCT list extension: {e}")))?;
    if list.tag() != Tag::OctetString {
        return Err(VerifyError::Sct(
            "SCT list extension is not an OCTET STRING".into(),
        ));
    }
    let scts = parse_sct_list(list.value()).map_err(VerifyError::Sct)?;
    let tbs =
        precert_tbs(&leaf.tbs).map_err(|e| VerifyError::Sct(format!("precertificate TBS: {e}")))?;
    let issuer_key_hash = crypto::sha256(issuer.key.spki_der());
    let mut reasons = Vec::new();
    for sct in scts {
        let Some(log) = root.ctlogs.iter().find(|l| l.log_id == sct.log_id) else {
            reasons.push(format!(
                "SCT from log {}, which is not among the trust root's ctlogs",
                hex::encode(&sct.log_id)
            ));
            continue;
        };
        let mut signed = vec![0u8, 0u8];
        signed.extend_from_slice(&sct.timestamp.to_be_bytes());
        signed.extend_from_slice(&[0, 1]);
        signed.extend_from_slice(&issuer_key_hash);
        let len = tbs.len() as u32;
        signed.extend_from_slice(&len.to_be_bytes()[1..]);
        signed.extend_from_slice(&tbs);
        signed.extend_from_slice(&(sct.extensions.len() as u16).to_be_bytes());
        signed.extend_from_slice(&sct.extensions);
        let hash = match sct.hash_alg {
            4 => HashAlgorithm::Sha256,
            5 => HashAlgorithm::Sha384,
            6 => HashAlgorithm::Sha512,
            other => {
                reasons.push(format!("SCT hash algorithm {other} unsupported"));
                continue;
            }
        };
        let when = DateTime::from_timestamp_millis(sct.timestamp as i64).unwrap_or_default();
        if !log.valid_at(when) {
            reasons.push("SCT time outside the CT log's validity".into());
            continue;
        }
        match log
            .key
            .verify_with_hash(&signed, &sct.signature, Some(hash))
        {
            Ok(()) => return Ok(()),
            Err(e) => reasons.push(format!("SCT signature: {e}")),
        }
    }
    Err(VerifyError::Sct(if reasons.is_empty() {
        "empty SCT list".into()
    } else {
        reasons.join("; ")
    }))
}

struct Sct {
    log_id: Vec<u8>,
    timestamp: u64,
    extensions: Vec<u8>,
    hash_alg: u8,
    signature: Vec<u8>,
}

fn take<'a>(buf: &mut &'a [u8], n: usize) -> Result<&'a [u8], String> {
    if buf.len() < n {
        return Err("truncated SCT".into());
    }
    let (head, tail) = buf.split_at(n);
    *buf = tail;
    Ok(head)
}

fn take_u16(buf: &mut &[u8]) -> Result<usize, String> {
    let b = take(buf, 2)?;
    Ok(u16::from_be_bytes([b[0], b[1]]) as usize)
}

fn parse_sct_list(data: &[u8]) -> Result<Vec<Sct>, String> {
    let mut buf = data;
    let total = take_u16(&mut buf)?;
    let mut list = take(&mut buf, total)?;
    let mut out = Vec::new();
    while !list.is_empty() {
        let len = take_u16(&mut list)?;
        let mut s = take(&mut list, len)?;
        let version = take(&mut s, 1)?[0];
        if version != 0 {
            continue;
        }
        let log_id = take(&mut s, 32)?.to_vec();
        let ts = take(&mut s, 8)?;
        let timestamp = u64::from_be_bytes(ts.try_into().map_err(|_| "SCT timestamp")?);
        let ext_len = take_u16(&mut s)?;
        let extensions = take(&mut s, ext_len)?.to_vec();
        let algs = take(&mut s, 2)?;
        let sig_len = take_u16(&mut s)?;
        let signature = take(&mut s, sig_len)?.to_vec();
        out.push(Sct {
            log_id,
            timestamp,
            extensions,
            hash_alg: algs[0],
            signature,
        });
    }
    Ok(out)
}

/// The TBSCertificate exactly as signed: re-encoding the decoded structure could differ from it.
fn raw_tbs(cert_der: &[u8]) -> der::Result<&[u8]> {
    let (cert, _) = AnyRef::from_der_partial(cert_der)?;
    SliceReader::new(cert.value())?.tlv_bytes()
}

/// Rebuilds the precertificate TBS the CT log signed: the TBS without the SCT-list extension.
/// Every other field is copied byte for byte, so only the enclosing lengths are re-encoded.
fn precert_tbs(tbs: &[u8]) -> der::Result<Vec<u8>> {
    let (tbs, _) = AnyRef::from_der_partial(tbs)?;
    let mut fields = SliceReader::new(tbs.value())?;
    let mut content = Vec::new();
    while !fields.is_finished() {
        if Tag::peek(&fields)? != TBS_EXTENSIONS_TAG {
            content.extend_from_slice(fields.tlv_bytes()?);
            continue;
        }
        let explicit: AnyRef<'_> = fields.decode()?;
        let (extensions, _) = AnyRef::from_der_partial(explicit.value())?;
        let mut reader = SliceReader::new(extensions.value())?;
        let mut kept = Vec::new();
        while !reader.is_finished() {
            let raw = reader.tlv_bytes()?;
            if Extension::from_der(raw)?.extn_id != OID_SCT_LIST {
                kept.extend_from_slice(raw);
            }
        }
        let sequence = AnyRef::new(Tag::Sequence, &kept)?.to_der()?;
        content.extend(AnyRef::new(TBS_EXTENSIONS_TAG, &sequence)?.to_der()?);
    }
    AnyRef::new(Tag::Sequence, &content)?.to_der()
}

#[cfg(test)]
mod tests {
    use super::*;
    use x509_cert::der::asn1::OctetString;

    fn tlv(tag: Tag, content: &[u8]) -> Vec<u8> {
        AnyRef::new(tag, content).unwrap().to_der().unwrap()
    }

    fn extension(oid: &str, value: &[u8]) -> Vec<u8> {
        Extension {
            extn_id: ObjectIdentifier::new_unwrap(oid),
            critical: false,
            extn_value: OctetString::new(value).unwrap(),
        }
        .to_der()
        .unwrap()
    }

    /// A TBS-shaped SEQUENCE: a serial number, then `[3] { SEQUENCE { extensions } }`.
    fn tbs(extensions: &[&[u8]]) -> Vec<u8> {
        let serial = tlv(Tag::Integer, &[7]);
        let list = tlv(Tag::Sequence, &extensions.concat());
        tlv(
            Tag::Sequence,
            &[serial, tlv(TBS_EXTENSIONS_TAG, &list)].concat(),
        )
    }

    #[test]
    fn precert_tbs_drops_only_the_sct_list() {
        // 200 bytes: the kept extension and every enclosing length need the long form.
        let san = extension("2.5.29.17", &[0x30; 200]);
        let sct = extension("1.3.6.1.4.1.11129.2.4.2", &[0, 2, 0, 0]);
        assert_eq!(precert_tbs(&tbs(&[&san, &sct])).unwrap(), tbs(&[&san]));
        assert_eq!(precert_tbs(&tbs(&[&sct, &san])).unwrap(), tbs(&[&san]));
        let plain = tbs(&[&san]);
        assert_eq!(precert_tbs(&plain).unwrap(), plain);
    }

    #[test]
    fn precert_tbs_rejects_truncated_input() {
        let whole = tbs(&[&extension("2.5.29.17", &[1, 2, 3])]);
        assert!(precert_tbs(&whole[..whole.len() - 2]).is_err());
        assert!(precert_tbs(&[]).is_err());
    }

    #[test]
    fn raw_tbs_is_the_first_element_of_the_certificate() {
        let inner = tbs(&[]);
        let cert = tlv(
            Tag::Sequence,
            &[inner.clone(), tlv(Tag::Null, &[])].concat(),
        );
        assert_eq!(raw_tbs(&cert).unwrap(), inner.as_slice());
        assert!(raw_tbs(&cert[..4]).is_err());
    }
}
