//! The service catalog: every W&B service as data (`catalog/services.yaml`)
//! and its per-size resources (`catalog/sizing.yaml`), typed.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use k8s_openapi::api::core::v1::{
    ContainerPort, EnvVarSource, Lifecycle, PodSecurityContext, Probe, ResourceRequirements,
    SecurityContext, ServicePort, Volume, VolumeMount,
};
use k8s_openapi::api::rbac::v1::PolicyRule;
use serde::Deserialize;
use wandb_values::template::EnvHelper;
use wandb_values::{Image, Sizing};

// The catalog's YAML files as JSON (build.rs): faster to parse at every start.
const SERVICES_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/services.json"));
const SIZING_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/sizing.json"));

/// The catalog, parsed once. It is part of the binary and a unit test parses
/// it, so a parse failure is a build defect.
pub static CATALOG: LazyLock<Catalog> = LazyLock::new(|| {
    Catalog::parse(SERVICES_JSON, SIZING_JSON).unwrap_or_else(|e| panic!("built-in catalog: {e}"))
});

pub struct Catalog {
    /// Services by values key, in catalog order.
    pub services: Vec<(String, Service)>,
    /// Sizing by values key; `base` applies to all.
    pub sizing: BTreeMap<String, BTreeMap<String, Sizing>>,
}

impl Catalog {
    /// From the JSON that build.rs makes of the YAML files.
    pub fn parse(services: &str, sizing: &str) -> Result<Self, String> {
        let services: indexmap_lite::OrderedMap<Service> =
            serde_json::from_str(services).map_err(|e| format!("services.yaml: {e}"))?;
        let sizing = serde_json::from_str(sizing).map_err(|e| format!("sizing.yaml: {e}"))?;
        Ok(Catalog {
            services: services.0,
            sizing,
        })
    }

    pub fn service(&self, key: &str) -> Option<&Service> {
        self.services.iter().find(|(k, _)| k == key).map(|(_, s)| s)
    }
}

/// A map that keeps the order of the file (serde_json's map sorts).
mod indexmap_lite {
    use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
    use std::fmt;
    use std::marker::PhantomData;

    pub struct OrderedMap<T>(pub Vec<(String, T)>);

    impl<'de, T: Deserialize<'de>> Deserialize<'de> for OrderedMap<T> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V<T>(PhantomData<T>);
            impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
                type Value = OrderedMap<T>;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("a map")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                    let mut out = Vec::new();
                    while let Some((k, v)) = map.next_entry::<String, T>()? {
                        out.push((k, v));
                    }
                    Ok(OrderedMap(out))
                }
            }
            d.deserialize_map(V(PhantomData))
        }
    }
}

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
    /// When the service runs, if not by its `install` value.
    #[serde(default)]
    pub switch: Switch,
    /// Helm hook phases the jobs run in (`pre-install,pre-upgrade`).
    pub hook: Option<String>,
    /// Its jobs prepare the databases: the operator runs them before the
    /// services, as a hook or not.
    #[serde(default)]
    pub migration: bool,
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
    #[serde(default)]
    pub env_groups: Vec<EnvHelper>,
    #[serde(default)]
    pub env: BTreeMap<String, EnvSpec>,
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

/// What turns a service on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Switch {
    /// `<service>.install`.
    #[default]
    Install,
    /// `global.api.enabled`.
    GlobalApi,
    /// `global.glue.enabled`.
    GlobalGlue,
    /// `global.localService.bypass` (and `<service>.install`).
    LocalServiceBypass,
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

/// An env var's value in the catalog.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum EnvSpec {
    From {
        #[serde(rename = "from")]
        source: Source,
    },
    ValueFrom {
        #[serde(rename = "valueFrom")]
        value_from: Box<EnvVarSource>,
    },
    Literal(String),
}

/// A value computed from the values (see `env::source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Source {
    ExecutorTaskQueue,
    FileStreamStoreConsumer,
    RunUpdateShadowQueue,
    RedisConnectionString,
    BucketUrl,
    LumenGoogleCredsPath,
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

/// A condition on a container or job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Condition {
    /// `global.api.enabled` is off (someone else must migrate the database).
    ApiDisabled,
    /// Any OLAP feature is on.
    OlapAnyFeature,
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
    pub env: BTreeMap<String, EnvSpec>,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalog_parses_and_every_service_has_containers() {
        let catalog = Catalog::parse(SERVICES_JSON, SIZING_JSON).unwrap();
        assert!(catalog.services.len() >= 25);
        for (key, service) in &catalog.services {
            let has_pods = !service.containers.is_empty()
                || service.jobs.values().any(|j| !j.containers.is_empty())
                || service.cron_jobs.values().any(|j| !j.containers.is_empty());
            assert!(has_pods, "{key} runs no container");
        }
        for key in catalog.sizing.keys() {
            assert!(
                key == "base" || catalog.service(key).is_some(),
                "sizing for unknown service {key}"
            );
        }
    }

    /// A catalog service without a values block renders nothing, and a
    /// values block without a catalog entry configures nothing: both are
    /// defects no render would show.
    #[test]
    fn every_catalog_service_has_a_values_block_and_back() {
        let values = wandb_values::Values::default();
        let catalog: Vec<&str> = CATALOG.services.iter().map(|(k, _)| k.as_str()).collect();
        for key in &catalog {
            assert!(
                values.component(key).is_some(),
                "catalog service {key} has no values block in Values::components()"
            );
        }
        for (key, _) in values.components() {
            assert!(
                catalog.contains(&key),
                "values block {key} has no catalog entry in catalog/services.yaml"
            );
        }
    }
}
