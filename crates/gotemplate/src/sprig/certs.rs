//! Sprig's certificate generators: `genCA`, `genSelfSignedCert`, `genSignedCert` and their
//! `*WithKey` variants, producing what Go's `x509.CreateCertificate` does for Sprig's template
//! (serial < 2^128, CN subject, key usage, server+client auth, basic constraints, SANs,
//! subject/authority key ids), signed with the CA's RSA, ECDSA P-256 or Ed25519 key. Fresh
//! subject keys come from the set's [`KeySupply`].

use std::rc::Rc;
use std::sync::Arc;

use sha1::Digest;

use super::args;
use super::crypto::{Certificate, pem_decode};
use super::der::{Der, read_tlv};
use super::fixed;
use super::keys::KeyPair;
use super::keysupply::KeySupply;
use crate::value::{FuncMap, Value};

/// Registers the certificate generators; those without a given key draw one from `keys`.
pub(super) fn register(m: &mut FuncMap, keys: &Arc<KeySupply>) {
    let k = Arc::clone(keys);
    fixed(m, "genCA", 2, move |a| gen_ca(a, None, &k));
    let k = Arc::clone(keys);
    fixed(m, "genCAWithKey", 3, move |a| gen_ca(a, Some(&a[2]), &k));
    let k = Arc::clone(keys);
    fixed(m, "genSelfSignedCert", 4, move |a| {
        gen_self_signed(a, None, &k)
    });
    let k = Arc::clone(keys);
    fixed(m, "genSelfSignedCertWithKey", 5, move |a| {
        gen_self_signed(a, Some(&a[4]), &k)
    });
    let k = Arc::clone(keys);
    fixed(m, "genSignedCert", 5, move |a| gen_signed(a, None, &k));
    let k = Arc::clone(keys);
    fixed(m, "genSignedCertWithKey", 6, move |a| {
        gen_signed(a, Some(&a[5]), &k)
    });
}

/// What a signed certificate needs from its CA certificate: the subject name (DER) and the
/// subject key identifier, if any.
fn ca_subject_and_key_id(cert_der: &[u8]) -> Option<(Vec<u8>, Option<Vec<u8>>)> {
    let (_, cert, _, _) = read_tlv(cert_der)?;
    let (_, tbs, _, _) = read_tlv(cert)?;
    let mut elems = Vec::new();
    let mut rest = tbs;
    while !rest.is_empty() {
        let (tag, content, whole, next) = read_tlv(rest)?;
        elems.push((tag, content, whole));
        rest = next;
    }
    let offset = usize::from(elems.first()?.0 == 0xa0);
    let subject = elems.get(offset + 4)?.2.to_vec();
    let ski_oid = Der::oid(&[2, 5, 29, 14]);
    let mut key_id = None;
    if let Some((_, ext_wrapper, _)) = elems.iter().find(|(t, _, _)| *t == 0xa3) {
        let (_, mut exts, _, _) = read_tlv(ext_wrapper)?;
        while !exts.is_empty() {
            let (_, ext, _, next) = read_tlv(exts)?;
            exts = next;
            if ext.starts_with(&ski_oid) {
                let mut inner = &ext[ski_oid.len()..];
                if inner.first() == Some(&0x01) {
                    inner = read_tlv(inner)?.3;
                }
                let (_, value, _, _) = read_tlv(inner)?;
                let (_, id, _, _) = read_tlv(value)?;
                key_id = Some(id.to_vec());
            }
        }
    }
    Some((subject, key_id))
}

fn name_cn(cn: &str) -> Vec<u8> {
    if cn.is_empty() {
        return Der::seq(&[]);
    }
    // encoding/asn1 writes PrintableString when it can, UTF8String otherwise.
    let printable = cn
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || " '()+,-./:=?".contains(c));
    let value = Der::tlv(if printable { 0x13 } else { 0x0c }, cn.as_bytes());
    Der::seq(&[Der::tlv(0x31, &Der::seq(&[Der::oid(&[2, 5, 4, 3]), value]))])
}

fn extension(oid: &[u64], critical: bool, value: Vec<u8>) -> Vec<u8> {
    let mut parts = vec![Der::oid(oid)];
    if critical {
        parts.push(Der::tlv(0x01, &[0xff]));
    }
    parts.push(Der::octets(&value));
    Der::seq(&parts)
}

/// Sprig's certificate template parameters.
struct Template {
    cn: String,
    ips: Vec<std::net::IpAddr>,
    dns: Vec<String>,
    days: i64,
    is_ca: bool,
}

/// `x509.CreateCertificate(template, parent, subjectKey.Public(), signer)` as PEM.
fn create_certificate(
    t: &Template,
    subject_key: &KeyPair,
    issuer: Option<(&[u8], Option<Vec<u8>>)>,
    signer: &KeyPair,
) -> Result<String, String> {
    let spki = subject_key.spki()?;
    let mut serial = [0u8; 16];
    getrandom::getrandom(&mut serial).map_err(|e| format!("reading random bytes: {e}"))?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let subject = name_cn(&t.cn);
    // Go derives the subject key id of a CA from the SHA-1 of its public key bits.
    let spki_bits = read_tlv(&spki[..])
        .and_then(|(_, c, _, _)| read_tlv(c))
        .and_then(|(_, _, _, rest)| read_tlv(rest))
        .map(|(_, bits, _, _)| bits.get(1..).unwrap_or(&[]).to_vec())
        .unwrap_or_default();
    let own_key_id = sha1::Sha1::digest(&spki_bits).to_vec();
    let (issuer_name, authority_key_id) = match issuer {
        Some((name, key_id)) => (name.to_vec(), key_id),
        None => (subject.clone(), None),
    };
    let mut exts = vec![];
    let key_usage = if t.is_ca { [0xa4u8, 2] } else { [0xa0u8, 5] };
    exts.push(extension(
        &[2, 5, 29, 15],
        true,
        Der::bit_string(&key_usage[..1], key_usage[1]),
    ));
    exts.push(extension(
        &[2, 5, 29, 37],
        false,
        Der::seq(&[
            Der::oid(&[1, 3, 6, 1, 5, 5, 7, 3, 1]),
            Der::oid(&[1, 3, 6, 1, 5, 5, 7, 3, 2]),
        ]),
    ));
    let basic = if t.is_ca {
        Der::seq(&[Der::tlv(0x01, &[0xff])])
    } else {
        Der::seq(&[])
    };
    exts.push(extension(&[2, 5, 29, 19], true, basic));
    if t.is_ca {
        exts.push(extension(&[2, 5, 29, 14], false, Der::octets(&own_key_id)));
    }
    if let Some(akid) = authority_key_id {
        exts.push(extension(
            &[2, 5, 29, 35],
            false,
            Der::seq(&[Der::tlv(0x80, &akid)]),
        ));
    }
    if !t.ips.is_empty() || !t.dns.is_empty() {
        let mut names: Vec<Vec<u8>> = t.dns.iter().map(|d| Der::tlv(0x82, d.as_bytes())).collect();
        for ip in &t.ips {
            let bytes = match ip {
                std::net::IpAddr::V4(v4) => v4.octets().to_vec(),
                std::net::IpAddr::V6(v6) => v6.octets().to_vec(),
            };
            names.push(Der::tlv(0x87, &bytes));
        }
        exts.push(extension(&[2, 5, 29, 17], false, Der::seq(&names)));
    }
    let tbs = Der::seq(&[
        Der::tlv(0xa0, &Der::uint(&[2])),
        Der::uint(&serial),
        signer.signature_algorithm(),
        issuer_name,
        Der::seq(&[
            Der::time(now),
            Der::time(now.saturating_add(t.days.saturating_mul(86_400))),
        ]),
        subject,
        spki.clone(),
        Der::tlv(0xa3, &Der::seq(&exts)),
    ]);
    let signature = signer.sign(&tbs)?;
    let cert = Der::seq(&[
        tbs,
        signer.signature_algorithm(),
        Der::bit_string(&signature, 0),
    ]);
    Ok(super::der::pem_encode("CERTIFICATE", &cert))
}

/// The items of a `[]interface{}` argument (nil: none), each converted by `item`.
fn list_arg<T>(v: &Value, item: impl Fn(&Value) -> Result<T, String>) -> Result<Vec<T>, String> {
    let Some(list) = args::as_list(v) else {
        return if v.is_nil() {
            Ok(Vec::new())
        } else {
            Err(args::wrong_type("[]interface {}", v))
        };
    };
    let items = list.borrow();
    items.iter().map(item).collect()
}

fn ips_arg(v: &Value) -> Result<Vec<std::net::IpAddr>, String> {
    list_arg(v, |ip| match ip {
        Value::String(s) => s
            .parse::<std::net::IpAddr>()
            .map_err(|_| format!("error parsing ip: {s}")),
        other => Err(format!(
            "error parsing ip: {} is not a string",
            crate::fmt::sprint(other)
        )),
    })
}

fn dns_arg(v: &Value) -> Result<Vec<String>, String> {
    list_arg(v, |d| match d {
        Value::String(s) => Ok(s.to_string()),
        other => Err(format!(
            "error processing alternate dns name: {} is not a string",
            crate::fmt::sprint(other)
        )),
    })
}

fn certificate_arg(v: &Value) -> Result<(String, String), String> {
    match v {
        Value::Object(o) => match o.as_any().downcast_ref::<Certificate>() {
            Some(c) => Ok((c.cert.clone(), c.key.clone())),
            None => Err(args::wrong_type("sprig.certificate", v)),
        },
        other => Err(args::wrong_type("sprig.certificate", other)),
    }
}

fn certificate_value(cert: String, key: String) -> Value {
    Value::Object(Rc::new(Certificate { cert, key }))
}

/// The key a `*WithKey` variant was given (`pem`), or a fresh RSA-2048 key from `keys`.
fn subject_key(pem: Option<&Value>, keys: &KeySupply) -> Result<KeyPair, String> {
    match pem {
        Some(v) => KeyPair::from_pem(&args::string(v)?),
        None => keys.take(),
    }
}

/// `genCA CN DAYS` / `genCAWithKey CN DAYS KEY`.
fn gen_ca(a: &[Value], pem: Option<&Value>, keys: &KeySupply) -> Result<Value, String> {
    let cn = args::string(&a[0])?;
    let days = args::int(&a[1])?;
    let t = Template {
        cn: cn.to_string(),
        ips: Vec::new(),
        dns: Vec::new(),
        days,
        is_ca: true,
    };
    self_signed(&t, pem, keys)
}

/// `genSelfSignedCert CN IPS DNS DAYS` / `genSelfSignedCertWithKey … KEY`.
fn gen_self_signed(a: &[Value], pem: Option<&Value>, keys: &KeySupply) -> Result<Value, String> {
    let t = leaf_template(a)?;
    self_signed(&t, pem, keys)
}

/// The leaf certificate of the `CN IPS DNS DAYS` arguments both leaf generators start with.
fn leaf_template(a: &[Value]) -> Result<Template, String> {
    Ok(Template {
        cn: args::string(&a[0])?.to_string(),
        ips: ips_arg(&a[1])?,
        dns: dns_arg(&a[2])?,
        days: args::int(&a[3])?,
        is_ca: false,
    })
}

/// A certificate for `t` signed by its own subject key (given, or fresh from `keys`).
fn self_signed(t: &Template, pem: Option<&Value>, keys: &KeySupply) -> Result<Value, String> {
    let key = subject_key(pem, keys)?;
    let cert = create_certificate(t, &key, None, &key)?;
    Ok(certificate_value(cert, key.to_pem()?))
}

/// `genSignedCert CN IPS DNS DAYS CA` / `genSignedCertWithKey … CA KEY`.
fn gen_signed(a: &[Value], pem: Option<&Value>, keys: &KeySupply) -> Result<Value, String> {
    let t = leaf_template(a)?;
    let (ca_cert, ca_key) = certificate_arg(&a[4])?;
    let key = subject_key(pem, keys)?;
    let (_, ca_der) = pem_decode(ca_cert.as_bytes()).ok_or("unable to decode certificate")?;
    let (issuer, key_id) = ca_subject_and_key_id(&ca_der)
        .ok_or("error parsing certificate: decodedSignerCert.Bytes: x509: malformed certificate")?;
    let signer = KeyPair::from_pem(&ca_key)?;
    let cert = create_certificate(&t, &key, Some((&issuer, key_id)), &signer)?;
    Ok(certificate_value(cert, key.to_pem()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_certificate_names_its_ca() {
        let keys = KeySupply::on_demand();
        let ca = gen_ca(&[Value::str("foo-ca"), Value::Int(365)], None, &keys).unwrap();
        let cert = gen_signed(
            &[
                Value::str("foo.com"),
                Value::list(vec![Value::str("10.0.0.1")]),
                Value::list(vec![Value::str("bar.com")]),
                Value::Int(365),
                ca.clone(),
            ],
            None,
            &keys,
        )
        .unwrap();
        let (ca_pem, _) = certificate_arg(&ca).unwrap();
        let (leaf_pem, key_pem) = certificate_arg(&cert).unwrap();
        assert!(key_pem.starts_with("-----BEGIN RSA PRIVATE KEY-----\n"));
        let (_, ca_der) = pem_decode(ca_pem.as_bytes()).unwrap();
        let (_, leaf_der) = pem_decode(leaf_pem.as_bytes()).unwrap();
        let (ca_subject, ca_key_id) = ca_subject_and_key_id(&ca_der).unwrap();
        assert!(ca_key_id.is_some());
        // The leaf's issuer is the CA's subject.
        let (_, leaf, _, _) = read_tlv(&leaf_der).unwrap();
        let (_, tbs, _, _) = read_tlv(leaf).unwrap();
        let mut rest = tbs;
        let mut elems = Vec::new();
        while !rest.is_empty() {
            let (_, _, whole, next) = read_tlv(rest).unwrap();
            elems.push(whole.to_vec());
            rest = next;
        }
        assert_eq!(elems[3], ca_subject);
    }
}
