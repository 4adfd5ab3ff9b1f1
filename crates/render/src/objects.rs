//! The typed objects a render produces, their order, and their YAML.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{
    ConfigMap, PersistentVolumeClaim, Pod, Secret, Service, ServiceAccount,
};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;

/// A Kubernetes object of the install.
// Objects are built once and moved a few times; boxing every variant would
// buy nothing measurable and cost clarity.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Object {
    NetworkPolicy(NetworkPolicy),
    PodDisruptionBudget(PodDisruptionBudget),
    ServiceAccount(ServiceAccount),
    Secret(Secret),
    ConfigMap(ConfigMap),
    PersistentVolumeClaim(PersistentVolumeClaim),
    ClusterRole(ClusterRole),
    ClusterRoleBinding(ClusterRoleBinding),
    Role(Role),
    RoleBinding(RoleBinding),
    Service(Service),
    DaemonSet(DaemonSet),
    Pod(Pod),
    Deployment(Deployment),
    HorizontalPodAutoscaler(HorizontalPodAutoscaler),
    StatefulSet(StatefulSet),
    Job(Job),
    CronJob(CronJob),
    Ingress(Ingress),
    /// A custom resource of another operator (KEDA ScaledObject, GKE
    /// BackendConfig, cert-manager Issuer): apiVersion, kind, metadata, spec.
    Custom(CustomObject),
}

/// A custom resource, typed as far as the render needs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CustomObject {
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    pub kind: String,
    pub metadata: ObjectMeta,
    pub spec: serde_json::Value,
}

macro_rules! each_typed {
    ($self:expr, $o:ident => $e:expr) => {
        match $self {
            Object::NetworkPolicy($o) => $e,
            Object::PodDisruptionBudget($o) => $e,
            Object::ServiceAccount($o) => $e,
            Object::Secret($o) => $e,
            Object::ConfigMap($o) => $e,
            Object::PersistentVolumeClaim($o) => $e,
            Object::ClusterRole($o) => $e,
            Object::ClusterRoleBinding($o) => $e,
            Object::Role($o) => $e,
            Object::RoleBinding($o) => $e,
            Object::Service($o) => $e,
            Object::DaemonSet($o) => $e,
            Object::Pod($o) => $e,
            Object::Deployment($o) => $e,
            Object::HorizontalPodAutoscaler($o) => $e,
            Object::StatefulSet($o) => $e,
            Object::Job($o) => $e,
            Object::CronJob($o) => $e,
            Object::Ingress($o) => $e,
            Object::Custom($o) => $e,
        }
    };
}

impl Object {
    pub fn kind(&self) -> &str {
        use k8s_openapi::Resource;
        match self {
            Object::NetworkPolicy(_) => NetworkPolicy::KIND,
            Object::PodDisruptionBudget(_) => PodDisruptionBudget::KIND,
            Object::ServiceAccount(_) => ServiceAccount::KIND,
            Object::Secret(_) => Secret::KIND,
            Object::ConfigMap(_) => ConfigMap::KIND,
            Object::PersistentVolumeClaim(_) => PersistentVolumeClaim::KIND,
            Object::ClusterRole(_) => ClusterRole::KIND,
            Object::ClusterRoleBinding(_) => ClusterRoleBinding::KIND,
            Object::Role(_) => Role::KIND,
            Object::RoleBinding(_) => RoleBinding::KIND,
            Object::Service(_) => Service::KIND,
            Object::DaemonSet(_) => DaemonSet::KIND,
            Object::Pod(_) => Pod::KIND,
            Object::Deployment(_) => Deployment::KIND,
            Object::HorizontalPodAutoscaler(_) => HorizontalPodAutoscaler::KIND,
            Object::StatefulSet(_) => StatefulSet::KIND,
            Object::Job(_) => Job::KIND,
            Object::CronJob(_) => CronJob::KIND,
            Object::Ingress(_) => Ingress::KIND,
            Object::Custom(c) => &c.kind,
        }
    }

    pub fn api_version(&self) -> &str {
        use k8s_openapi::Resource;
        match self {
            Object::NetworkPolicy(_) => NetworkPolicy::API_VERSION,
            Object::PodDisruptionBudget(_) => PodDisruptionBudget::API_VERSION,
            Object::ServiceAccount(_) => ServiceAccount::API_VERSION,
            Object::Secret(_) => Secret::API_VERSION,
            Object::ConfigMap(_) => ConfigMap::API_VERSION,
            Object::PersistentVolumeClaim(_) => PersistentVolumeClaim::API_VERSION,
            Object::ClusterRole(_) => ClusterRole::API_VERSION,
            Object::ClusterRoleBinding(_) => ClusterRoleBinding::API_VERSION,
            Object::Role(_) => Role::API_VERSION,
            Object::RoleBinding(_) => RoleBinding::API_VERSION,
            Object::Service(_) => Service::API_VERSION,
            Object::DaemonSet(_) => DaemonSet::API_VERSION,
            Object::Pod(_) => Pod::API_VERSION,
            Object::Deployment(_) => Deployment::API_VERSION,
            Object::HorizontalPodAutoscaler(_) => HorizontalPodAutoscaler::API_VERSION,
            Object::StatefulSet(_) => StatefulSet::API_VERSION,
            Object::Job(_) => Job::API_VERSION,
            Object::CronJob(_) => CronJob::API_VERSION,
            Object::Ingress(_) => Ingress::API_VERSION,
            Object::Custom(c) => &c.api_version,
        }
    }

    pub fn metadata(&self) -> &ObjectMeta {
        each_typed!(self, o => &o.metadata)
    }

    pub fn metadata_mut(&mut self) -> &mut ObjectMeta {
        each_typed!(self, o => &mut o.metadata)
    }

    pub fn name(&self) -> &str {
        self.metadata().name.as_deref().unwrap_or_default()
    }

    /// Namespaced objects get the release namespace; cluster-wide ones none.
    pub fn is_namespaced(&self) -> bool {
        !matches!(self, Object::ClusterRole(_) | Object::ClusterRoleBinding(_))
    }

    /// Whether it runs pods, or scales them or guards their disruptions:
    /// what waits for the stage before it.
    pub fn runs_pods(&self) -> bool {
        matches!(
            self.kind(),
            "Pod"
                | "Deployment"
                | "StatefulSet"
                | "DaemonSet"
                | "Job"
                | "CronJob"
                | "HorizontalPodAutoscaler"
                | "ScaledObject"
                | "PodDisruptionBudget"
        )
    }

    /// Position in Helm's install order (lower goes first).
    pub fn install_rank(&self) -> usize {
        INSTALL_ORDER
            .iter()
            .position(|k| *k == self.kind())
            .unwrap_or(INSTALL_ORDER.len())
    }

    pub fn to_yaml(&self) -> String {
        // Serializing typed objects to YAML cannot fail: no maps with
        // non-string keys, no non-finite floats.
        serde_saphyr::to_string(self).unwrap_or_default()
    }
}

/// Helm's install order, so `render` reads like `helm template`.
const INSTALL_ORDER: &[&str] = &[
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
];

/// When Helm would apply an object, relative to the rest: its hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    /// Before the install's other objects (migrations, renames).
    PreInstall,
    /// With everything else.
    Main,
    /// After the install's other objects are ready.
    PostInstall,
}

/// The step of an install an object belongs to, set by whoever builds it.
/// The operator applies the steps in this order, each once the workloads of
/// the one before are ready: stores before migrations before services, as
/// the upstream chart's hooks order them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// Secrets, ConfigMaps, RBAC, Services, volumes: what pods need to start.
    Config,
    /// The in-cluster stores.
    Stores,
    /// Jobs that prepare the databases (pre-install hooks, migrations).
    Migrations,
    /// The W&B services.
    Services,
    /// Jobs that run once the services are up (post-install hooks).
    PostInstall,
    /// Test pods, run by `helm test` or a check; never applied with the install.
    Test,
}

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::Config => "config",
            Stage::Stores => "stores",
            Stage::Migrations => "migrations",
            Stage::Services => "services",
            Stage::PostInstall => "post-install",
            Stage::Test => "test",
        }
    }
}

/// A key of a generated Secret: created once with a random value, never
/// changed afterwards, never rendered as a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedKey {
    pub key: String,
    /// Length of the random value, in alphanumeric characters.
    pub length: usize,
}

/// An object and what the applier needs to know about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    pub object: Object,
    /// The component it belongs to (`app`, `mysql`, `ingress`, ...).
    pub component: String,
    pub phase: Phase,
    pub stage: Stage,
    /// An earlier stage whose turn starts the object, when it needs nothing
    /// of the stages between (the catalog's `startsWith`): it is applied
    /// then, and its stage still waits for it.
    pub starts_with: Option<Stage>,
    /// For a Secret: its keys whose values are generated once.
    pub generated: Vec<GeneratedKey>,
}

impl Manifest {
    /// An object of the main phase: in the Config stage when pods need it
    /// to start, else a service's (see `in_stage`).
    pub fn new(component: &str, object: Object) -> Self {
        let stage = if object.runs_pods() {
            Stage::Services
        } else {
            Stage::Config
        };
        Manifest {
            object,
            component: component.to_string(),
            phase: Phase::Main,
            stage,
            starts_with: None,
            generated: Vec::new(),
        }
    }

    /// The stage whose turn applies the object: its own, or an earlier one
    /// it starts with.
    pub fn start(&self) -> Stage {
        self.starts_with.map_or(self.stage, |s| s.min(self.stage))
    }

    pub fn in_phase(mut self, phase: Phase) -> Self {
        self.phase = phase;
        self
    }

    /// Puts the object in `stage` when it runs pods (or scales or guards
    /// them); what pods need to start stays in Config, applied first.
    pub fn in_stage(mut self, stage: Stage) -> Self {
        if self.object.runs_pods() {
            self.stage = stage;
        }
        self
    }

    /// Starts the object with `stage` when it runs pods and `stage` is
    /// earlier than its own (see `starts_with`).
    pub fn starting_with(mut self, stage: Option<Stage>) -> Self {
        if self.object.runs_pods() {
            self.starts_with = stage.filter(|s| *s < self.stage);
        }
        self
    }

    /// A test's object, whatever its kind: never applied with the install.
    pub fn for_test(mut self) -> Self {
        self.stage = Stage::Test;
        self
    }
}

/// Annotation on a generated Secret that lists its generated keys.
pub const GENERATED_KEYS_ANNOTATION: &str = "apps.wandb.com/generated-keys";

/// Sorts manifests as `helm template` prints them: by phase (test objects,
/// Helm's test hooks, last), by Helm's kind order, then by name.
pub fn sort(manifests: &mut [Manifest]) {
    manifests.sort_by(|a, b| helm_order(a).cmp(&helm_order(b)));
}

fn helm_order(m: &Manifest) -> (bool, Phase, usize, &str, &str) {
    (
        m.stage == Stage::Test,
        m.phase,
        m.object.install_rank(),
        m.object.kind(),
        m.object.name(),
    )
}

/// Multi-document YAML of the manifests, in order, each headed by the
/// component it belongs to.
pub fn to_yaml(manifests: &[Manifest]) -> String {
    // Writing YAML is the larger part of a render: an install's worth of
    // objects is written in two halves at once, the first on a thread of
    // its own, and joined in order.
    if manifests.len() < PARALLEL_FROM {
        return documents(manifests);
    }
    let (first, second) = manifests.split_at(manifests.len() / 2);
    std::thread::scope(|scope| {
        let writing = scope.spawn(|| documents(first));
        let rest = documents(second);
        let mut out = writing
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        out.reserve_exact(rest.len());
        out.push_str(&rest);
        out
    })
}

/// How many objects make a second thread worth starting.
const PARALLEL_FROM: usize = 16;

fn documents(manifests: &[Manifest]) -> String {
    // About what an object takes, so that the text is seldom moved.
    let mut out = String::with_capacity(manifests.len() * 2048);
    for m in manifests {
        out.push_str("---\n# Source: ");
        out.push_str(&m.component);
        out.push('\n');
        out.push_str(&m.object.to_yaml());
    }
    out
}

/// Labels or annotations.
pub type Labels = BTreeMap<String, String>;
