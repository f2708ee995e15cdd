//! The object validation a real server does that tests notice: names (DNS subdomain, DNS label
//! for namespaces, DNS-1035 label for services, path segment for RBAC), label keys and values,
//! and a CRD's name being `<plural>.<group>`.

use serde_json::Value;

use super::discovery::KindSpec;
use super::errors::{ApiError, Cause};

const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1035_MSG: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const LABEL_VALUE_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

fn is_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

pub fn is_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_label)
}

fn is_dns1035(s: &str) -> bool {
    is_label(s) && s.as_bytes()[0].is_ascii_lowercase()
}

fn is_label_value(s: &str) -> bool {
    let b = s.as_bytes();
    s.is_empty()
        || (b.len() <= 63
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric())
}

fn is_qualified_name(s: &str) -> bool {
    let (prefix, name) = match s.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, s),
    };
    prefix.is_none_or(is_subdomain) && !name.is_empty() && is_label_value(name)
}

/// Name validation of a kind's objects: the cause, if invalid.
pub fn name_cause(kind: &KindSpec, name: &str) -> Option<Cause> {
    if kind.group == "rbac.authorization.k8s.io" {
        let bad = name == "." || name == ".." || name.contains('/') || name.contains('%');
        return bad.then(|| {
            Cause::invalid(
                "metadata.name",
                name,
                "may not contain '/' or '%' and may not be '.' or '..'",
            )
        });
    }
    let (ok, msg) = match (kind.group.as_str(), kind.kind.as_str()) {
        ("", "Namespace") => (is_label(name), LABEL_MSG),
        ("", "Service") => (is_dns1035(name), DNS1035_MSG),
        _ => (is_subdomain(name), SUBDOMAIN_MSG),
    };
    (!ok).then(|| Cause::invalid("metadata.name", name, msg))
}

/// Everything checked on a stored object (create, update, apply, patch).
pub fn validate(kind: &KindSpec, obj: &Value) -> Result<(), ApiError> {
    let name = obj["metadata"]["name"].as_str().unwrap_or_default();
    let mut causes = vec![];
    if name.is_empty() {
        causes.push(Cause::required(
            "metadata.name",
            "name or generateName is required",
        ));
    } else if let Some(c) = name_cause(kind, name) {
        causes.push(c);
    }
    if let Some(labels) = obj["metadata"]["labels"].as_object() {
        for (k, v) in labels {
            if !is_qualified_name(k) {
                causes.push(Cause::invalid(
                    "metadata.labels",
                    k,
                    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
                ));
            }
            match v.as_str() {
                Some(s) if is_label_value(s) => {}
                _ => causes.push(Cause::invalid(
                    "metadata.labels",
                    &v.as_str().map(String::from).unwrap_or(v.to_string()),
                    LABEL_VALUE_MSG,
                )),
            }
        }
    }
    if kind.group == "apiextensions.k8s.io" && kind.kind == "CustomResourceDefinition" {
        let want = format!(
            "{}.{}",
            obj["spec"]["names"]["plural"].as_str().unwrap_or_default(),
            obj["spec"]["group"].as_str().unwrap_or_default()
        );
        if name != want {
            causes.push(Cause::invalid(
                "metadata.name",
                name,
                "must be spec.names.plural+\".\"+spec.group",
            ));
        }
    }
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(&kind.group, &kind.kind, name, causes))
    }
}

/// What a real server's decoding does to a written object: a Secret's `stringData` is folded
/// into `data` (base64) and dropped; `data` must be base64.
pub fn normalize(kind: &KindSpec, obj: &mut Value) -> Result<(), ApiError> {
    use base64::Engine as _;
    if !(kind.group.is_empty() && kind.kind == "Secret") {
        return Ok(());
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    if let Some(data) = obj["data"].as_object() {
        for (k, v) in data {
            let text = v.as_str().unwrap_or_default();
            if let Err(e) = b64.decode(text) {
                return Err(ApiError::bad_request(format!(
                    "Secret in version \"v1\" cannot be handled as a Secret: {e} (data.{k})"
                )));
            }
        }
    }
    let Some(m) = obj.as_object_mut() else {
        return Ok(());
    };
    if let Some(Value::Object(string_data)) = m.remove("stringData") {
        let data = m
            .entry("data")
            .or_insert_with(|| Value::Object(Default::default()));
        if !data.is_object() {
            *data = Value::Object(Default::default());
        }
        for (k, v) in string_data {
            data[&k] = Value::String(b64.encode(v.as_str().unwrap_or_default()));
        }
    }
    Ok(())
}

/// Fields a real server refuses to change: workload selectors, a Job's template, the data of
/// an `immutable` ConfigMap or Secret.
pub fn validate_update(kind: &KindSpec, old: &Value, new: &Value) -> Result<(), ApiError> {
    let immutable: &[&str] = match (kind.group.as_str(), kind.kind.as_str()) {
        ("apps", "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet") => &["spec.selector"],
        ("batch", "Job") => &["spec.selector", "spec.template"],
        _ => &[],
    };
    let at = |v: &Value, path: &str| path.split('.').fold(v.clone(), |v, p| v[p].clone());
    let mut causes = vec![];
    for path in immutable {
        let value = at(new, path);
        if at(old, path) != value {
            causes.push(Cause {
                reason: "FieldValueInvalid",
                field: (*path).into(),
                message: format!("Invalid value: {value}: field is immutable"),
            });
        }
    }
    if kind.group.is_empty()
        && matches!(kind.kind.as_str(), "ConfigMap" | "Secret")
        && old["immutable"] == true
    {
        for field in ["data", "binaryData", "immutable"] {
            if old[field] != new[field] {
                causes.push(Cause::forbidden(
                    field,
                    "field is immutable when `immutable` is set",
                ));
            }
        }
    }
    if causes.is_empty() {
        Ok(())
    } else {
        let name = new["metadata"]["name"].as_str().unwrap_or_default();
        Err(ApiError::invalid(&kind.group, &kind.kind, name, causes))
    }
}
