//! Applying a rendered release to a cluster: server-side apply with server-side dry-run first,
//! ownership marks, prune, health (kstatus), uninstall, live `lookup`, and the Helm release records
//! (`helm.sh/release.v1` Secrets). One of the two modules that hold a Kubernetes client.
