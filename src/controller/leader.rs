//! Leader election on a `coordination.k8s.io/v1` Lease, so that of several controller replicas
//! exactly one reconciles and another takes over when it dies.
//!
//! The algorithm is client-go's: every write to the Lease is a `replace` carrying the
//! `resourceVersion` that was read (optimistic concurrency: of two candidates racing for a free
//! lease, the API server accepts one and answers 409 Conflict to the other). A candidate never
//! compares the holder's `renewTime` with its own clock (clocks of nodes differ); it considers the
//! lease expired when it has seen the same Lease version, unchanged, for the lease duration by its
//! own monotonic clock. The leader renews every renew period and steps down when it has not managed
//! to renew for `renew_deadline`, which is shorter than the lease duration so that it stops before
//! any other candidate may start. On shutdown the leader releases the lease (empty holder), so a
//! standby replica takes over at its next retry instead of after a lease duration.
//!
//! Why not a crate: `kube-lease-manager` (the maintained one that builds with kube 5) takes locks
//! with server-side apply conflicts and renews with strategic-merge patches without a precondition,
//! which ties correctness to field-manager bookkeeping; a precondition on `resourceVersion` needs
//! only GET, POST and PUT and is what every Kubernetes implementation gets right.

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::Api;
use kube::api::PostParams;
use std::future::Future;
use std::pin::pin;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// The Lease's default name, in the controller's namespace.
pub const DEFAULT_LEASE_NAME: &str = "signet-controller-leader";

#[derive(Debug, thiserror::Error)]
pub enum LeaderError {
    #[error("invalid leader election settings: {0}")]
    Config(String),
    #[error("cannot read or write Lease {namespace}/{name}: {source}")]
    Api {
        namespace: String,
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("lost the leader Lease {namespace}/{name}: {why}")]
    Lost {
        namespace: String,
        name: String,
        why: String,
    },
    #[error("the controller stopped with an error while leading: {0:#}")]
    Led(anyhow::Error),
}

impl LeaderError {
    /// A short machine-readable cause, for logs and metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Config(_) => "InvalidLeaderElectionConfig",
            Self::Api { .. } => "LeaseUnavailable",
            Self::Lost { .. } => "LeaderLeaseLost",
            Self::Led(_) => "ControllerFailed",
        }
    }
}

/// Where the Lease is, who we are, and the timing of the election.
#[derive(Clone, Debug)]
pub struct LeaderConfig {
    pub namespace: String,
    pub name: String,
    /// Unique per replica (see [`default_identity`]); written as `holderIdentity`.
    pub identity: String,
    /// How long a holder's claim lasts without renewal (`leaseDurationSeconds`, whole seconds).
    pub lease_duration: Duration,
    /// The leader steps down when it has not renewed for this long; shorter than the lease
    /// duration so it has stopped before a standby may take over.
    pub renew_deadline: Duration,
    /// How often the leader renews.
    pub renew_period: Duration,
    /// How often a standby looks at the Lease, and the leader retries a failed renewal.
    pub retry_period: Duration,
    /// How long the led task may take to stop before it is abandoned and the lease released
    /// anyway: below the pod's termination grace period, so the release happens before SIGKILL.
    pub stop_timeout: Duration,
}

impl LeaderConfig {
    /// client-go's defaults (15 s lease, 10 s deadline, 2 s retry); renewal every 5 s.
    pub fn new(namespace: impl Into<String>, identity: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            name: DEFAULT_LEASE_NAME.to_owned(),
            identity: identity.into(),
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            renew_period: Duration::from_secs(5),
            retry_period: Duration::from_secs(2),
            stop_timeout: Duration::from_secs(15),
        }
    }

    /// A lease duration with the other periods scaled like the defaults (2/3, 1/3, 2/15 of it).
    pub fn with_lease_duration(mut self, lease_duration: Duration) -> Self {
        self.lease_duration = lease_duration;
        self.renew_deadline = lease_duration * 2 / 3;
        self.renew_period = lease_duration / 3;
        self.retry_period = lease_duration * 2 / 15;
        self
    }

    pub fn validate(&self) -> Result<(), LeaderError> {
        let fail = |why: String| Err(LeaderError::Config(why));
        if self.identity.is_empty() || self.name.is_empty() || self.namespace.is_empty() {
            return fail("identity, Lease name and namespace must not be empty".into());
        }
        if self.lease_duration < Duration::from_secs(1) {
            return fail(format!(
                "lease duration {:?} is below the Lease's 1 s resolution",
                self.lease_duration
            ));
        }
        if !(self.renew_period < self.renew_deadline && self.renew_deadline < self.lease_duration) {
            return fail(format!(
                "need renew period < renew deadline < lease duration, got {:?} / {:?} / {:?}",
                self.renew_period, self.renew_deadline, self.lease_duration
            ));
        }
        if self.retry_period.is_zero() {
            return fail("retry period must be positive".into());
        }
        Ok(())
    }

    fn lease_seconds(&self) -> i32 {
        i32::try_from(self.lease_duration.as_secs()).unwrap_or(i32::MAX)
    }
}

/// `<pod name>_<random>`: the pod name (HOSTNAME in a pod) says which replica leads in
/// `kubectl get lease`; the suffix keeps a restarted pod of the same name from inheriting the
/// claim of its dead predecessor while that claim could still be live.
pub fn default_identity() -> String {
    use std::hash::{BuildHasher, RandomState};
    let host = std::env::var("POD_NAME")
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "signet-controller".to_owned());
    // RandomState is seeded randomly per process: a random suffix without a rand dependency.
    let suffix = RandomState::new().hash_one(std::process::id());
    format!("{host}_{suffix:016x}")
}

/// The last version of the Lease a candidate saw, and when it first saw it.
struct Observed {
    resource_version: String,
    since: Instant,
}

/// One replica's participation in the election.
pub struct LeaderElector {
    api: Api<Lease>,
    config: LeaderConfig,
    observed: Option<Observed>,
    last_renewal: Option<Instant>,
}

impl LeaderElector {
    pub fn new(client: kube::Client, config: LeaderConfig) -> Result<Self, LeaderError> {
        config.validate()?;
        Ok(Self {
            api: Api::namespaced(client, &config.namespace),
            config,
            observed: None,
            last_renewal: None,
        })
    }

    pub fn config(&self) -> &LeaderConfig {
        &self.config
    }

    fn api_error(&self, source: kube::Error) -> LeaderError {
        LeaderError::Api {
            namespace: self.config.namespace.clone(),
            name: self.config.name.clone(),
            source,
        }
    }

    /// The Lease as the API server has it now (`None`: there is none).
    async fn get_lease(&self) -> Result<Option<Lease>, LeaderError> {
        self.api
            .get_opt(&self.config.name)
            .await
            .map_err(|e| self.api_error(e))
    }

    fn lost(&self, why: impl Into<String>) -> LeaderError {
        LeaderError::Lost {
            namespace: self.config.namespace.clone(),
            name: self.config.name.clone(),
            why: why.into(),
        }
    }

    /// One election round: takes the Lease when it is free or expired, renews it when we hold
    /// it. `Ok(true)`: we lead now. `Ok(false)`: someone else does, or won the race for it.
    pub async fn try_acquire_or_renew(&mut self) -> Result<bool, LeaderError> {
        let now = now_micro();
        let Some(mut lease) = self.get_lease().await? else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.config.name.clone()),
                    namespace: Some(self.config.namespace.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(self.claim(now.clone(), None)),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(self.renewed()),
                // Another candidate created it first.
                Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
                Err(err) => Err(self.api_error(err)),
            };
        };

        let version = lease.metadata.resource_version.clone().unwrap_or_default();
        let changed = self
            .observed
            .as_ref()
            .is_none_or(|o| o.resource_version != version);
        if changed {
            self.observed = Some(Observed {
                resource_version: version,
                since: Instant::now(),
            });
        }
        let spec = lease.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.as_deref().unwrap_or_default();
        let ours = holder == self.config.identity;
        if !ours && !holder.is_empty() {
            let lasts = spec
                .lease_duration_seconds
                .and_then(|s| u64::try_from(s).ok())
                .map_or(self.config.lease_duration, Duration::from_secs);
            let seen_for = self.observed.as_ref().map(|o| o.since.elapsed());
            if seen_for.is_none_or(|seen| seen < lasts) {
                self.last_renewal = None;
                return Ok(false);
            }
            tracing::info!(
                previous = holder,
                lease = %self.config.name,
                "the leader lease expired; taking it over"
            );
        }
        lease.spec = Some(if ours {
            LeaseSpec {
                renew_time: Some(now),
                lease_duration_seconds: Some(self.config.lease_seconds()),
                ..spec
            }
        } else {
            self.claim(now, Some(&spec))
        });
        // `lease` carries the resourceVersion we read: the write fails if anyone wrote since.
        match self
            .api
            .replace(&self.config.name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => Ok(self.renewed()),
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
            Err(err) => Err(self.api_error(err)),
        }
    }

    /// A claim by us, counting a transition when the holder changes.
    fn claim(&self, now: MicroTime, previous: Option<&LeaseSpec>) -> LeaseSpec {
        let transitions = previous.and_then(|p| p.lease_transitions).unwrap_or(0);
        LeaseSpec {
            holder_identity: Some(self.config.identity.clone()),
            lease_duration_seconds: Some(self.config.lease_seconds()),
            acquire_time: Some(now.clone()),
            renew_time: Some(now),
            lease_transitions: Some(if previous.is_some() {
                transitions.saturating_add(1)
            } else {
                0
            }),
            ..previous.cloned().unwrap_or_default()
        }
    }

    fn renewed(&mut self) -> bool {
        self.last_renewal = Some(Instant::now());
        // Our own write changed the version; the next read re-observes it.
        self.observed = None;
        true
    }

    /// Campaigns until this replica leads. Errors reading the Lease are logged and retried:
    /// a standby waits out API server outages.
    pub async fn acquire(&mut self) {
        let mut waiting_logged = false;
        loop {
            match self.try_acquire_or_renew().await {
                Ok(true) => {
                    tracing::info!(
                        identity = %self.config.identity,
                        lease = %self.config.name,
                        "became the leader"
                    );
                    return;
                }
                Ok(false) if !waiting_logged => {
                    tracing::info!(lease = %self.config.name, "another replica leads; standing by");
                    waiting_logged = true;
                }
                Ok(false) => {}
                Err(err) => tracing::warn!("leader election: {err}"),
            }
            tokio::time::sleep(self.config.retry_period).await;
        }
    }

    /// Keeps the lease while we lead: renews every renew period, retries failed renewals every
    /// retry period. Returns (the caller must stop leading) when another replica holds the lease
    /// or no renewal succeeded for the renew deadline.
    pub async fn hold(&mut self) -> LeaderError {
        let mut next = self.config.renew_period;
        loop {
            tokio::time::sleep(next).await;
            match self.try_acquire_or_renew().await {
                Ok(true) => {
                    next = self.config.renew_period;
                    continue;
                }
                Ok(false) => {
                    // A 409 means someone wrote the lease since we read it; if it was not a
                    // takeover, the next round renews.
                    if self.holder_is_someone_else().await {
                        return self.lost("another replica holds it");
                    }
                }
                Err(err) => tracing::warn!("cannot renew the leader lease: {err}"),
            }
            let since = self.last_renewal.map_or(Duration::MAX, |t| t.elapsed());
            if since >= self.config.renew_deadline {
                return self.lost(format!(
                    "not renewed for {since:.1?} (renew deadline {:?})",
                    self.config.renew_deadline
                ));
            }
            next = self.config.retry_period;
        }
    }

    async fn holder_is_someone_else(&self) -> bool {
        match self.get_lease().await {
            Ok(Some(lease)) => lease
                .spec
                .and_then(|s| s.holder_identity)
                .is_some_and(|h| !h.is_empty() && h != self.config.identity),
            // Deleted under us, or unreadable: not known to be taken; the deadline decides.
            Ok(None) | Err(_) => false,
        }
    }

    /// Gives the lease up (empty holder) if we hold it, so a standby takes over at its next
    /// retry. `Ok(false)`: we did not hold it (any more).
    pub async fn release(&mut self) -> Result<bool, LeaderError> {
        self.last_renewal = None;
        let Some(mut lease) = self.get_lease().await? else {
            return Ok(false);
        };
        let Some(spec) = lease.spec.as_mut() else {
            return Ok(false);
        };
        if spec.holder_identity.as_deref() != Some(self.config.identity.as_str()) {
            return Ok(false);
        }
        spec.holder_identity = None;
        // Like client-go: a 1 s claim, so candidates that ignore an empty holder still move on.
        spec.lease_duration_seconds = Some(1);
        spec.renew_time = Some(now_micro());
        match self
            .api
            .replace(&self.config.name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => {
                tracing::info!(lease = %self.config.name, "released the leader lease");
                Ok(true)
            }
            // Written since we read it: someone else's now.
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
            Err(err) => Err(self.api_error(err)),
        }
    }
}

/// Waits for a stopping task at most `timeout`. kube-runtime's graceful shutdown never finishes
/// when it is asked to stop before its caches have synced (its runner waits for a store that the
/// stopped watches will never fill), so a stop must be bounded, not trusted.
pub async fn stop_within(
    timeout: Duration,
    stopping: impl Future<Output = anyhow::Result<()>>,
) -> anyhow::Result<()> {
    match tokio::time::timeout(timeout, stopping).await {
        Ok(result) => result,
        Err(_) => {
            tracing::warn!("the controller did not stop within {timeout:?}; abandoning it");
            Ok(())
        }
    }
}

fn now_micro() -> MicroTime {
    MicroTime(k8s_openapi::jiff::Timestamp::now())
}

/// Resolves when the leader loop asks the led task to stop (shutdown or a lost lease).
pub type StopSignal = std::pin::Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Campaigns for the lease, runs `lead` while holding it and stops it (by resolving the
/// [`StopSignal`] given to it, then waiting for it to return) when `shutdown` resolves or the
/// lease is lost; then releases the lease. `on_standby` runs once the campaign has started
/// (a standby replica is ready).
///
/// Returns `Ok` after a shutdown (or when `lead` returned `Ok` by itself),
/// [`LeaderError::Lost`] when the lease was lost (the process should exit and start afresh, as
/// client-go's users do: the led task's in-memory state is from a time it may not have led), and
/// [`LeaderError::Led`] when `lead` failed.
pub async fn run_as_leader<L, Fut>(
    mut elector: LeaderElector,
    shutdown: impl Future<Output = ()>,
    on_standby: impl FnOnce(),
    lead: L,
) -> Result<(), LeaderError>
where
    L: FnOnce(StopSignal) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let mut shutdown = pin!(shutdown);
    on_standby();
    tokio::select! {
        biased;
        () = &mut shutdown => return Ok(()),
        () = elector.acquire() => {}
    }

    let (stop_tx, mut stop_rx) = watch::channel(false);
    let stop: StopSignal = Box::pin(async move {
        // Err: the sender is gone, which also means stop.
        let _ = stop_rx.wait_for(|stop| *stop).await;
    });
    let mut task = pin!(lead(stop));
    let stop_timeout = elector.config.stop_timeout;
    let (result, lost) = tokio::select! {
        result = &mut task => (result, None),
        () = &mut shutdown => {
            tracing::info!("stopping the controller before releasing the leader lease");
            let _ = stop_tx.send(true);
            // Keep renewing while the controller winds down, so no standby starts meanwhile.
            let stopping = async {
                tokio::select! {
                    result = &mut task => result,
                    lost = elector.hold() => {
                        tracing::warn!("{lost}");
                        (&mut task).await
                    }
                }
            };
            (stop_within(stop_timeout, stopping).await, None)
        }
        lost = elector.hold() => {
            tracing::error!("{lost}; stopping the controller");
            let _ = stop_tx.send(true);
            (stop_within(stop_timeout, &mut task).await, Some(lost))
        }
    };
    if lost.is_none()
        && let Err(err) = elector.release().await
    {
        // The lease then expires after its duration: a slower takeover, nothing worse.
        tracing::warn!("cannot release the leader lease: {err}");
    }
    match (lost, result) {
        (Some(lost), result) => {
            if let Err(err) = result {
                tracing::error!("the controller stopped with an error: {err:#}");
            }
            Err(lost)
        }
        (None, Err(err)) => Err(LeaderError::Led(err)),
        (None, Ok(())) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_scale_with_the_lease_duration() {
        let config = LeaderConfig::new("ns", "me");
        config.validate().expect("defaults are valid");
        assert_eq!(config.name, DEFAULT_LEASE_NAME);
        let scaled = config.with_lease_duration(Duration::from_secs(30));
        scaled.validate().expect("scaled is valid");
        assert_eq!(scaled.renew_deadline, Duration::from_secs(20));
        assert_eq!(scaled.renew_period, Duration::from_secs(10));
        assert_eq!(scaled.retry_period, Duration::from_secs(4));
        assert_eq!(scaled.lease_seconds(), 30);
    }

    #[test]
    fn timings_that_would_let_two_replicas_lead_are_refused() {
        let base = LeaderConfig::new("ns", "me");
        let mut late = base.clone();
        late.renew_deadline = late.lease_duration;
        let mut short = base.clone();
        short.lease_duration = Duration::from_millis(500);
        let mut lazy = base.clone();
        lazy.renew_period = lazy.renew_deadline;
        let mut anonymous = base.clone();
        anonymous.identity.clear();
        for config in [late, short, lazy, anonymous] {
            let err = config.validate().expect_err("invalid");
            assert_eq!(err.reason(), "InvalidLeaderElectionConfig", "{err}");
        }
    }

    #[test]
    fn identities_differ_between_electors_of_the_same_pod() {
        assert_ne!(default_identity(), default_identity());
    }
}
