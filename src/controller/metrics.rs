//! The controller's Prometheus metrics: one registry, shared (behind an `Arc`) by the reconcile
//! workers, which record into it, and the `/metrics` endpoint, which encodes it.
//!
//! Series (all prefixed `signet_`):
//! - `reconcile_duration_seconds` histogram and `reconcile_total{result}`, where `result` is
//!   `success` or the condition reason of the failure (a bounded set, see `api::conditions::reasons`);
//! - `release_ready{namespace,name}`: 1 Ready, 0 not Ready, absent once the release is deleted;
//! - `verification_failures_total{reason}`;
//! - `registry_requests_total{operation}` (`resolve`, `list_tags`, `pull`);
//! - `cache_hits_total{cache}` and `cache_misses_total{cache}` (`verification`, `chart`).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The content type of [`Metrics::encode`]'s output (OpenMetrics text, which Prometheus scrapes).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReleaseLabels {
    namespace: String,
    name: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabel {
    operation: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CacheLabel {
    cache: String,
}

/// The controller's metrics. Cheap to record into from many tasks at once.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    reconcile_duration: Histogram,
    reconciles: Family<ResultLabel, Counter>,
    ready: Family<ReleaseLabels, Gauge>,
    verification_failures: Family<ReasonLabel, Counter>,
    registry_requests: Family<OperationLabel, Counter>,
    cache_hits: Family<CacheLabel, Counter>,
    cache_misses: Family<CacheLabel, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("signet");
        // 10 ms .. ~164 s: a warm no-op reconcile takes milliseconds, a cold one with a health
        // wait can take the whole spec.timeout (minutes).
        let reconcile_duration = Histogram::new(exponential_buckets(0.01, 2.0, 15));
        registry.register(
            "reconcile_duration_seconds",
            "Time one reconcile of a SignedChartRelease took",
            reconcile_duration.clone(),
        );
        let reconciles = Family::<ResultLabel, Counter>::default();
        registry.register(
            "reconcile",
            "Reconciles by result: success or the failure's condition reason",
            reconciles.clone(),
        );
        let ready = Family::<ReleaseLabels, Gauge>::default();
        registry.register(
            "release_ready",
            "Whether a SignedChartRelease is Ready (1) or not (0)",
            ready.clone(),
        );
        let verification_failures = Family::<ReasonLabel, Counter>::default();
        registry.register(
            "verification_failures",
            "Signature verifications that refused a chart, by reason",
            verification_failures.clone(),
        );
        let registry_requests = Family::<OperationLabel, Counter>::default();
        registry.register(
            "registry_requests",
            "Requests to OCI registries, by operation",
            registry_requests.clone(),
        );
        let cache_hits = Family::<CacheLabel, Counter>::default();
        registry.register(
            "cache_hits",
            "Lookups answered from a cache, by cache",
            cache_hits.clone(),
        );
        let cache_misses = Family::<CacheLabel, Counter>::default();
        registry.register(
            "cache_misses",
            "Lookups a cache could not answer, by cache",
            cache_misses.clone(),
        );
        Self {
            registry,
            reconcile_duration,
            reconciles,
            ready,
            verification_failures,
            registry_requests,
            cache_hits,
            cache_misses,
        }
    }

    /// One finished reconcile: `result` is `"success"` or the failure's condition reason.
    pub fn reconciled(&self, result: &str, seconds: f64) {
        self.reconcile_duration.observe(seconds);
        self.reconciles
            .get_or_create(&ResultLabel {
                result: result.to_owned(),
            })
            .inc();
    }

    /// The release's Ready state; `None` (the release is gone) removes its series, so deleted
    /// releases do not linger as not-Ready forever.
    pub fn set_ready(&self, namespace: &str, name: &str, ready: Option<bool>) {
        let labels = ReleaseLabels {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        };
        match ready {
            Some(ready) => {
                self.ready.get_or_create(&labels).set(i64::from(ready));
            }
            None => {
                self.ready.remove(&labels);
            }
        }
    }

    pub fn verification_failed(&self, reason: &str) {
        self.verification_failures
            .get_or_create(&ReasonLabel {
                reason: reason.to_owned(),
            })
            .inc();
    }

    pub fn registry_request(&self, operation: &str) {
        self.registry_requests
            .get_or_create(&OperationLabel {
                operation: operation.to_owned(),
            })
            .inc();
    }

    pub fn cache(&self, cache: &str, hit: bool) {
        let family = if hit {
            &self.cache_hits
        } else {
            &self.cache_misses
        };
        family
            .get_or_create(&CacheLabel {
                cache: cache.to_owned(),
            })
            .inc();
    }

    /// The `/metrics` body, in the OpenMetrics text format ([`CONTENT_TYPE`]).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail; an encoder error would mean a bug in a label type,
        // and a partial page is still more useful to a scraper than none.
        if let Err(err) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!("cannot encode metrics: {err}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// `series{labels} value` lines of the exposition, keyed by the series with its labels.
    fn parse(text: &str) -> BTreeMap<String, f64> {
        let mut samples = BTreeMap::new();
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let (series, value) = line.rsplit_once(' ').expect("a sample line has a value");
            let value = value.parse().unwrap_or_else(|_| panic!("number in {line}"));
            assert!(
                samples.insert(series.to_owned(), value).is_none(),
                "duplicate series {series}"
            );
        }
        samples
    }

    #[test]
    fn reconciles_are_counted_by_result_and_timed() {
        let metrics = Metrics::new();
        metrics.reconciled("success", 0.02);
        metrics.reconciled("success", 3.0);
        metrics.reconciled("VerificationFailed", 0.5);
        let samples = parse(&metrics.encode());
        assert_eq!(samples[r#"signet_reconcile_total{result="success"}"#], 2.0);
        assert_eq!(
            samples[r#"signet_reconcile_total{result="VerificationFailed"}"#],
            1.0
        );
        assert_eq!(samples["signet_reconcile_duration_seconds_count"], 3.0);
        assert!((samples["signet_reconcile_duration_seconds_sum"] - 3.52).abs() < 1e-9);
        // Buckets are cumulative: 0.02 fits le=0.02, 0.5 le=0.64, 3.0 le=5.12.
        let bucket = |le: &str| {
            samples[&format!(r#"signet_reconcile_duration_seconds_bucket{{le="{le}"}}"#)]
        };
        assert_eq!(bucket("0.01"), 0.0);
        assert_eq!(bucket("0.02"), 1.0);
        assert_eq!(bucket("0.64"), 2.0);
        assert_eq!(bucket("2.56"), 2.0);
        assert_eq!(bucket("5.12"), 3.0);
        assert_eq!(bucket("+Inf"), 3.0);
    }

    #[test]
    fn ready_gauge_per_release_is_set_and_removed() {
        let metrics = Metrics::new();
        metrics.set_ready("shop", "frontend", Some(true));
        metrics.set_ready("shop", "cache", Some(true));
        metrics.set_ready("shop", "cache", Some(false));
        let samples = parse(&metrics.encode());
        assert_eq!(
            samples[r#"signet_release_ready{namespace="shop",name="frontend"}"#],
            1.0
        );
        assert_eq!(
            samples[r#"signet_release_ready{namespace="shop",name="cache"}"#],
            0.0
        );

        metrics.set_ready("shop", "frontend", None);
        let samples = parse(&metrics.encode());
        assert!(
            !samples.keys().any(|k| k.contains(r#"name="frontend""#)),
            "{samples:?}"
        );
        assert!(samples.contains_key(r#"signet_release_ready{namespace="shop",name="cache"}"#));
        // Removing what is not there is harmless.
        metrics.set_ready("shop", "frontend", None);
    }

    #[test]
    fn failures_requests_and_cache_lookups_are_counted_by_label() {
        let metrics = Metrics::new();
        metrics.verification_failed("VerificationFailed");
        metrics.verification_failed("VerificationFailed");
        metrics.verification_failed("TrustRootUnavailable");
        for op in ["resolve", "resolve", "list_tags", "pull"] {
            metrics.registry_request(op);
        }
        metrics.cache("verification", true);
        metrics.cache("verification", true);
        metrics.cache("verification", false);
        metrics.cache("chart", false);
        let samples = parse(&metrics.encode());
        let expected = [
            (
                r#"signet_verification_failures_total{reason="VerificationFailed"}"#,
                2.0,
            ),
            (
                r#"signet_verification_failures_total{reason="TrustRootUnavailable"}"#,
                1.0,
            ),
            (
                r#"signet_registry_requests_total{operation="resolve"}"#,
                2.0,
            ),
            (
                r#"signet_registry_requests_total{operation="list_tags"}"#,
                1.0,
            ),
            (r#"signet_registry_requests_total{operation="pull"}"#, 1.0),
            (r#"signet_cache_hits_total{cache="verification"}"#, 2.0),
            (r#"signet_cache_misses_total{cache="verification"}"#, 1.0),
            (r#"signet_cache_misses_total{cache="chart"}"#, 1.0),
        ];
        for (series, value) in expected {
            assert_eq!(
                samples.get(series),
                Some(&value),
                "{series} in {samples:#?}"
            );
        }
        assert!(!samples.contains_key(r#"signet_cache_hits_total{cache="chart"}"#));
    }

    #[test]
    fn exposition_declares_types_and_ends_like_openmetrics() {
        let metrics = Metrics::new();
        // A family without series prints nothing at all, not even its TYPE line.
        assert!(!metrics.encode().contains("signet_reconcile_total"));
        metrics.reconciled("success", 1.0);
        metrics.set_ready("ns", "r", Some(true));
        metrics.verification_failed("VerificationFailed");
        metrics.registry_request("pull");
        metrics.cache("chart", true);
        metrics.cache("chart", false);
        let text = metrics.encode();
        for declaration in [
            "# TYPE signet_reconcile_duration_seconds histogram",
            "# TYPE signet_reconcile counter",
            "# TYPE signet_release_ready gauge",
            "# TYPE signet_verification_failures counter",
            "# TYPE signet_registry_requests counter",
            "# TYPE signet_cache_hits counter",
            "# TYPE signet_cache_misses counter",
        ] {
            assert!(
                text.contains(declaration),
                "{declaration} missing in\n{text}"
            );
        }
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
