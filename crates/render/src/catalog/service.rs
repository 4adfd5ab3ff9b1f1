//! A W&B service of the document: what it runs and what it needs. The
//! generic workload builder (`crate::workload`) turns one, with the user's
//! values for it, into its Deployment (or Jobs, CronJobs), Service,
//! ServiceAccount, Role, autoscaler and PodDisruptionBudget.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    ContainerPort, Lifecycle, PodSecurityContext, Probe, ResourceRequirements, SecurityContext,
    ServicePort, Volume, VolumeMount,
};
use k8s_openapi::api::rbac::v1::PolicyRule;
use serde::Deserialize;
use wandb_values::Image;

use super::condition::Condition;
use super::source::Entry;

/// What kind of workload a service runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Kind {
    Deployment,
    StatefulSet,
    /// Only the entry's `jobs`.
    Job,
    /// Only the entry's `cronJobs`.
    CronJob,
}

/// One W&B service.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Service {
    pub kind: Kind,
    /// Appended to the Deployment's name (`{release}-app-bc`).
    pub deployment_postfix: Option<String>,
    /// When the service runs; by default when its `install` value is true.
    pub enabled: Option<Condition>,
    /// Helm hook phases the jobs run in (`pre-install,pre-upgrade`).
    pub hook: Option<String>,
    /// Its jobs prepare the databases: the operator runs them before the
    /// services, as a hook or not.
    #[serde(default)]
    pub migration: bool,
    /// An earlier stage its pods start with, when they need nothing of the
    /// stages between (a hook's Job that touches no store); its own stage
    /// still waits for them.
    pub starts_with: Option<crate::objects::Stage>,
    /// `Recreate` instead of a rolling update.
    pub strategy: Option<String>,
    pub pod_security_context: Option<PodSecurityContext>,
    #[serde(default)]
    pub service_account: ServiceAccountSpec,
    #[serde(default = "yes")]
    pub pod_disruption_budget: bool,
    /// Mount the install-wide volumes (CA certificates).
    #[serde(default = "yes")]
    pub global_volumes: bool,
    pub service: Option<ServiceSpec>,
    #[serde(default)]
    pub extra_services: Vec<NamedServiceSpec>,
    pub role: Option<RoleSpec>,
    #[serde(default)]
    pub pod_labels: BTreeMap<String, String>,
    #[serde(default)]
    pub pod_annotation_groups: Vec<PodAnnotationGroup>,
    #[serde(default)]
    pub pod_label_groups: Vec<PodLabelGroup>,
    #[serde(default)]
    pub env_from: Vec<EnvFromSpec>,
    /// Names of the document's env groups, in order.
    #[serde(default)]
    pub env_groups: Vec<String>,
    #[serde(default)]
    pub env: BTreeMap<String, Entry>,
    #[serde(default)]
    pub init_containers: BTreeMap<String, ContainerSpec>,
    #[serde(default)]
    pub containers: BTreeMap<String, ContainerSpec>,
    #[serde(default)]
    pub volumes: Vec<Volume>,
    #[serde(default)]
    pub volume_groups: Vec<VolumeGroup>,
    #[serde(default)]
    pub jobs: BTreeMap<String, JobSpec>,
    #[serde(default)]
    pub cron_jobs: BTreeMap<String, CronJobSpec>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceAccountSpec {
    #[serde(default = "yes")]
    pub create: bool,
    /// A fixed name instead of `{release}-<service>`.
    pub name: Option<String>,
}

impl Default for ServiceAccountSpec {
    fn default() -> Self {
        ServiceAccountSpec {
            create: true,
            name: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceSpec {
    pub ports: Vec<ServicePort>,
    #[serde(default)]
    pub headless: bool,
    pub load_balancer_health_check_path: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NamedServiceSpec {
    /// Name without the release prefix.
    pub name: String,
    pub ports: Vec<ServicePort>,
    #[serde(default)]
    pub headless: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoleSpec {
    /// A ClusterRole instead of a Role.
    #[serde(default)]
    pub cluster: bool,
    pub rules: Vec<PolicyRule>,
}

/// A ConfigMap or Secret of the install, named without the release prefix.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum EnvFromSpec {
    ConfigMap(String),
    Secret(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PortGroup {
    /// The lumen agent's pull port.
    Lumen,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum VolumeGroup {
    InternalSigner,
    GcsFuse,
    LumenStaging,
    LumenWif,
    LumenRules,
    WeaveCache,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PodAnnotationGroup {
    /// Marks pods the lumen agent pulls from.
    Lumen,
    GcsFuse,
    McpDatadog,
}

/// Pod labels computed from the values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PodLabelGroup {
    /// Datadog's unified service tags: service, env and the image's version.
    McpDatadog,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContainerSpec {
    pub when: Option<Condition>,
    /// Its own image instead of the service's.
    pub image: Option<Image>,
    pub command: Option<Vec<String>>,
    pub args: Option<Vec<String>>,
    #[serde(default)]
    pub ports: Vec<ContainerPort>,
    #[serde(default)]
    pub port_groups: Vec<PortGroup>,
    pub liveness_probe: Option<Probe>,
    pub readiness_probe: Option<Probe>,
    pub startup_probe: Option<Probe>,
    pub lifecycle: Option<Lifecycle>,
    pub resources: Option<ResourceRequirements>,
    pub security_context: Option<SecurityContext>,
    #[serde(default)]
    pub env: BTreeMap<String, Entry>,
    #[serde(default)]
    pub env_from: Vec<EnvFromSpec>,
    #[serde(default)]
    pub volume_mounts: Vec<VolumeMount>,
    #[serde(default)]
    pub volume_mount_groups: Vec<VolumeGroup>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JobSpec {
    pub when: Option<Condition>,
    pub backoff_limit: Option<i32>,
    pub active_deadline_seconds: Option<i64>,
    pub ttl_seconds_after_finished: Option<i32>,
    pub restart_policy: Option<String>,
    #[serde(default)]
    pub init_containers: BTreeMap<String, ContainerSpec>,
    pub containers: BTreeMap<String, ContainerSpec>,
    #[serde(default)]
    pub volumes: Vec<Volume>,
    #[serde(default)]
    pub volume_groups: Vec<VolumeGroup>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CronJobSpec {
    /// Unsuspended by default; `<service>.cronJobs.<name>.enabled` overrides.
    #[serde(default = "yes")]
    pub enabled: bool,
    pub schedule: String,
    pub concurrency_policy: Option<String>,
    pub failed_jobs_history_limit: Option<i32>,
    pub successful_jobs_history_limit: Option<i32>,
    pub starting_deadline_seconds: Option<i64>,
    pub restart_policy: Option<String>,
    pub backoff_limit: Option<i32>,
    pub containers: BTreeMap<String, ContainerSpec>,
    #[serde(default)]
    pub volumes: Vec<Volume>,
    #[serde(default)]
    pub volume_groups: Vec<VolumeGroup>,
}
