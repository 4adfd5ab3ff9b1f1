//! The builders every store shares: pod template, StatefulSet, Services,
//! claims, probes and the network policy that fences a store in.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentSpec, StatefulSet, StatefulSetPersistentVolumeClaimRetentionPolicy,
    StatefulSetSpec,
};
use k8s_openapi::api::core::v1::{
    Container, ContainerPort, EnvVar, ExecAction, PersistentVolumeClaim, PersistentVolumeClaimSpec,
    PersistentVolumeClaimVolumeSource, PodSecurityContext, PodSpec, PodTemplateSpec, Probe,
    ResourceRequirements, SeccompProfile, Service, ServiceAccount, ServicePort, ServiceSpec,
    TCPSocketAction, Volume, VolumeResourceRequirements,
};
use k8s_openapi::api::networking::v1::{
    NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer,
    NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use wandb_values::{EnvValue, Store};

use crate::config::common_labels;
use crate::context::{Ctx, non_empty};
use crate::k8s::{empty_dir, placement, pod_metadata};
use crate::objects::{Labels, Manifest, Object};
use crate::workload::{container_security_context, merge_resources, user_env as user_env_var};

/// Everything about one store's pods that differs from the others.
pub(super) struct StoreSpec<'a> {
    pub(super) component: &'a str,
    /// Name of the workload and its Service.
    pub(super) name: String,
    /// Labels that select the store's pods.
    pub(super) selector: Labels,
    pub(super) values: &'a Store,
    /// Registry of the image when `global.imageRegistry` is empty.
    pub(super) default_registry: &'a str,
    pub(super) containers: Vec<Container>,
    pub(super) volumes: Vec<Volume>,
    /// Security context of the pods; containers get the restricted one.
    pub(super) pod_security: PodSecurityContext,
    pub(super) service_account: Option<String>,
    /// The pods read the Kubernetes API (and get a service account token).
    pub(super) api_access: bool,
}

pub(super) fn meta(ctx: &Ctx, name: &str, component: &str, extra: &Labels) -> ObjectMeta {
    let mut m = crate::config::meta(ctx, name, component);
    m.labels
        .get_or_insert_with(Default::default)
        .extend(extra.clone());
    m
}

pub(super) fn selector(ctx: &Ctx, name: &str, component: Option<&str>) -> Labels {
    let mut s = BTreeMap::from([
        ("app.kubernetes.io/name".to_string(), name.to_string()),
        (
            "app.kubernetes.io/instance".to_string(),
            ctx.release.name.clone(),
        ),
    ]);
    if let Some(c) = component {
        s.insert("app.kubernetes.io/component".into(), c.into());
    }
    s
}

pub(super) fn pod_security(user: i64, fs_group: i64) -> PodSecurityContext {
    PodSecurityContext {
        run_as_non_root: Some(true),
        run_as_user: Some(user),
        run_as_group: Some(0),
        fs_group: Some(fs_group),
        fs_group_change_policy: Some("OnRootMismatch".into()),
        seccomp_profile: Some(SeccompProfile {
            type_: "RuntimeDefault".into(),
            localhost_profile: None,
        }),
        ..Default::default()
    }
}

pub(super) fn port(name: &str, number: i32) -> ContainerPort {
    ContainerPort {
        name: Some(name.into()),
        container_port: number,
        protocol: Some("TCP".into()),
        ..Default::default()
    }
}

pub(super) fn service_port(name: &str, number: i32, target: &str) -> ServicePort {
    ServicePort {
        name: Some(name.into()),
        port: number,
        protocol: Some("TCP".into()),
        target_port: Some(IntOrString::String(target.into())),
        ..Default::default()
    }
}

pub(super) fn tcp_probe(port: i32, initial_delay: i32) -> Probe {
    Probe {
        tcp_socket: Some(TCPSocketAction {
            port: IntOrString::Int(port),
            host: None,
        }),
        initial_delay_seconds: (initial_delay > 0).then_some(initial_delay),
        period_seconds: Some(10),
        ..Default::default()
    }
}

pub(super) fn named_tcp_probe(port: &str, initial_delay: i32) -> Probe {
    Probe {
        tcp_socket: Some(TCPSocketAction {
            port: IntOrString::String(port.into()),
            host: None,
        }),
        ..tcp_probe(0, initial_delay)
    }
}

pub(super) fn exec_probe(command: &[&str], initial_delay: i32) -> Probe {
    Probe {
        exec: Some(ExecAction {
            command: Some(command.iter().map(|s| s.to_string()).collect()),
        }),
        initial_delay_seconds: Some(initial_delay),
        period_seconds: Some(5),
        timeout_seconds: Some(5),
        failure_threshold: Some(5),
        ..Default::default()
    }
}

pub(super) fn storage_class(ctx: &Ctx, store: &Store) -> Option<String> {
    non_empty(&store.persistence.storage_class)
        .or_else(|| non_empty(&ctx.values.global.storage_class))
}

pub(super) fn claim_spec(
    ctx: &Ctx,
    store: &Store,
    default_size: &str,
) -> PersistentVolumeClaimSpec {
    let size = if store.persistence.size.is_empty() {
        default_size.to_string()
    } else {
        store.persistence.size.to_string()
    };
    PersistentVolumeClaimSpec {
        access_modes: Some(vec!["ReadWriteOnce".into()]),
        resources: Some(VolumeResourceRequirements {
            requests: Some(BTreeMap::from([("storage".to_string(), Quantity(size))])),
            limits: None,
        }),
        storage_class_name: storage_class(ctx, store),
        ..Default::default()
    }
}

pub(super) fn claim_template(
    ctx: &Ctx,
    name: &str,
    store: &Store,
    default_size: &str,
    labels: &Labels,
) -> PersistentVolumeClaim {
    PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some(labels.clone()),
            ..Default::default()
        },
        spec: Some(claim_spec(ctx, store, default_size)),
        status: None,
    }
}

pub(super) fn image(ctx: &Ctx, store: &Store, default_registry: &str) -> String {
    let registry = non_empty(&store.image.registry);
    ctx.store_image(
        &store.image.base,
        registry.as_deref().unwrap_or(default_registry),
    )
}

/// The image of a store of upstream's own charts (MySQL, the otel
/// collector), which take `global.repositoryPrefix` as the W&B images do.
pub(super) fn prefixed_image(ctx: &Ctx, store: &Store, default_registry: &str) -> String {
    if ctx.values.global.repository_prefix.is_empty() {
        image(ctx, store, default_registry)
    } else {
        ctx.wandb_image(&store.image.base)
    }
}

/// `global.extraEnvFrom` (`NAME: {secretKeyRef: ...}`), which upstream gives
/// its own charts' containers (MySQL, the otel collector, the exporters),
/// not the W&B services'.
pub(super) fn global_env_from(ctx: &Ctx) -> Vec<EnvVar> {
    ctx.values
        .global
        .extra_env_from
        .iter()
        .map(|(name, source)| crate::env::from_source(name, source.clone()))
        .collect()
}

/// A store's own `extraEnv` over `global.extraEnv` (its own win), by name,
/// as upstream's own charts merge them.
pub(super) fn with_global_extra_env(
    ctx: &Ctx,
    own: &BTreeMap<String, EnvValue>,
) -> BTreeMap<String, EnvValue> {
    let mut env = ctx.values.global.extra_env.clone();
    env.extend(own.clone());
    env
}

pub(super) fn store_container(
    ctx: &Ctx,
    name: &str,
    spec: &StoreSpec,
    default_resources: ResourceRequirements,
) -> Container {
    Container {
        name: name.into(),
        image: Some(image(ctx, spec.values, spec.default_registry)),
        image_pull_policy: Some(
            non_empty(&spec.values.image.base.pull_policy).unwrap_or_else(|| "IfNotPresent".into()),
        ),
        resources: merge_resources(Some(&default_resources), spec.values.resources.as_ref()),
        security_context: Some(container_security_context()),
        ..Default::default()
    }
}

pub(super) fn resources(
    cpu: &str,
    memory: &str,
    cpu_limit: Option<&str>,
    memory_limit: &str,
) -> ResourceRequirements {
    let mut limits = BTreeMap::from([("memory".to_string(), Quantity(memory_limit.into()))]);
    if let Some(c) = cpu_limit {
        limits.insert("cpu".into(), Quantity(c.into()));
    }
    ResourceRequirements {
        requests: Some(BTreeMap::from([
            ("cpu".to_string(), Quantity(cpu.into())),
            ("memory".to_string(), Quantity(memory.into())),
        ])),
        limits: Some(limits),
        claims: None,
    }
}

/// The store's own environment: `extraEnv` (`NAME: value`) then
/// `extraEnvVars` (a list), after the variables the store needs.
fn user_env(store: &Store) -> Vec<EnvVar> {
    let mut env: Vec<EnvVar> = store
        .extra_env
        .iter()
        .map(|(name, value)| user_env_var(name, value))
        .collect();
    env.extend(store.extra_env_vars.iter().cloned());
    env
}

pub(super) fn pod_template(ctx: &Ctx, spec: &StoreSpec) -> PodTemplateSpec {
    let g = &ctx.values.global;
    let v = spec.values;
    let mut labels = common_labels(ctx, spec.component);
    labels.extend(spec.selector.clone());
    labels.extend(g.pod.labels.clone());
    labels.extend(v.pod.labels.clone());
    labels.extend(v.pod_labels.clone());
    let mut annotations = g.pod.annotations.clone();
    annotations.extend(v.pod.annotations.clone());
    annotations.extend(v.pod_annotations.clone());
    let (node_selector, tolerations) = placement(g, &v.node_selector, &v.tolerations);
    let mut containers = spec.containers.clone();
    if let Some(main) = containers.first_mut() {
        let extra = user_env(v);
        if !extra.is_empty() {
            main.env.get_or_insert_with(Vec::new).extend(extra);
        }
    }
    PodTemplateSpec {
        metadata: pod_metadata(labels, annotations),
        spec: Some(PodSpec {
            containers,
            volumes: (!spec.volumes.is_empty()).then(|| spec.volumes.clone()),
            security_context: Some(spec.pod_security.clone()),
            service_account_name: spec.service_account.clone(),
            // Only a store that reads the Kubernetes API gets a token.
            automount_service_account_token: Some(spec.api_access),
            node_selector: (!node_selector.is_empty()).then(|| node_selector.clone()),
            tolerations: (!tolerations.is_empty()).then(|| tolerations.clone()),
            affinity: v.affinity.clone(),
            priority_class_name: non_empty(&v.priority_class_name)
                .or_else(|| non_empty(&g.priority_class_name)),
            // As upstream's subcharts take `global.imagePullSecrets`: a
            // mirror that needs credentials serves the stores too.
            image_pull_secrets: {
                let secrets = crate::workload::pull_secrets(&[], &g.image_pull_secrets);
                (!secrets.is_empty()).then_some(secrets)
            },
            ..Default::default()
        }),
    }
}

/// The claim templates; or, for a store given `persistence.existingClaim`,
/// volumes of that claim under the templates' names; or, with
/// `persistence.enabled: false`, empty directories (the data dies with the pod).
fn claims_or_volumes(
    store: &Store,
    claims: Vec<PersistentVolumeClaim>,
) -> (Vec<PersistentVolumeClaim>, Vec<Volume>) {
    let p = &store.persistence;
    let existing = non_empty(&p.existing_claim);
    if existing.is_none() && p.enabled != Some(false) {
        return (claims, vec![]);
    }
    let volumes = claims
        .iter()
        .map(|c| {
            let name = c.metadata.name.clone().unwrap_or_default();
            match &existing {
                Some(claim) => Volume {
                    name,
                    persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                        claim_name: claim.clone(),
                        read_only: None,
                    }),
                    ..Default::default()
                },
                None => empty_dir(&name),
            }
        })
        .collect();
    (vec![], volumes)
}

fn retention(store: &Store) -> Option<StatefulSetPersistentVolumeClaimRetentionPolicy> {
    let r = &store.persistent_volume_claim_retention_policy;
    (r.enabled == Some(true)).then(|| StatefulSetPersistentVolumeClaimRetentionPolicy {
        when_deleted: non_empty(&r.when_deleted),
        when_scaled: non_empty(&r.when_scaled),
    })
}

/// A Deployment of `replicas` pods of `spec` (an exporter).
pub(super) fn deployment(ctx: &Ctx, spec: &StoreSpec, replicas: i32) -> Object {
    Object::Deployment(Deployment {
        metadata: meta(ctx, &spec.name, spec.component, &spec.selector),
        spec: Some(DeploymentSpec {
            replicas: Some(replicas),
            selector: LabelSelector {
                match_labels: Some(spec.selector.clone()),
                match_expressions: None,
            },
            template: pod_template(ctx, spec),
            ..Default::default()
        }),
        status: None,
    })
}

pub(super) fn stateful_set(
    ctx: &Ctx,
    spec: &StoreSpec,
    replicas: i32,
    service_name: &str,
    claims: Vec<PersistentVolumeClaim>,
) -> Object {
    let mut m = meta(ctx, &spec.name, spec.component, &spec.selector);
    let g = &ctx.values.global;
    m.labels
        .get_or_insert_with(Default::default)
        .extend(g.statefulset.labels.clone());
    if !g.statefulset.annotations.is_empty() {
        m.annotations
            .get_or_insert_with(Default::default)
            .extend(g.statefulset.annotations.clone());
    }
    let (claims, volumes) = claims_or_volumes(spec.values, claims);
    let mut template = pod_template(ctx, spec);
    if let Some(pod) = template.spec.as_mut().filter(|_| !volumes.is_empty()) {
        pod.volumes.get_or_insert_with(Vec::new).extend(volumes);
    }
    Object::StatefulSet(StatefulSet {
        metadata: m,
        spec: Some(StatefulSetSpec {
            replicas: Some(spec.values.replica_count.unwrap_or(replicas)),
            selector: LabelSelector {
                match_labels: Some(spec.selector.clone()),
                match_expressions: None,
            },
            service_name: Some(service_name.into()),
            template,
            persistent_volume_claim_retention_policy: (!claims.is_empty())
                .then(|| retention(spec.values))
                .flatten(),
            volume_claim_templates: (!claims.is_empty()).then_some(claims),
            pod_management_policy: Some("Parallel".into()),
            ..Default::default()
        }),
        status: None,
    })
}

pub(super) fn service(
    ctx: &Ctx,
    component: &str,
    name: &str,
    selector: &Labels,
    ports: Vec<ServicePort>,
    headless: bool,
) -> Object {
    Object::Service(Service {
        metadata: meta(ctx, name, component, &BTreeMap::new()),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".into()),
            cluster_ip: headless.then(|| "None".into()),
            publish_not_ready_addresses: headless.then_some(true),
            ports: Some(ports),
            selector: Some(selector.clone()),
            ..Default::default()
        }),
        status: None,
    })
}

pub(super) fn service_account(ctx: &Ctx, component: &str, name: &str) -> Object {
    Object::ServiceAccount(ServiceAccount {
        metadata: meta(ctx, name, component, &BTreeMap::new()),
        automount_service_account_token: Some(false),
        ..Default::default()
    })
}

pub(super) fn pdb(ctx: &Ctx, component: &str, name: &str, selector: &Labels) -> Object {
    Object::PodDisruptionBudget(PodDisruptionBudget {
        metadata: meta(ctx, name, component, &BTreeMap::new()),
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(1)),
            selector: Some(LabelSelector {
                match_labels: Some(selector.clone()),
                match_expressions: None,
            }),
            ..Default::default()
        }),
        status: None,
    })
}

/// Lets only the install's own pods reach a store's ports.
pub(super) fn network_policy(
    ctx: &Ctx,
    component: &str,
    name: &str,
    selector: &Labels,
    ports: &[i32],
) -> Option<Manifest> {
    if !ctx.values.network_policy.enabled {
        return None;
    }
    let from = NetworkPolicyPeer {
        pod_selector: Some(LabelSelector {
            match_labels: Some(BTreeMap::from([(
                "app.kubernetes.io/instance".to_string(),
                ctx.release.name.clone(),
            )])),
            match_expressions: None,
        }),
        ..Default::default()
    };
    Some(Manifest::new(
        component,
        Object::NetworkPolicy(NetworkPolicy {
            metadata: meta(ctx, name, component, &BTreeMap::new()),
            spec: Some(NetworkPolicySpec {
                pod_selector: Some(LabelSelector {
                    match_labels: Some(selector.clone()),
                    match_expressions: None,
                }),
                policy_types: Some(vec!["Ingress".into(), "Egress".into()]),
                ingress: Some(vec![NetworkPolicyIngressRule {
                    from: Some(vec![from]),
                    ports: Some(
                        ports
                            .iter()
                            .map(|p| NetworkPolicyPort {
                                port: Some(IntOrString::Int(*p)),
                                protocol: Some("TCP".into()),
                                end_port: None,
                            })
                            .collect(),
                    ),
                }]),
                egress: Some(vec![NetworkPolicyEgressRule::default()]),
            }),
        }),
    ))
}

pub(super) fn manifests(component: &str, objects: Vec<Object>) -> Vec<Manifest> {
    objects
        .into_iter()
        .map(|o| Manifest::new(component, o))
        .collect()
}

impl<'a> StoreSpec<'a> {
    /// The same store with no pods of its own, to build a helper pod from.
    pub(super) fn clone_shallow(&self) -> StoreSpec<'a> {
        StoreSpec {
            component: self.component,
            name: self.name.clone(),
            selector: self.selector.clone(),
            values: self.values,
            default_registry: self.default_registry,
            containers: vec![],
            volumes: vec![],
            pod_security: self.pod_security.clone(),
            service_account: self.service_account.clone(),
            api_access: self.api_access,
        }
    }
}
