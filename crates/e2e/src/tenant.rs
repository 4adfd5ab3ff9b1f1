//! One control plane for a whole suite, each test in a namespace of its own:
//! a cluster takes seconds and a good part of a core to start, and the tests
//! of a suite that only touch their own namespace need no fresh one.

use std::ops::Deref;
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;

use crate::{Cluster, operator_binary, text};

/// The annotation that names the resource (`<namespace>/<name>`) a
/// cluster-scoped object of an install belongs to.
const OWNER_ANNOTATION: &str = "apps.wandb.com/owner";

/// The suite's cluster `<prefix>-<pid>`, started by the first test that asks
/// for it. A static is never dropped: its watchdog takes it down once the
/// suite's process has ended.
pub fn suite_cluster(prefix: &str) -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(|| Cluster::up(prefix))
}

/// A test's namespace on its suite's cluster (PodSecurity `restricted`);
/// it dereferences to the cluster.
///
/// Dropped, it removes what would stand in the next test's way: the
/// cluster-scoped objects of its installs (named after the resource, so the
/// next install of the same name would find them taken) and the namespace.
/// Declare it before the test's operators, so that they stop first and do
/// not make those objects again.
pub struct Tenant {
    cluster: Home,
    pub ns: String,
}

/// Where a test's namespace is.
enum Home {
    Shared(&'static Cluster),
    /// A cluster of the test's own, for a test that a shared one would
    /// disturb or that would disturb it (it says why).
    Own(Cluster),
}

impl Tenant {
    /// Namespace `ns` on the cluster of the suite (`prefix`).
    pub fn new(prefix: &str, ns: &str) -> Tenant {
        // The binary first: building it (if missing) should not count as test time.
        operator_binary();
        let cluster = suite_cluster(prefix);
        eprintln!(
            "[e2e] namespace '{ns}' on the suite's cluster '{}'",
            cluster.name
        );
        Tenant::in_home(Home::Shared(cluster), ns)
    }

    /// Namespace `ns` on a fresh cluster `<prefix>-<test>` of the test's own.
    pub fn alone(prefix: &str, test: &str, ns: &str) -> Tenant {
        operator_binary();
        let cluster = Cluster::up(&format!("{prefix}-{test}"));
        Tenant::in_home(Home::Own(cluster), ns)
    }

    fn in_home(cluster: Home, ns: &str) -> Tenant {
        let tenant = Tenant {
            cluster,
            ns: ns.to_string(),
        };
        tenant.restricted_namespace(ns);
        tenant
    }

    /// The namespace, for kubectl's `-n`.
    pub fn ns(&self) -> &str {
        &self.ns
    }

    /// The cluster-scoped objects (`kind/name`) that installs of this
    /// namespace made.
    fn cluster_scoped_objects(&self) -> Vec<String> {
        let out = self.kubectl(
            &["get", "clusterroles,clusterrolebindings", "-o", "json"],
            None,
            Duration::from_secs(30),
        );
        let list: Value = serde_json::from_str(&out.stdout).unwrap_or(Value::Null);
        let prefix = format!("{}/", self.ns);
        list["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|o| {
                o.pointer("/metadata/annotations")
                    .and_then(|a| a.get(OWNER_ANNOTATION))
                    .and_then(Value::as_str)
                    .is_some_and(|owner| owner.starts_with(&prefix))
            })
            .map(|o| format!("{}/{}", text(o, "/kind"), text(o, "/metadata/name")))
            .collect()
    }
}

impl Deref for Tenant {
    type Target = Cluster;

    fn deref(&self) -> &Cluster {
        match &self.cluster {
            Home::Shared(cluster) => cluster,
            Home::Own(cluster) => cluster,
        }
    }
}

impl Drop for Tenant {
    fn drop(&mut self) {
        if let Home::Own(_) = self.cluster {
            return; // It goes down with its cluster.
        }
        // No panic here: Drop may run while a failed test unwinds.
        let quiet = |args: &[&str]| {
            let out = self.kubectl(args, None, Duration::from_secs(60));
            if !out.success() {
                eprintln!("[e2e] `kubectl {}`: {}", args.join(" "), out.stderr.trim());
            }
        };
        let objects = self.cluster_scoped_objects();
        if !objects.is_empty() {
            let mut args = vec!["delete", "--ignore-not-found"];
            args.extend(objects.iter().map(String::as_str));
            quiet(&args);
        }
        // The resources' finalizer waits for an operator that has stopped:
        // without it the namespace goes, and all that is in it.
        let resources = self.kubectl(
            &["-n", &self.ns, "get", "weightsandbiases", "-o", "name"],
            None,
            Duration::from_secs(30),
        );
        for resource in resources.stdout.lines() {
            quiet(&[
                "-n",
                &self.ns,
                "patch",
                resource,
                "--type=merge",
                "-p",
                r#"{"metadata":{"finalizers":null}}"#,
            ]);
        }
        quiet(&["delete", "namespace", &self.ns, "--wait=false"]);
        eprintln!("[e2e] namespace '{}' cleared", self.ns);
    }
}
