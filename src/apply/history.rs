//! Helm release records, stored exactly as Helm 3/4's Secret driver stores them, so `helm list`,
//! `helm history` and `helm get manifest|values|notes` show Signet's releases.
//!
//! A record is a Secret `sh.helm.release.v1.<release>.v<revision>` of type `helm.sh/release.v1`,
//! labelled `name`, `owner: helm`, `status`, `version` (and `createdAt`/`modifiedAt`), whose
//! `data.release` holds base64(gzip(JSON)) of Helm's `release.Release` (field names from Helm v4's
//! `pkg/release/v1`). The Secret's data is bytes, so the API shows that base64 text base64-encoded
//! once more, as it does for Helm's own records. The chart part holds the metadata and default
//! values only (no templates or files): enough for `helm list/history/get` and for `helm
//! rollback`, which re-applies a recorded manifest and hooks and never re-renders the chart.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, SecondsFormat, Utc};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use serde_json::{Value as Json, json};

use super::FIELD_MANAGER;
use super::error::{ApplyError, is_not_found};

/// The Secret type of Helm's release records.
pub const SECRET_TYPE: &str = "helm.sh/release.v1";
/// Gzip's magic bytes, which Helm checks before decompressing.
const GZIP_MAGIC: [u8; 3] = [0x1f, 0x8b, 0x08];
/// Labels Helm's driver manages; others on the Secret are the release's custom labels.
const SYSTEM_LABELS: [&str; 6] = [
    "name",
    "owner",
    "status",
    "version",
    "createdAt",
    "modifiedAt",
];

/// A release's state, as Helm spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReleaseStatus {
    /// `unknown`
    Unknown,
    /// `deployed`: the current revision.
    Deployed,
    /// `uninstalled`
    Uninstalled,
    /// `superseded`: a later revision was deployed.
    Superseded,
    /// `failed`
    Failed,
    /// `uninstalling`
    Uninstalling,
    /// `pending-install`
    PendingInstall,
    /// `pending-upgrade`
    PendingUpgrade,
    /// `pending-rollback`
    PendingRollback,
}

impl ReleaseStatus {
    /// Every status, in the order of Helm's declaration.
    const ALL: [ReleaseStatus; 9] = [
        ReleaseStatus::Unknown,
        ReleaseStatus::Deployed,
        ReleaseStatus::Uninstalled,
        ReleaseStatus::Superseded,
        ReleaseStatus::Failed,
        ReleaseStatus::Uninstalling,
        ReleaseStatus::PendingInstall,
        ReleaseStatus::PendingUpgrade,
        ReleaseStatus::PendingRollback,
    ];

    /// Helm's string.
    pub fn as_str(self) -> &'static str {
        match self {
            ReleaseStatus::Unknown => "unknown",
            ReleaseStatus::Deployed => "deployed",
            ReleaseStatus::Uninstalled => "uninstalled",
            ReleaseStatus::Superseded => "superseded",
            ReleaseStatus::Failed => "failed",
            ReleaseStatus::Uninstalling => "uninstalling",
            ReleaseStatus::PendingInstall => "pending-install",
            ReleaseStatus::PendingUpgrade => "pending-upgrade",
            ReleaseStatus::PendingRollback => "pending-rollback",
        }
    }

    /// From Helm's string; anything else is `Unknown`.
    pub fn parse(s: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .unwrap_or(ReleaseStatus::Unknown)
    }
}

/// One revision of a release.
#[derive(Clone, Debug, PartialEq)]
pub struct ReleaseRecord {
    /// Release name.
    pub name: String,
    /// Release namespace (where the record Secret lives).
    pub namespace: String,
    /// Revision, from 1.
    pub version: i32,
    /// Status.
    pub status: ReleaseStatus,
    /// `Chart.yaml` as JSON (Helm's chart metadata: name, version, appVersion, ...).
    pub chart_metadata: Json,
    /// The chart's default values (`helm get values --all` merges them under `config`); `{}` or
    /// null when unknown.
    pub chart_values: Json,
    /// The user-supplied values (`helm get values`).
    pub config: Json,
    /// The applied manifest: documents with `# Source:` headers, as `helm get manifest` prints.
    pub manifest: String,
    /// Helm hooks of the release (Helm's `Hook` objects as JSON, see [`super::hooks::Hook`]).
    pub hooks: Vec<Json>,
    /// Rendered NOTES.txt.
    pub notes: String,
    /// Human-readable description ("Install complete", a failure message).
    pub description: String,
    /// When the release was first deployed.
    pub first_deployed: DateTime<Utc>,
    /// When this revision was deployed.
    pub last_deployed: DateTime<Utc>,
    /// Annotations on the Secret (Signet's own bookkeeping, e.g. the inputs digest).
    pub annotations: BTreeMap<String, String>,
}

/// The Secret name of `release` at `version`.
pub fn secret_name(release: &str, version: i32) -> String {
    format!("sh.helm.release.v1.{release}.v{version}")
}

/// Go's `time.RFC3339Nano`, as Helm's JSON writes times: the fraction without trailing zeros.
pub(crate) fn go_time(t: &DateTime<Utc>) -> String {
    let text = t.to_rfc3339_opts(SecondsFormat::Nanos, true);
    match text.split_once('.') {
        Some((whole, fraction)) => {
            let digits = fraction.trim_end_matches('Z').trim_end_matches('0');
            if digits.is_empty() {
                format!("{whole}Z")
            } else {
                format!("{whole}.{digits}Z")
            }
        }
        None => text,
    }
}

fn object_or_empty(v: &Json) -> Json {
    if v.is_object() { v.clone() } else { json!({}) }
}

impl ReleaseRecord {
    /// Helm's release JSON.
    pub fn to_helm_json(&self) -> Json {
        let mut info = json!({
            "first_deployed": go_time(&self.first_deployed),
            "last_deployed": go_time(&self.last_deployed),
            "description": self.description,
            "status": self.status.as_str(),
        });
        if !self.notes.is_empty() {
            info["notes"] = json!(self.notes);
        }
        let mut release = json!({
            "name": self.name,
            "info": info,
            "chart": {
                "metadata": self.chart_metadata,
                "lock": null,
                "templates": [],
                "values": object_or_empty(&self.chart_values),
                "schema": null,
                "files": [],
            },
            "manifest": self.manifest,
            "version": self.version,
            "namespace": self.namespace,
            // Helm 4 upgrades a release with the apply method it was installed with.
            "apply_method": "ssa",
        });
        if self.config.as_object().is_some_and(|c| !c.is_empty()) {
            release["config"] = self.config.clone();
        }
        if !self.hooks.is_empty() {
            release["hooks"] = Json::Array(self.hooks.clone());
        }
        release
    }

    /// From Helm's release JSON (written by Signet or by Helm).
    pub fn from_helm_json(v: &Json, annotations: BTreeMap<String, String>) -> Result<Self, String> {
        let s = |keys: &[&str]| {
            super::applier::path(v, keys)
                .and_then(Json::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let time = |key: &str| {
            super::applier::path(v, &["info", key])
                .and_then(Json::as_str)
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or(DateTime::UNIX_EPOCH)
        };
        let version = v
            .get("version")
            .and_then(Json::as_i64)
            .and_then(|n| i32::try_from(n).ok())
            .ok_or("no version")?;
        Ok(ReleaseRecord {
            name: s(&["name"]),
            namespace: s(&["namespace"]),
            version,
            status: ReleaseStatus::parse(&s(&["info", "status"])),
            chart_metadata: super::applier::path(v, &["chart", "metadata"])
                .cloned()
                .unwrap_or(Json::Null),
            chart_values: super::applier::path(v, &["chart", "values"])
                .cloned()
                .unwrap_or(Json::Null),
            config: v.get("config").cloned().unwrap_or_else(|| json!({})),
            manifest: s(&["manifest"]),
            hooks: v
                .get("hooks")
                .and_then(Json::as_array)
                .cloned()
                .unwrap_or_default(),
            notes: s(&["info", "notes"]),
            description: s(&["info", "description"]),
            first_deployed: time("first_deployed"),
            last_deployed: time("last_deployed"),
            annotations,
        })
    }
}

/// Helm's `encodeRelease`: base64(gzip(json)), gzip at best compression as Helm writes it.
pub fn encode_release(release: &Json) -> Result<String, String> {
    let body = serde_json::to_vec(release).map_err(|e| e.to_string())?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&body).map_err(|e| e.to_string())?;
    let zipped = gz.finish().map_err(|e| e.to_string())?;
    Ok(STANDARD.encode(zipped))
}

/// Helm's `decodeRelease`: base64, then gunzip when gzipped (Helm also reads plain JSON).
pub fn decode_release(data: &[u8]) -> Result<Json, String> {
    let text = std::str::from_utf8(data).map_err(|e| e.to_string())?;
    let raw = STANDARD
        .decode(text.trim())
        .map_err(|e| format!("base64: {e}"))?;
    let body = if raw.starts_with(&GZIP_MAGIC) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(raw.as_slice())
            .read_to_end(&mut out)
            .map_err(|e| format!("gzip: {e}"))?;
        out
    } else {
        raw
    };
    serde_json::from_slice(&body).map_err(|e| format!("JSON: {e}"))
}

fn record_error(secret: &str, message: impl Into<String>) -> ApplyError {
    ApplyError::Record {
        secret: secret.to_owned(),
        message: message.into(),
    }
}

fn secret_error(e: kube::Error, verb: &str, namespace: &str, name: &str) -> ApplyError {
    ApplyError::from_kube(e, verb, &format!("Secret {namespace}/{name}"), false)
}

/// The record Secret for `release` JSON (labels from its name, version and status).
fn build_secret(
    name: &str,
    release: &Json,
    annotations: &BTreeMap<String, String>,
    created_at: &str,
    modified_at: Option<&str>,
) -> Result<Secret, ApplyError> {
    let str_at = |keys: &[&str]| {
        super::applier::path(release, keys)
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let version = release.get("version").and_then(Json::as_i64).unwrap_or(0);
    let mut labels = BTreeMap::from([
        ("name".to_owned(), str_at(&["name"])),
        ("owner".to_owned(), "helm".to_owned()),
        ("status".to_owned(), str_at(&["info", "status"])),
        ("version".to_owned(), version.to_string()),
        ("createdAt".to_owned(), created_at.to_owned()),
    ]);
    if let Some(m) = modified_at {
        labels.insert("modifiedAt".to_owned(), m.to_owned());
    }
    let encoded = encode_release(release).map_err(|m| record_error(name, m))?;
    Ok(Secret {
        metadata: kube::api::ObjectMeta {
            name: Some(name.to_owned()),
            namespace: Some(str_at(&["namespace"])),
            labels: Some(labels),
            annotations: (!annotations.is_empty()).then(|| annotations.clone()),
            ..Default::default()
        },
        type_: Some(SECRET_TYPE.to_owned()),
        data: Some(BTreeMap::from([(
            "release".to_owned(),
            ByteString(encoded.into_bytes()),
        )])),
        ..Default::default()
    })
}

/// Writes `secret` with server-side apply (idempotent: writing the same revision twice is fine).
async fn put_secret(api: &Api<Secret>, secret: &Secret) -> Result<(), ApplyError> {
    let name = secret.metadata.name.clone().unwrap_or_default();
    let ns = secret.metadata.namespace.clone().unwrap_or_default();
    let mut body = serde_json::to_value(secret).map_err(|e| record_error(&name, e.to_string()))?;
    body["apiVersion"] = json!("v1");
    body["kind"] = json!("Secret");
    api.patch(
        &name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&body),
    )
    .await
    .map_err(|e| secret_error(e, "apply", &ns, &name))?;
    Ok(())
}

/// A decoded record with its Secret and raw JSON (to rewrite the status without losing fields).
struct Stored {
    secret: Secret,
    json: Json,
    record: ReleaseRecord,
}

/// The record Secrets of `release` (labelled `owner=helm,name=<release>`), as Helm selects them.
async fn list_records(
    api: &Api<Secret>,
    namespace: &str,
    release: &str,
) -> Result<Vec<Secret>, ApplyError> {
    let lp = ListParams::default().labels(&format!("owner=helm,name={release}"));
    let list = api.list(&lp).await.map_err(|e| {
        secret_error(
            e,
            "list",
            namespace,
            &format!("sh.helm.release.v1.{release}.*"),
        )
    })?;
    Ok(list.items)
}

/// Deletes the record Secret `name`; one already gone is fine.
async fn delete_record(api: &Api<Secret>, namespace: &str, name: &str) -> Result<(), ApplyError> {
    match api.delete(name, &DeleteParams::default()).await {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => Err(secret_error(e, "delete", namespace, name)),
    }
}

async fn list_stored(
    api: &Api<Secret>,
    namespace: &str,
    release: &str,
) -> Result<Vec<Stored>, ApplyError> {
    let mut out = Vec::new();
    for secret in list_records(api, namespace, release).await? {
        let name = secret.metadata.name.clone().unwrap_or_default();
        let decoded = secret
            .data
            .as_ref()
            .and_then(|d| d.get("release"))
            .ok_or_else(|| "no data.release".to_owned())
            .and_then(|b| decode_release(&b.0))
            .and_then(|json| {
                let annotations = secret.metadata.annotations.clone().unwrap_or_default();
                ReleaseRecord::from_helm_json(&json, annotations).map(|r| (json, r))
            });
        match decoded {
            Ok((json, record)) => out.push(Stored {
                secret,
                json,
                record,
            }),
            // One unreadable revision must not block the release: it is left as it is.
            Err(e) => {
                tracing::warn!(secret = %name, namespace, error = %e, "skipping an unreadable release record")
            }
        }
    }
    out.sort_by_key(|s| s.record.version);
    Ok(out)
}

/// The release's revisions, oldest first. Unreadable records are skipped (and logged).
pub async fn load_history(
    client: &kube::Client,
    namespace: &str,
    release: &str,
) -> Result<Vec<ReleaseRecord>, ApplyError> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    Ok(list_stored(&api, namespace, release)
        .await?
        .into_iter()
        .map(|s| s.record)
        .collect())
}

/// Writes `record` as its revision's Secret; when it is `deployed`, marks the previously deployed
/// revisions `superseded`; then deletes the oldest revisions beyond `max_history` (0: unlimited),
/// never the last deployed one (Helm's rule).
pub async fn record(
    client: &kube::Client,
    record: &ReleaseRecord,
    max_history: usize,
) -> Result<(), ApplyError> {
    let ns = record.namespace.as_str();
    let api: Api<Secret> = Api::namespaced(client.clone(), ns);
    let name = secret_name(&record.name, record.version);
    let now = Utc::now().timestamp().to_string();
    let existing = api
        .get_opt(&name)
        .await
        .map_err(|e| secret_error(e, "get", ns, &name))?;
    let created_at = existing
        .as_ref()
        .and_then(|s| s.metadata.labels.as_ref()?.get("createdAt").cloned());
    let secret = build_secret(
        &name,
        &record.to_helm_json(),
        &record.annotations,
        created_at.as_deref().unwrap_or(&now),
        created_at.is_some().then_some(now.as_str()),
    )?;
    put_secret(&api, &secret).await?;

    let mut history = list_stored(&api, ns, &record.name).await?;
    if record.status == ReleaseStatus::Deployed {
        for old in history.iter_mut().filter(|s| {
            s.record.version != record.version && s.record.status == ReleaseStatus::Deployed
        }) {
            supersede(&api, old, &now).await?;
        }
    }
    trim(&api, ns, &history, max_history).await
}

async fn supersede(api: &Api<Secret>, old: &mut Stored, now: &str) -> Result<(), ApplyError> {
    let name = old.secret.metadata.name.clone().unwrap_or_default();
    old.json["info"]["status"] = json!(ReleaseStatus::Superseded.as_str());
    old.record.status = ReleaseStatus::Superseded;
    let labels = old.secret.metadata.labels.clone().unwrap_or_default();
    let created_at = labels
        .get("createdAt")
        .cloned()
        .unwrap_or_else(|| now.to_owned());
    let mut secret = build_secret(
        &name,
        &old.json,
        &old.secret.metadata.annotations.clone().unwrap_or_default(),
        &created_at,
        Some(now),
    )?;
    // Keep the release's custom labels (Helm 3.13+ stores them on the Secret).
    if let Some(l) = secret.metadata.labels.as_mut() {
        for (k, v) in labels {
            if !SYSTEM_LABELS.contains(&k.as_str()) {
                l.insert(k, v);
            }
        }
    }
    // A record Helm wrote is owned by Helm's Update manager; the forced apply takes the fields.
    put_secret(api, &secret).await
}

/// The versions to delete to keep at most `max` revisions, oldest first, sparing the last deployed.
fn versions_to_trim(history: &[(i32, ReleaseStatus)], max: usize) -> Vec<i32> {
    if max == 0 || history.len() <= max {
        return Vec::new();
    }
    let last_deployed = history
        .iter()
        .filter(|(_, s)| *s == ReleaseStatus::Deployed)
        .map(|(v, _)| *v)
        .max();
    let mut sorted: Vec<i32> = history.iter().map(|(v, _)| *v).collect();
    sorted.sort_unstable();
    let mut out = Vec::new();
    for v in sorted {
        if history.len() - out.len() <= max {
            break;
        }
        if Some(v) != last_deployed {
            out.push(v);
        }
    }
    out
}

async fn trim(
    api: &Api<Secret>,
    ns: &str,
    history: &[Stored],
    max: usize,
) -> Result<(), ApplyError> {
    let versions: Vec<(i32, ReleaseStatus)> = history
        .iter()
        .map(|s| (s.record.version, s.record.status))
        .collect();
    for v in versions_to_trim(&versions, max) {
        let Some(s) = history.iter().find(|s| s.record.version == v) else {
            continue;
        };
        let name = s.secret.metadata.name.clone().unwrap_or_default();
        delete_record(api, ns, &name).await?;
    }
    Ok(())
}

/// Deletes every record of `release` (after an uninstall, as `helm uninstall` does).
pub async fn delete_history(
    client: &kube::Client,
    namespace: &str,
    release: &str,
) -> Result<(), ApplyError> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    for s in list_records(&api, namespace, release).await? {
        let name = s.metadata.name.unwrap_or_default();
        delete_record(&api, namespace, &name).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ReleaseRecord {
        ReleaseRecord {
            name: "web".into(),
            namespace: "apps".into(),
            version: 3,
            status: ReleaseStatus::Deployed,
            chart_metadata: json!({"apiVersion": "v2", "name": "web", "version": "1.2.3", "appVersion": "4.5"}),
            chart_values: json!({"replicas": 1}),
            config: json!({"replicas": 2}),
            manifest: "---\n# Source: web/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n".into(),
            hooks: vec![],
            notes: "Thanks".into(),
            description: "Upgrade complete".into(),
            first_deployed: DateTime::parse_from_rfc3339("2026-01-02T03:04:05.123456789Z")
                .unwrap()
                .with_timezone(&Utc),
            last_deployed: DateTime::parse_from_rfc3339("2026-01-03T03:04:05Z")
                .unwrap()
                .with_timezone(&Utc),
            annotations: BTreeMap::from([("signet.dev/inputs".into(), "sha256:x".into())]),
        }
    }

    #[test]
    fn helm_json_has_helms_field_names() {
        let j = sample().to_helm_json();
        assert_eq!(j["name"], "web");
        assert_eq!(j["namespace"], "apps");
        assert_eq!(j["version"], 3);
        assert_eq!(j["info"]["status"], "deployed");
        assert_eq!(
            j["info"]["first_deployed"],
            "2026-01-02T03:04:05.123456789Z"
        );
        assert_eq!(j["info"]["last_deployed"], "2026-01-03T03:04:05Z");
        assert_eq!(j["info"]["notes"], "Thanks");
        assert_eq!(j["info"]["description"], "Upgrade complete");
        assert!(j["info"].get("deleted").is_none());
        assert_eq!(j["chart"]["metadata"]["version"], "1.2.3");
        assert_eq!(j["chart"]["values"]["replicas"], 1);
        assert_eq!(j["config"]["replicas"], 2);
        assert!(
            j["manifest"]
                .as_str()
                .unwrap()
                .contains("# Source: web/templates/cm.yaml")
        );
        assert!(j.get("hooks").is_none());
    }

    #[test]
    fn encode_decode_round_trip() {
        let r = sample();
        let encoded = encode_release(&r.to_helm_json()).unwrap();
        let raw = STANDARD.decode(&encoded).unwrap();
        assert!(raw.starts_with(&GZIP_MAGIC), "gzipped like Helm");
        let json = decode_release(encoded.as_bytes()).unwrap();
        let back = ReleaseRecord::from_helm_json(&json, r.annotations.clone()).unwrap();
        assert_eq!(back, r);
        // Helm also reads (and so must we) records that are base64 JSON without gzip.
        let plain = STANDARD.encode(serde_json::to_vec(&r.to_helm_json()).unwrap());
        assert_eq!(decode_release(plain.as_bytes()).unwrap(), json);
        assert!(decode_release(b"not base64!").is_err());
    }

    #[test]
    fn secret_looks_like_helms() {
        let r = sample();
        let s = build_secret(
            &secret_name("web", 3),
            &r.to_helm_json(),
            &r.annotations,
            "100",
            Some("200"),
        )
        .unwrap();
        assert_eq!(
            s.metadata.name.as_deref(),
            Some("sh.helm.release.v1.web.v3")
        );
        assert_eq!(s.metadata.namespace.as_deref(), Some("apps"));
        assert_eq!(s.type_.as_deref(), Some("helm.sh/release.v1"));
        let labels = s.metadata.labels.unwrap();
        assert_eq!(labels["name"], "web");
        assert_eq!(labels["owner"], "helm");
        assert_eq!(labels["status"], "deployed");
        assert_eq!(labels["version"], "3");
        assert_eq!(labels["createdAt"], "100");
        assert_eq!(labels["modifiedAt"], "200");
        // In the API's JSON the stored (already base64) text is base64-encoded again.
        let wire = serde_json::to_value(s.data.unwrap()).unwrap();
        let once = STANDARD.decode(wire["release"].as_str().unwrap()).unwrap();
        assert!(decode_release(&once).is_ok());
    }

    #[test]
    fn trimming_keeps_the_last_deployed() {
        use ReleaseStatus::*;
        let h = [
            (1, Superseded),
            (2, Superseded),
            (3, Deployed),
            (4, Failed),
            (5, Failed),
        ];
        assert_eq!(versions_to_trim(&h, 0), Vec::<i32>::new());
        assert_eq!(versions_to_trim(&h, 5), Vec::<i32>::new());
        assert_eq!(versions_to_trim(&h, 3), vec![1, 2]);
        assert_eq!(versions_to_trim(&h, 1), vec![1, 2, 4, 5]);
        assert_eq!(versions_to_trim(&h, 2), vec![1, 2, 4]);
    }

    #[test]
    fn times_are_gos_rfc3339_nano() {
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        assert_eq!(
            go_time(&t("2026-01-02T03:04:05.500Z")),
            "2026-01-02T03:04:05.5Z"
        );
        assert_eq!(go_time(&t("2026-01-02T03:04:05Z")), "2026-01-02T03:04:05Z");
        assert_eq!(
            go_time(&t("2026-01-02T03:04:05.123456789Z")),
            "2026-01-02T03:04:05.123456789Z"
        );
    }

    #[test]
    fn statuses_round_trip() {
        for s in ReleaseStatus::ALL {
            assert_eq!(ReleaseStatus::parse(s.as_str()), s);
        }
    }
}
