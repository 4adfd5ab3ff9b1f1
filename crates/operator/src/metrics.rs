//! Prometheus metrics of the operator.

use std::collections::{BTreeMap, BTreeSet};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabel {
    pub result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabel {
    pub error: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct VerbLabel {
    pub verb: String,
}

/// One install: its resource's namespace and name.
#[derive(Clone, Debug, Hash, PartialEq, Eq, PartialOrd, Ord, EncodeLabelSet)]
pub struct InstallLabel {
    pub namespace: String,
    pub name: String,
}

/// One component of an install (a values key: `app`, `mysql`, ...).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ComponentLabel {
    pub namespace: String,
    pub name: String,
    pub component: String,
}

pub struct Metrics {
    pub registry: Registry,
    pub reconciles: Family<ResultLabel, Counter>,
    pub reconcile_duration: Histogram,
    pub errors: Family<ErrorLabel, Counter>,
    pub applied: Family<KindLabel, Counter>,
    pub deleted: Family<KindLabel, Counter>,
    pub api_requests: Family<VerbLabel, Counter>,
    pub leader: Gauge,
    pub install_ready: Family<InstallLabel, Gauge>,
    pub install_paused: Family<InstallLabel, Gauge>,
    pub install_stopped: Family<InstallLabel, Gauge>,
    pub component_ready: Family<ComponentLabel, Gauge>,
    pub component_failed: Family<ComponentLabel, Gauge>,
    /// The components each install has series of, to remove them when
    /// they go (the client cannot list a family's series).
    components: std::sync::Mutex<BTreeMap<InstallLabel, BTreeSet<String>>>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("wandb_operator");
        let reconciles = Family::<ResultLabel, Counter>::default();
        let reconcile_duration =
            Histogram::new([0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0]);
        let errors = Family::<ErrorLabel, Counter>::default();
        let applied = Family::<KindLabel, Counter>::default();
        let deleted = Family::<KindLabel, Counter>::default();
        let api_requests = Family::<VerbLabel, Counter>::default();
        let leader = Gauge::default();
        let install_ready = Family::<InstallLabel, Gauge>::default();
        let install_paused = Family::<InstallLabel, Gauge>::default();
        let install_stopped = Family::<InstallLabel, Gauge>::default();
        let component_ready = Family::<ComponentLabel, Gauge>::default();
        let component_failed = Family::<ComponentLabel, Gauge>::default();
        registry.register("reconciles", "Reconciles, by result", reconciles.clone());
        registry.register(
            "reconcile_duration_seconds",
            "How long a reconcile took",
            reconcile_duration.clone(),
        );
        registry.register(
            "reconcile_errors",
            "Reconcile errors, by kind of error",
            errors.clone(),
        );
        registry.register(
            "objects_applied",
            "Objects applied (created or changed), by kind",
            applied.clone(),
        );
        registry.register(
            "objects_deleted",
            "Objects deleted (pruned or replaced), by kind",
            deleted.clone(),
        );
        registry.register(
            "api_requests",
            "Requests the reconciler made to the API server, by verb",
            api_requests.clone(),
        );
        registry.register(
            "leader",
            "1 while this replica holds the leader lease",
            leader.clone(),
        );
        registry.register(
            "install_ready",
            "1 while an install is Ready (its Ready condition is True)",
            install_ready.clone(),
        );
        registry.register(
            "install_paused",
            "1 while an install is paused (spec.paused or the paused annotation)",
            install_paused.clone(),
        );
        registry.register(
            "install_stopped",
            "1 while an install is stopped (spec.stopped: its services at zero)",
            install_stopped.clone(),
        );
        registry.register(
            "component_ready",
            "1 while a component of an install is ready",
            component_ready.clone(),
        );
        registry.register(
            "component_failed",
            "1 while a job of a component failed (a migration, say)",
            component_failed.clone(),
        );
        Metrics {
            registry,
            reconciles,
            reconcile_duration,
            errors,
            applied,
            deleted,
            api_requests,
            leader,
            install_ready,
            install_paused,
            install_stopped,
            component_ready,
            component_failed,
            components: Default::default(),
        }
    }
}

impl Metrics {
    pub fn request(&self, verb: &str) {
        self.api_requests
            .get_or_create(&VerbLabel { verb: verb.into() })
            .inc();
    }

    /// What the last reconcile of an install learned. `components` empty
    /// (refused values) leaves the components' series as they were.
    pub fn record_install(
        &self,
        namespace: &str,
        name: &str,
        ready: bool,
        components: &std::collections::BTreeMap<String, crate::status::ComponentState>,
    ) {
        let install = InstallLabel {
            namespace: namespace.into(),
            name: name.into(),
        };
        self.install_ready.get_or_create(&install).set(ready.into());
        if components.is_empty() {
            return;
        }
        // A component no longer installed has no series.
        self.forget_components(&install);
        let mut known = self.components.lock().unwrap_or_else(|e| e.into_inner());
        known.insert(install.clone(), components.keys().cloned().collect());
        for (component, state) in components {
            let label = ComponentLabel {
                namespace: namespace.into(),
                name: name.into(),
                component: component.clone(),
            };
            self.component_ready
                .get_or_create(&label)
                .set(state.ready.into());
            self.component_failed
                .get_or_create(&label)
                .set(state.failed.into());
        }
    }

    /// Whether an install is paused, and stopped; `stopped` is `None` when
    /// not known (a paused install's spec is not read), leaving it as it was.
    pub fn record_held(&self, namespace: &str, name: &str, paused: bool, stopped: Option<bool>) {
        let install = InstallLabel {
            namespace: namespace.into(),
            name: name.into(),
        };
        self.install_paused
            .get_or_create(&install)
            .set(paused.into());
        if let Some(stopped) = stopped {
            self.install_stopped
                .get_or_create(&install)
                .set(stopped.into());
        }
    }

    /// An install deleted: its series go.
    pub fn forget_install(&self, namespace: &str, name: &str) {
        let install = InstallLabel {
            namespace: namespace.into(),
            name: name.into(),
        };
        self.install_ready.remove(&install);
        self.install_paused.remove(&install);
        self.install_stopped.remove(&install);
        self.forget_components(&install);
    }

    fn forget_components(&self, install: &InstallLabel) {
        let mut known = self.components.lock().unwrap_or_else(|e| e.into_inner());
        for component in known.remove(install).unwrap_or_default() {
            let label = ComponentLabel {
                namespace: install.namespace.clone(),
                name: install.name.clone(),
                component,
            };
            self.component_ready.remove(&label);
            self.component_failed.remove(&label);
        }
    }

    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::ComponentState;

    fn state(ready: bool, failed: bool) -> ComponentState {
        ComponentState {
            ready,
            message: String::new(),
            failed,
        }
    }

    #[test]
    fn an_installs_series_follow_its_components_and_go_with_it() {
        let m = Metrics::default();
        let components = BTreeMap::from([
            ("app".to_string(), state(true, false)),
            ("clickhouseMigrationJob".to_string(), state(false, true)),
        ]);
        m.record_install("ns", "wandb", false, &components);
        let text = m.encode();
        assert!(
            text.contains(r#"wandb_operator_install_ready{namespace="ns",name="wandb"} 0"#),
            "{text}"
        );
        assert!(
            text.contains(
                r#"wandb_operator_component_ready{namespace="ns",name="wandb",component="app"} 1"#
            ),
            "{text}"
        );
        assert!(text.contains(r#"wandb_operator_component_failed{namespace="ns",name="wandb",component="clickhouseMigrationJob"} 1"#), "{text}");

        // The migration's component gone from the install: its series too.
        m.record_install(
            "ns",
            "wandb",
            true,
            &BTreeMap::from([("app".to_string(), state(true, false))]),
        );
        let text = m.encode();
        assert!(
            text.contains(r#"wandb_operator_install_ready{namespace="ns",name="wandb"} 1"#),
            "{text}"
        );
        assert!(!text.contains("clickhouseMigrationJob"), "{text}");

        // Refused values (no components known) keep the components' series.
        m.record_install("ns", "wandb", false, &BTreeMap::new());
        assert!(m.encode().contains(r#"component="app"} 1"#));

        m.record_held("ns", "wandb", false, Some(true));
        m.record_held("ns", "wandb", true, None);
        let text = m.encode();
        assert!(
            text.contains(r#"wandb_operator_install_paused{namespace="ns",name="wandb"} 1"#)
                && text
                    .contains(r#"wandb_operator_install_stopped{namespace="ns",name="wandb"} 1"#),
            "{text}"
        );

        m.forget_install("ns", "wandb");
        let text = m.encode();
        assert!(!text.contains(r#"name="wandb""#), "{text}");
    }
}
