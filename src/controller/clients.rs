//! Kubernetes clients per identity: the controller's own, and one per ServiceAccount a release
//! impersonates (`system:serviceaccount:<ns>:<name>`), built once from a clone of the controller's
//! `kube::Config` and reused, so connections are shared across reconciles.

use std::collections::HashMap;
use std::sync::Mutex;

/// The controller's client and the impersonating ones.
pub struct Clients {
    own: kube::Client,
    config: kube::Config,
    impersonating: Mutex<HashMap<String, kube::Client>>,
}

/// The username the API server gives a ServiceAccount.
pub fn service_account_user(namespace: &str, name: &str) -> String {
    format!("system:serviceaccount:{namespace}:{name}")
}

impl Clients {
    pub fn new(own: kube::Client, config: kube::Config) -> Self {
        Self {
            own,
            config,
            impersonating: Mutex::new(HashMap::new()),
        }
    }

    /// The controller's own identity.
    pub fn own(&self) -> &kube::Client {
        &self.own
    }

    /// The client that acts for a release: impersonating `service_account` in `namespace` when
    /// set, else the controller's own.
    pub fn acting_for(
        &self,
        namespace: &str,
        service_account: Option<&str>,
    ) -> Result<kube::Client, kube::Error> {
        let Some(sa) = service_account else {
            return Ok(self.own.clone());
        };
        let user = service_account_user(namespace, sa);
        if let Some(c) = self
            .impersonating
            .lock()
            .ok()
            .and_then(|m| m.get(&user).cloned())
        {
            return Ok(c);
        }
        let mut config = self.config.clone();
        config.auth_info.impersonate = Some(user.clone());
        let client = kube::Client::try_from(config)?;
        if let Ok(mut m) = self.impersonating.lock() {
            m.insert(user, client.clone());
        }
        Ok(client)
    }
}
