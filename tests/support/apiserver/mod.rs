//! An in-process Kubernetes API server test double, served over real HTTP on 127.0.0.1, generic
//! over kinds: any group/version/kind can be registered (builtin kinds are, and creating a
//! CustomResourceDefinition registers its served versions). kube-rs clients and watchers, `kubectl`
//! and `helm` talk to it like to a real API server.
//!
//! What it implements, like a real server: discovery (`/version` v1.34.1, `/api`, `/apis`, group
//! and group-version resource lists with `*/status` subresources), get/list/watch/create/update/
//! patch/delete/deletecollection on every registered kind, namespaced and cluster-scoped paths,
//! `Status` error bodies with real reasons and messages, label selectors (`=`, `!=`, `in`,
//! `notin`, exists, `!`) and field selectors (`metadata.name`/`metadata.namespace`, plus a few
//! indexed kind-specific fields) on list and watch, `limit`/`continue` pages, resourceVersion
//! conflicts and delete preconditions, generateName, generation bumps, status subresources,
//! finalizers and deletion timestamps, watches from a resourceVersion with an event history
//! (an ERROR event with 410 Expired when compacted), bookmarks and `sendInitialEvents`,
//! metadata-only (`PartialObjectMetadata`) answers, JSON merge / JSON / strategic merge patches,
//! server-side apply with managedFields (fieldsV1), conflicts, force and field removal, no-op
//! writes that write nothing, `dryRun=All`, impersonation with an RBAC-like authorizer and real
//! 403 messages, name/label validation, missing and terminating namespaces, immutable fields
//! (workload selectors, Job templates, `immutable` ConfigMaps/Secrets), Secret `stringData`,
//! CRD establishment (optionally delayed) registering and unregistering kinds.
//!
//! Where it differs from a real API server (on purpose, or not done):
//! - No authentication: every request without `Impersonate-User` is an all-powerful admin.
//!   The authorizer's rules are flat allow rules (no Roles/RoleBindings objects are evaluated:
//!   RBAC objects are stored like any other kind). Impersonation needs no permission.
//! - JSON (and YAML) request bodies; protobuf only for Secrets and ConfigMaps (what Helm's release
//!   storage sends) and Namespaces, else 415 (so `kubectl create deployment` fails); no CBOR. Answers are JSON only (clients accept that even when they
//!   ask for protobuf); no server-side `Table` printing (kubectl prints client-side),
//!   no aggregated discovery (clients fall back to the legacy documents). OpenAPI v3 documents
//!   hold only PATCH operations and their parameters (no schemas); `/openapi/v2` answers 404
//!   (so `kubectl explain` does not work).
//! - No schema validation, defaulting or unknown-field pruning of any kind (CRD schemas are read
//!   only for list types in server-side apply); `fieldValidation` is accepted and ignored (unknown
//!   fields are stored, not refused). No CEL rules. Services get no clusterIP, ports no default
//!   protocol. apiVersion/kind may be left out of request bodies (filled from the URL).
//! - Every kind gets `metadata.generation` (a real server leaves it out for some builtin kinds,
//!   e.g. ConfigMaps); it is bumped by any change outside metadata and (for kinds with a status
//!   subresource) status, and when deletion starts.
//! - No controllers: no garbage collector (ownerReferences and `propagationPolicy` are accepted and
//!   ignored), no Deployment/Job status, no ServiceAccount tokens, no kubelet (Pods never run). Tests
//!   simulate controllers with [`ApiServer::set_status`], or opt in to [`ApiServer::run_workloads`]:
//!   Jobs complete or fail, Pods succeed or fail and Deployments roll out (or never become
//!   available) as an annotation on them asks (`runner.rs`), after a short delay, and a failed Job
//!   gets the Job controller's Warning Event. No Pods are created for Jobs or Deployments. Deleting a namespace deletes its objects at once (objects with
//!   finalizers get a deletionTimestamp, and the namespace stays Terminating until they are gone);
//!   deleting a CRD deletes its objects at once, finalizers or not (a real CRD gets a cleanup
//!   finalizer and waits for them).
//! - `limit`/`continue` pages cut the current state, not a snapshot at the first page's
//!   resourceVersion; `resourceVersion`/`resourceVersionMatch` on get and list are ignored.
//! - Server-side apply: lists are atomic unless known associative (CRD schemas'
//!   `x-kubernetes-list-type`, and for builtin kinds a table of the usual merge keys, see `ssa.rs`);
//!   maps and structs are not told apart (no `"."` member for maps such as labels); a null in an
//!   applied configuration removes the field.
//! - Strategic merge patch is a JSON merge patch that merges lists by the same known keys; patch
//!   directives (`$patch`, `$retainKeys`, `$setElementOrder`) are not supported.
//! - Objects of all versions of a resource share storage with trivial conversion (apiVersion is
//!   rewritten). `core/v1` and `events.k8s.io/v1` Events are stored separately (a real server
//!   shares them).
//! - Watch event history keeps the last 10 000 events ([`ApiServer::compact`] drops it to test 410);
//!   bookmarks come every 2 seconds; a watcher that falls 16 384 events behind is closed.
//! - Requests are handled one at a time under one lock. Order of checks: request stats,
//!   impersonation and authorization, injected faults, then the verb (validation, admission
//!   rejections, storage).
//! - Direct store access ([`ApiServer::put`], [`ApiServer::set_status`], [`ApiServer::delete`])
//!   bypasses validation, authorization, faults, managedFields and request stats, but does produce
//!   watch events; `delete` ignores finalizers.
#![allow(dead_code)]

mod auth;
mod crd;
mod delete;
mod discovery;
mod errors;
mod http;
mod patch;
mod policy;
mod protobuf;
mod runner;
mod select;
mod ssa;
mod store;
mod validate;
mod verbs;
mod watch;

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

// Each test binary uses a different subset.
#[allow(unused_imports)]
pub use auth::{Authorizer, Rule};
#[allow(unused_imports)]
pub use discovery::KindSpec;
#[allow(unused_imports)]
pub use policy::{Matcher, Stats};
#[allow(unused_imports)]
pub use runner::{MESSAGE_ANNOTATION, OUTCOME_ANNOTATION, WorkloadRunner};

use store::Shared;

/// A running API server double; stopped on drop.
pub struct ApiServer {
    shared: Arc<Shared>,
    addr: std::net::SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl ApiServer {
    /// Starts a server with the builtin kinds and the `default` and `kube-system` namespaces.
    /// It runs on its own thread and runtime, so tests may block (run kubectl) while it serves.
    pub async fn start() -> ApiServer {
        let shared = Shared::new();
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind 127.0.0.1:0 for the API server");
        std_listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let addr = std_listener.local_addr().expect("listener address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server_shared = shared.clone();
        std::thread::Builder::new()
            .name(format!("apiserver-{}", addr.port()))
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("API server runtime");
                runtime.block_on(async move {
                    let listener =
                        tokio::net::TcpListener::from_std(std_listener).expect("tokio listener");
                    let app = http::router(server_shared);
                    let serve = axum::serve(listener, app);
                    tokio::select! {
                        _ = serve => {}
                        _ = stopped => {}
                    }
                });
                // Open watch streams would hold a graceful shutdown forever.
                runtime.shutdown_background();
            })
            .expect("spawn API server thread");
        ApiServer {
            shared,
            addr,
            stop: Some(stop),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A client configuration for this server (namespace `default`).
    pub fn kube_config(&self) -> kube::Config {
        let uri = self.url().parse().expect("server URL is a URI");
        let mut config = kube::Config::new(uri);
        config.default_namespace = "default".into();
        config
    }

    /// Applies the CustomResourceDefinition `crd` (any, as JSON) through the API and waits until it
    /// is Established, so watches of its kind can start. Panics after 30 s (a test set-up step).
    pub async fn install_crd(&self, crd: &Value) {
        use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
        use kube::api::{Api, Patch, PatchParams};
        let name = crd["metadata"]["name"]
            .as_str()
            .expect("the CRD has a name")
            .to_owned();
        let crds: Api<CustomResourceDefinition> = Api::all(self.client());
        crds.patch(
            &name,
            &PatchParams::apply("test-setup").force(),
            &Patch::Apply(crd),
        )
        .await
        .expect("install the CRD");
        let established = kube::runtime::wait::await_condition(
            crds,
            &name,
            kube::runtime::wait::conditions::is_crd_established(),
        );
        tokio::time::timeout(Duration::from_secs(30), established)
            .await
            .expect("CRD established within 30 s")
            .expect("watch the CRD");
    }

    /// A client for this server, as the unimpersonated admin.
    pub fn client(&self) -> kube::Client {
        kube::Client::try_from(self.kube_config()).expect("kube client for the API server double")
    }

    /// A client impersonating `user` (and `groups`), like `--as`/`--as-group`.
    pub fn client_as(&self, user: &str, groups: &[&str]) -> kube::Client {
        let mut config = self.kube_config();
        config.auth_info.impersonate = Some(user.to_string());
        if !groups.is_empty() {
            config.auth_info.impersonate_groups =
                Some(groups.iter().map(|g| g.to_string()).collect());
        }
        kube::Client::try_from(config).expect("impersonating kube client")
    }

    /// A kubeconfig naming this server (context `double`, namespace `default`), for kubectl/helm.
    pub fn kubeconfig_yaml(&self) -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: double\n  cluster:\n    server: {url}\n\
             users:\n- name: admin\n  user: {{}}\ncontexts:\n- name: double\n  context:\n    cluster: double\n    \
             user: admin\n    namespace: default\ncurrent-context: double\n",
            url = self.url()
        )
    }

    /// Registers (or replaces) a kind in discovery and routing.
    pub fn register_kind(&self, kind: KindSpec) {
        self.shared.lock().kinds.register(kind);
    }

    /// The authorizer consulted for impersonated requests.
    pub fn authorizer(&self) -> Authorizer {
        Authorizer::new(self.shared.clone())
    }

    /// Fails the next `times` requests matching `matcher` with `status` (409, 429, 500, 503, ...)
    /// and a real `Status` body (429 and 503 also carry `Retry-After: 1`).
    pub fn fail_next(&self, matcher: Matcher, status: u16, times: usize) {
        self.shared.lock().policy.fail_next(matcher, status, times);
    }

    /// Refuses writes matching `matcher` like a validating admission webhook would (400, message
    /// `admission webhook "double.test" denied the request: <message>`), also under dry-run.
    pub fn reject(&self, matcher: Matcher, message: &str) {
        self.shared.lock().policy.reject(matcher, 400, message);
    }

    /// Like [`ApiServer::reject`] with another code (422 answers reason `Invalid`).
    pub fn reject_with(&self, matcher: Matcher, code: u16, message: &str) {
        self.shared.lock().policy.reject(matcher, code, message);
    }

    /// Removes every rejection rule and pending fault.
    pub fn clear_policies(&self) {
        self.shared.lock().policy.clear();
    }

    /// Delay between creating a CRD and it being Established (and served). Zero by default.
    pub fn set_crd_establish_delay(&self, delay: Duration) {
        self.shared.lock().crd_delay = delay;
    }

    /// Requests and effective writes so far.
    pub fn stats(&self) -> Stats {
        self.shared.lock().policy.stats.clone()
    }

    /// Drops the watch event history: watches from any older resourceVersion get 410 Expired.
    pub fn compact(&self) {
        self.shared.lock().compact();
    }

    /// The current (latest) resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.shared.lock().rv
    }

    /// The stored object, if any. `ns` is ignored for cluster-scoped kinds.
    pub fn get(
        &self,
        api_version: &str,
        kind: &str,
        ns: Option<&str>,
        name: &str,
    ) -> Option<Value> {
        self.shared.lock().direct_get(api_version, kind, ns, name)
    }

    /// Every stored object of a kind (all namespaces when `ns` is None).
    pub fn list(&self, api_version: &str, kind: &str, ns: Option<&str>) -> Vec<Value> {
        self.shared.lock().direct_list(api_version, kind, ns)
    }

    /// Stores `obj` as is (creating or replacing), filling uid, creationTimestamp,
    /// resourceVersion and generation. Panics on an unknown kind or a missing name.
    pub fn put(&self, obj: Value) -> Value {
        self.shared.lock().direct_put(obj)
    }

    /// Replaces the status of a stored object (like a controller would). Panics if it is absent.
    pub fn set_status(
        &self,
        api_version: &str,
        kind: &str,
        ns: Option<&str>,
        name: &str,
        status: Value,
    ) {
        self.shared
            .lock()
            .direct_set_status(api_version, kind, ns, name, status);
    }

    /// Starts the stand-in for the kubelet and the workload controllers (see `runner.rs`): Jobs,
    /// Pods and Deployments finish as their `test.signet.dev/outcome` annotation asks. It stops
    /// when the returned guard is dropped.
    pub fn run_workloads(&self) -> WorkloadRunner {
        runner::start(Arc::downgrade(&self.shared))
    }

    /// Removes an object at once (ignoring finalizers). Returns whether it existed.
    pub fn delete(&self, api_version: &str, kind: &str, ns: Option<&str>, name: &str) -> bool {
        self.shared
            .lock()
            .direct_delete(api_version, kind, ns, name)
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
