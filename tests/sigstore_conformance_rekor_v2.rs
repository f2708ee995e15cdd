//! Rekor v2 conformance beyond the public corpus (whose Rekor v2 cases are all `hashedrekord`
//! and whose only DSSE ones must fail): bundles v0.3 built here with real crypto against the
//! local Sigstore services (`tests/support/sigstore-mock.js`: Fulcio, an RFC 3161 TSA and a
//! Rekor v2 log with a real Merkle tree and signed checkpoints), for both Rekor v2 kinds
//! (`hashedrekord` and `dsse` 0.0.2), certificate- and key-signed, with and without an RFC 3161
//! timestamp.
//!
//! The rules are sigstore-go's: a Rekor v2 entry has no integrated time and no signed entry
//! timestamp, only an inclusion proof under a signed checkpoint. So a certificate signature
//! needs a verified timestamp to show the short-lived certificate was valid when it signed (no
//! timestamp → `NoVerifiedTime`, as the corpus' `rekor2-no-timestamp_fail`); a key signature
//! needs no time. Each case runs over the artifact bytes and over its digest only, as the
//! corpus harness does, and tampered bundles (an entry for another signature, a forged
//! checkpoint, an envelope swapped under its entry) are refused.

#[path = "support/sigstore_mock.rs"]
mod sigstore_mock;
mod support;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use sha2::Digest as _;
use signet::sign::{CertificateChain, FulcioClient, TimestampClient};
use signet::verify::keys::{KeyAlgorithm, SigningKey, pem};
use signet::verify::{Artifact, Authority, Identity, Matcher, Policy, verify_bundle};
use sigstore_mock::{SigstoreMock, identity_token};

const SUBJECT: &str =
    "https://github.com/signet-dev/charts/.github/workflows/release.yml@refs/heads/main";
const ISSUER: &str = "https://token.actions.githubusercontent.com";
const ARTIFACT: &[u8] = b"a chart manifest, signed and logged in Rekor v2\n";

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    HashedRekord,
    Dsse,
}

/// Who signs: a Fulcio certificate over a fresh key, or a bare key.
struct Signer {
    key: SigningKey,
    certificate: Option<CertificateChain>,
}

impl Signer {
    fn leaf_der(&self) -> Option<Vec<u8>> {
        self.certificate.as_ref().map(|c| {
            pem::find_labelled(c.leaf_pem.as_bytes(), "CERTIFICATE")
                .expect("leaf PEM")
                .contents
        })
    }

    /// A Rekor v2 verifier (what the log records as the signer).
    fn verifier(&self) -> Value {
        match self.leaf_der() {
            Some(der) => json!({
                "x509Certificate": { "rawBytes": STANDARD.encode(der) },
                "keyDetails": "PKIX_ECDSA_P256_SHA_256",
            }),
            None => json!({
                "publicKey": { "rawBytes": STANDARD.encode(self.key.public_key().spki_der()) },
                "keyDetails": "PKIX_ECDSA_P256_SHA_256",
            }),
        }
    }

    /// The bundle's verification material, without log entries and timestamps.
    fn material(&self) -> Value {
        match self.leaf_der() {
            Some(der) => json!({ "certificate": { "rawBytes": STANDARD.encode(der) } }),
            None => json!({ "publicKey": { "hint": "" } }),
        }
    }
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    sha2::Sha256::digest(bytes).into()
}

fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

/// The signed content of a bundle (its `messageSignature` or `dsseEnvelope`), the signature
/// bytes, and the Rekor v2 request that logs it.
fn sign(signer: &Signer, kind: Kind) -> (&'static str, Value, Vec<u8>, Value) {
    let digest = sha256(ARTIFACT);
    match kind {
        Kind::HashedRekord => {
            let signature = signer.key.sign(ARTIFACT).expect("sign");
            let content = json!({
                "messageDigest": { "algorithm": "SHA2_256", "digest": STANDARD.encode(digest) },
                "signature": STANDARD.encode(&signature),
            });
            let request = json!({ "hashedRekordRequestV002": {
                "digest": STANDARD.encode(digest),
                "signature": { "content": STANDARD.encode(&signature), "verifier": signer.verifier() },
            }});
            ("messageSignature", content, signature, request)
        }
        Kind::Dsse => {
            let statement = json!({
                "_type": "https://in-toto.io/Statement/v1",
                "subject": [{ "name": "chart", "digest": { "sha256": hex::encode(digest) } }],
                "predicateType": "https://sigstore.dev/cosign/sign/v1",
                "predicate": {},
            })
            .to_string();
            let payload_type = "application/vnd.in-toto+json";
            let signature = signer
                .key
                .sign(&pae(payload_type, statement.as_bytes()))
                .expect("sign");
            let envelope = json!({
                "payload": STANDARD.encode(&statement),
                "payloadType": payload_type,
                "signatures": [{ "sig": STANDARD.encode(&signature), "keyid": "" }],
            });
            let request = json!({ "dsseRequestV002": {
                "envelope": envelope,
                "verifiers": [signer.verifier()],
            }});
            ("dsseEnvelope", envelope, signature, request)
        }
    }
}

/// Signs, logs in the local Rekor v2, optionally timestamps, and assembles the bundle.
async fn bundle(mock: &SigstoreMock, signer: &Signer, kind: Kind, timestamped: bool) -> Value {
    let (field, content, signature, request) = sign(signer, kind);
    let http = reqwest::Client::new();
    let response = http
        .post(format!("{}/api/v2/log/entries", mock.url))
        .json(&request)
        .send()
        .await
        .expect("Rekor v2 reachable");
    assert!(response.status().is_success(), "Rekor v2: {response:?}");
    let entry: Value = response.json().await.expect("Rekor v2 entry");
    assert!(entry.get("inclusionPromise").is_none() && entry.get("integratedTime").is_none());
    let mut material = signer.material();
    material["tlogEntries"] = json!([entry]);
    if timestamped {
        let tsa = TimestampClient::new(&format!("{}/api/v1/timestamp", mock.url)).expect("tsa");
        let token = tsa.timestamp(&signature).await.expect("timestamp");
        material["timestampVerificationData"] =
            json!({ "rfc3161Timestamps": [{ "signedTimestamp": STANDARD.encode(token) }] });
    }
    let mut bundle = json!({
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": material,
    });
    bundle[field] = content;
    bundle
}

/// cosign's and sigstore-go's defaults: the log and SCTs required.
fn policy(mock: &SigstoreMock, signer: &Signer) -> Policy {
    let authority = match &signer.certificate {
        Some(_) => Authority::keyless(
            "identity",
            vec![Identity {
                issuer: Matcher::Exact(ISSUER.into()),
                subject: Matcher::Exact(SUBJECT.into()),
            }],
        ),
        None => Authority::key("key", signer.key.public_key().to_pem()),
    };
    Policy {
        authorities: vec![authority],
        trusted_root_json: Some(std::fs::read_to_string(&mock.trusted_root).expect("root")),
        require_tlog: true,
        require_sct: true,
        threshold: 1,
        ..Policy::default()
    }
}

/// Verifies over the bytes and over the digest; both must agree. Ok(description) or Err(reason).
fn check(bundle: &Value, policy: &Policy) -> Result<String, String> {
    let compiled = policy.compile().map_err(|e| e.to_string())?;
    let json = serde_json::to_vec(bundle).unwrap();
    let by_bytes = verify_bundle(&json, Artifact::Bytes(ARTIFACT), &compiled);
    let by_digest = verify_bundle(&json, Artifact::Sha256(sha256(ARTIFACT)), &compiled);
    match (by_bytes, by_digest) {
        (Ok(a), Ok(_)) => Ok(a.signer_description),
        (Err(a), Err(b)) if a.reason() == b.reason() => Err(format!("{}: {a}", a.reason())),
        (a, b) => panic!("bytes and digest disagree: {a:?} vs {b:?}"),
    }
}

fn reason(result: &Result<String, String>) -> &str {
    match result {
        Ok(_) => "verified",
        Err(e) => e.split(':').next().unwrap_or_default(),
    }
}

#[tokio::test]
async fn rekor_v2_bundles_both_kinds_with_and_without_timestamps() {
    signet::tls::install_crypto_provider();
    let work = support::tools::temp_dir();
    let Some(mock) = SigstoreMock::start(&work.path().join("mock")) else {
        return;
    };
    let fulcio = FulcioClient::new(&mock.url).expect("fulcio");
    let keyless = {
        let key = SigningKey::generate(KeyAlgorithm::EcdsaP256).expect("key");
        let certificate = fulcio
            .signing_certificate(&identity_token(ISSUER, SUBJECT), &key)
            .await
            .expect("certificate");
        Signer {
            key,
            certificate: Some(certificate),
        }
    };
    let keyed = Signer {
        key: SigningKey::generate(KeyAlgorithm::EcdsaP256).expect("key"),
        certificate: None,
    };

    // (signer, kind, timestamped) → expected reason. Several entries go into the log first, so
    // the inclusion proofs are real paths, not a one-leaf tree.
    let cases = [
        (
            "certificate",
            &keyless,
            Kind::HashedRekord,
            true,
            "verified",
        ),
        (
            "certificate",
            &keyless,
            Kind::HashedRekord,
            false,
            "NoVerifiedTime",
        ),
        ("certificate", &keyless, Kind::Dsse, true, "verified"),
        ("certificate", &keyless, Kind::Dsse, false, "NoVerifiedTime"),
        ("key", &keyed, Kind::HashedRekord, false, "verified"),
        ("key", &keyed, Kind::HashedRekord, true, "verified"),
        ("key", &keyed, Kind::Dsse, false, "verified"),
        ("key", &keyed, Kind::Dsse, true, "verified"),
    ];
    let mut bundles = Vec::new();
    let mut failures = Vec::new();
    for (who, signer, kind, timestamped, expected) in cases {
        let b = bundle(&mock, signer, kind, timestamped).await;
        let result = check(&b, &policy(&mock, signer));
        let name = format!(
            "{who} {kind:?} {}",
            if timestamped {
                "+ RFC 3161"
            } else {
                "without timestamp"
            }
        );
        eprintln!("  {name}: {result:?}");
        if reason(&result) != expected {
            failures.push(format!("{name}: expected {expected}, got {result:?}"));
        }
        bundles.push((who, kind, timestamped, b));
    }
    assert!(failures.is_empty(), "{failures:#?}");
    eprintln!(
        "rekor v2 (local services): {}/{} as expected",
        cases.len(),
        cases.len()
    );

    // Tampering, each refused by the log check.
    let dsse = |who: &str| {
        bundles
            .iter()
            .find(|(w, k, t, _)| *w == who && *k == Kind::Dsse && *t)
            .map(|(_, _, _, b)| b.clone())
            .unwrap()
    };
    let hashed = |who: &str| {
        bundles
            .iter()
            .find(|(w, k, t, _)| *w == who && *k == Kind::HashedRekord && *t)
            .map(|(_, _, _, b)| b.clone())
            .unwrap()
    };
    let keyless_policy = policy(&mock, &keyless);

    // The DSSE entry of another signature (a fresh one by the same signer over the same
    // statement bytes would differ in its ECDSA nonce): signature and entry disagree.
    let mut other = bundle(&mock, &keyless, Kind::Dsse, true).await;
    other["verificationMaterial"]["tlogEntries"] =
        dsse("certificate")["verificationMaterial"]["tlogEntries"].clone();
    let r = check(&other, &keyless_policy);
    assert_eq!(reason(&r), "TransparencyLogInvalid", "{r:?}");

    // A DSSE envelope under a hashedrekord entry (the corpus' rekor2-dsse-mismatch cases).
    let mut mixed = dsse("certificate");
    mixed["verificationMaterial"]["tlogEntries"] =
        hashed("certificate")["verificationMaterial"]["tlogEntries"].clone();
    let r = check(&mixed, &keyless_policy);
    assert_eq!(reason(&r), "TransparencyLogInvalid", "{r:?}");

    // A checkpoint whose signature is not the log's (one byte of it flipped).
    let mut forged = dsse("certificate");
    let envelope = forged["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["checkpoint"]
        ["envelope"]
        .as_str()
        .unwrap()
        .to_string();
    let (note, signature_line) = envelope.split_once("\n\n").unwrap();
    let (prefix, sig_b64) = signature_line.trim_end().rsplit_once(' ').unwrap();
    let mut sig = STANDARD.decode(sig_b64).unwrap();
    let last = sig.len() - 1;
    sig[last] ^= 1;
    forged["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["checkpoint"]["envelope"] =
        json!(format!("{note}\n\n{prefix} {}\n", STANDARD.encode(sig)));
    let r = check(&forged, &keyless_policy);
    assert_eq!(reason(&r), "TransparencyLogInvalid", "{r:?}");

    // The key policy does not accept the certificate signer, and vice versa.
    let r = check(&dsse("certificate"), &policy(&mock, &keyed));
    assert_ne!(reason(&r), "verified", "{r:?}");
    let r = check(&dsse("key"), &keyless_policy);
    assert_ne!(reason(&r), "verified", "{r:?}");
}
