//! Prometheus metrics of the operator.

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

pub struct Metrics {
    pub registry: Registry,
    pub reconciles: Family<ResultLabel, Counter>,
    pub reconcile_duration: Histogram,
    pub errors: Family<ErrorLabel, Counter>,
    pub applied: Family<KindLabel, Counter>,
    pub deleted: Family<KindLabel, Counter>,
    pub api_requests: Family<VerbLabel, Counter>,
    pub leader: Gauge,
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
        Metrics {
            registry,
            reconciles,
            reconcile_duration,
            errors,
            applied,
            deleted,
            api_requests,
            leader,
        }
    }
}

impl Metrics {
    pub fn request(&self, verb: &str) {
        self.api_requests
            .get_or_create(&VerbLabel { verb: verb.into() })
            .inc();
    }

    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
