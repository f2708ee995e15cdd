//! Just enough Kubernetes protobuf to read the request bodies client-go's typed clients send:
//! the `k8s\0` envelope (`runtime.Unknown`) around a Secret or ConfigMap — what Helm's release
//! storage writes — or a Namespace (`kubectl create namespace`). Other kinds in protobuf are
//! refused with 415 (`kubectl create deployment` and the like); answers are always JSON.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Map, Value, json};

use super::errors::ApiError;

const MAGIC: &[u8] = b"k8s\0";

/// One decoded field: its number and its value (varints as u64, length-delimited as bytes).
enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed,
}

fn bad(what: &str) -> ApiError {
    ApiError::bad_request(format!("error decoding the protobuf request body: {what}"))
}

fn varint(buf: &[u8], pos: &mut usize) -> Result<u64, ApiError> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *buf.get(*pos).ok_or_else(|| bad("truncated varint"))?;
        *pos += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(bad("varint too long"))
}

fn fields(buf: &[u8]) -> Result<Vec<(u64, Field<'_>)>, ApiError> {
    let mut out = vec![];
    let mut pos = 0;
    while pos < buf.len() {
        let key = varint(buf, &mut pos)?;
        let field = match key & 7 {
            0 => Field::Varint(varint(buf, &mut pos)?),
            1 => {
                pos += 8;
                Field::Fixed
            }
            2 => {
                let len = varint(buf, &mut pos)? as usize;
                let bytes = buf
                    .get(pos..pos + len)
                    .ok_or_else(|| bad("truncated field"))?;
                pos += len;
                Field::Bytes(bytes)
            }
            5 => {
                pos += 4;
                Field::Fixed
            }
            t => return Err(bad(&format!("wire type {t}"))),
        };
        out.push((key >> 3, field));
    }
    Ok(out)
}

fn text(b: &[u8]) -> Result<String, ApiError> {
    String::from_utf8(b.to_vec()).map_err(|_| bad("invalid UTF-8"))
}

/// A `map<string, string>` (or `map<string, bytes>` as base64) entry.
fn map_entry(b: &[u8], bytes_value: bool) -> Result<(String, Value), ApiError> {
    let mut key = String::new();
    let mut value = Value::String(String::new());
    for (n, f) in fields(b)? {
        match (n, f) {
            (1, Field::Bytes(k)) => key = text(k)?,
            (2, Field::Bytes(v)) if bytes_value => value = json!(B64.encode(v)),
            (2, Field::Bytes(v)) => value = json!(text(v)?),
            _ => {}
        }
    }
    Ok((key, value))
}

fn insert(obj: &mut Map<String, Value>, field: &str, (k, v): (String, Value)) {
    obj.entry(field).or_insert_with(|| json!({}))[k] = v;
}

/// The ObjectMeta fields a client sets (server-set ones are ignored on write anyway).
fn object_meta(b: &[u8]) -> Result<Value, ApiError> {
    let mut m = Map::new();
    for (n, f) in fields(b)? {
        match (n, f) {
            (1, Field::Bytes(v)) => {
                m.insert("name".into(), json!(text(v)?));
            }
            (2, Field::Bytes(v)) => {
                m.insert("generateName".into(), json!(text(v)?));
            }
            (3, Field::Bytes(v)) => {
                m.insert("namespace".into(), json!(text(v)?));
            }
            (6, Field::Bytes(v)) => {
                m.insert("resourceVersion".into(), json!(text(v)?));
            }
            (11, Field::Bytes(v)) => insert(&mut m, "labels", map_entry(v, false)?),
            (12, Field::Bytes(v)) => insert(&mut m, "annotations", map_entry(v, false)?),
            (14, Field::Bytes(v)) => {
                let list = m.entry("finalizers").or_insert_with(|| json!([]));
                if let Some(a) = list.as_array_mut() {
                    a.push(json!(text(v)?));
                }
            }
            _ => {}
        }
    }
    Ok(Value::Object(m))
}

/// Decodes a protobuf request body into the JSON object it stands for.
pub fn decode(body: &[u8]) -> Result<Value, ApiError> {
    let envelope = body
        .strip_prefix(MAGIC)
        .ok_or_else(|| bad("missing k8s envelope"))?;
    let (mut api_version, mut kind, mut raw) = (String::new(), String::new(), &[][..]);
    for (n, f) in fields(envelope)? {
        match (n, f) {
            (1, Field::Bytes(type_meta)) => {
                for (tn, tf) in fields(type_meta)? {
                    match (tn, tf) {
                        (1, Field::Bytes(v)) => api_version = text(v)?,
                        (2, Field::Bytes(v)) => kind = text(v)?,
                        _ => {}
                    }
                }
            }
            (2, Field::Bytes(r)) => raw = r,
            _ => {}
        }
    }
    // (metadata, then per kind: field number -> (JSON field, is a map, map values are bytes))
    let layout: &[(u64, &str, bool, bool)] = match (api_version.as_str(), kind.as_str()) {
        ("v1", "Secret") => &[
            (2, "data", true, true),
            (3, "type", false, false),
            (4, "stringData", true, false),
        ],
        ("v1", "ConfigMap") => &[(2, "data", true, false), (3, "binaryData", true, true)],
        // `kubectl create namespace`: metadata only (spec.finalizers is left to the server).
        ("v1", "Namespace") => &[],
        _ => {
            return Err(ApiError::new(
                415,
                format!(
                    "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (protobuf only for Secrets and ConfigMaps, got {api_version} {kind})"
                ),
            ));
        }
    };
    let mut obj = Map::new();
    obj.insert("apiVersion".into(), json!(api_version));
    obj.insert("kind".into(), json!(kind));
    for (n, f) in fields(raw)? {
        match (n, f) {
            (1, Field::Bytes(meta)) => {
                obj.insert("metadata".into(), object_meta(meta)?);
            }
            (n, Field::Bytes(v)) => {
                if let Some((_, name, is_map, bytes)) = layout.iter().find(|l| l.0 == n) {
                    if *is_map {
                        insert(&mut obj, name, map_entry(v, *bytes)?);
                    } else {
                        obj.insert((*name).into(), json!(text(v)?));
                    }
                }
            }
            // `immutable` (Secret 5, ConfigMap 4).
            (n, Field::Varint(v))
                if (kind == "Secret" && n == 5) || (kind == "ConfigMap" && n == 4) =>
            {
                obj.insert("immutable".into(), json!(v != 0));
            }
            _ => {}
        }
    }
    Ok(Value::Object(obj))
}
