//! The one building block: a catalog entry plus the user's values for it
//! become a Deployment (or Jobs, CronJobs), its Service, ServiceAccount,
//! Role, autoscaler and PodDisruptionBudget — what the upstream `wandb-base`
//! chart does for every W&B service.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment,
};
use k8s_openapi::api::autoscaling::v2::{
    CrossVersionObjectReference, HorizontalPodAutoscaler, HorizontalPodAutoscalerSpec, MetricSpec,
    MetricTarget, ResourceMetricSource,
};
use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec, Job, JobSpec, JobTemplateSpec};
use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMapEnvSource, ConfigMapVolumeSource, Container, ContainerPort,
    EmptyDirVolumeSource, EnvFromSource, EnvVar, KeyToPath, LocalObjectReference,
    PodSecurityContext, PodSpec, PodTemplateSpec, ResourceRequirements, SeccompProfile,
    SecretEnvSource, SecretVolumeSource, SecurityContext, Service, ServiceAccount, ServicePort,
    ServiceSpec, TopologySpreadConstraint, Volume, VolumeMount,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::api::rbac::v1::{
    ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    LabelSelector, LabelSelectorRequirement, ObjectMeta,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use wandb_values::tpls::{self, Entry};
use wandb_values::{
    Component, ContainerOverride, CronJobValues, EnvValue, Flag, Image, JobContainer, JobValues,
    Sizing,
};

use crate::catalog::{
    self, Condition, ContainerSpec, EnvFromSpec, EnvGroup, EnvSpec, Kind, PodAnnotationGroup,
    PodLabelGroup, PortGroup, Service as Spec, Switch, VolumeGroup,
};
use crate::context::{Ctx, truncate_name};
use crate::env;
use crate::k8s::{config_map_volume, empty_dir, mount};
use crate::objects::{CustomObject, Labels, Manifest, Object, Phase};

/// Label values are at most 63 characters.
fn label_value(v: &str) -> String {
    v.chars().take(63).collect()
}

/// `{release}-{name}`, or the release name alone when it already contains
/// the service's name (as the upstream chart names things).
pub fn fullname(ctx: &Ctx, name: &str) -> String {
    if ctx.release.name.contains(name) {
        truncate_name(&ctx.release.name)
    } else {
        truncate_name(&ctx.name(name))
    }
}

/// The object name of a values key: `flat-run-fields-updater`, `app-rename-pre-hook`.
pub fn kebab(key: &str) -> String {
    let mut out = String::new();
    for c in key.chars() {
        if c.is_ascii_uppercase() {
            if !out.is_empty() {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether a catalog service runs, given the values.
pub fn is_on(ctx: &Ctx, spec: &Spec, component: &Component) -> bool {
    let g = &ctx.values.global;
    match spec.switch {
        Switch::Install => component.install.unwrap_or(false),
        Switch::GlobalApi => g.api.enabled,
        Switch::GlobalGlue => g.glue.enabled,
        Switch::LocalServiceBypass => g.local_service.bypass && component.install != Some(false),
    }
}

fn condition_holds(ctx: &Ctx, condition: Option<Condition>) -> bool {
    match condition {
        None => true,
        Some(Condition::ApiDisabled) => !ctx.values.global.api.enabled,
        Some(Condition::OlapAnyFeature) => env::olap_any_feature_enabled(ctx),
    }
}

/// Everything one service needs to be built.
struct Build<'c, 'a> {
    ctx: &'c Ctx<'a>,
    key: &'c str,
    spec: &'c Spec,
    values: &'c Component,
    /// `{release}-{name}`.
    fullname: String,
    /// `app.kubernetes.io/name`.
    name_label: String,
    sizing: Sizing,
}

/// Builds every object of a catalog service. Nothing when it is off.
pub fn build(ctx: &Ctx, key: &str, spec: &Spec, values: &Component) -> Vec<Manifest> {
    if !is_on(ctx, spec, values) {
        return vec![];
    }
    let name = kebab(key);
    let b = Build {
        ctx,
        key,
        spec,
        values,
        fullname: fullname(ctx, &name),
        // Upstream names its hooks' pods after their values key (`appRenamePreHook`).
        name_label: key.to_string(),
        sizing: sizing(ctx, key, values),
    };
    let phase = match b.hook().as_deref() {
        Some(h) if h.contains("pre-") => Phase::PreInstall,
        Some(h) if h.contains("post-") => Phase::PostInstall,
        _ => Phase::Main,
    };
    let mut out = Vec::new();
    if b.creates_service_account() {
        out.push(b.service_account());
    }
    if let Some(role) = b.role_spec() {
        out.extend(b.role(&role));
    }
    match spec.kind {
        Kind::Deployment | Kind::StatefulSet => {
            out.push(b.deployment());
            out.extend(b.autoscaler());
            out.extend(b.cron_jobs());
        }
        Kind::Job => out.extend(b.jobs()),
        Kind::CronJob => out.extend(b.cron_jobs()),
    }
    let mut out: Vec<Manifest> = out
        .into_iter()
        .map(|o| Manifest::new(key, o).in_phase(phase))
        .collect();
    // Upstream renders these for any kind of workload and never as hooks.
    let mut plain = b.services();
    if values
        .pod_disruption_budget
        .enabled
        .unwrap_or(spec.pod_disruption_budget)
    {
        plain.push(b.pdb());
    }
    out.extend(plain.into_iter().map(|o| Manifest::new(key, o)));
    out
}

/// The size a service runs at.
pub fn size_of(ctx: &Ctx, values: &Component) -> String {
    if values.size.is_empty() {
        ctx.values.global.size.clone()
    } else {
        values.size.clone()
    }
}

/// The sizing of a service: base and service presets for `default` and for
/// the size, with the user's `sizing` laid over each.
fn sizing(ctx: &Ctx, key: &str, values: &Component) -> Sizing {
    let size = size_of(ctx, values);
    let empty = BTreeMap::new();
    let base = catalog::CATALOG.sizing.get("base").unwrap_or(&empty);
    let service = catalog::CATALOG.sizing.get(key).unwrap_or(&empty);
    let mut out = Sizing::default();
    for level in ["default", size.as_str()] {
        for source in [base, service, &values.sizing] {
            if let Some(s) = source.get(level) {
                lay_sizing(&mut out, s);
            }
        }
    }
    out
}

/// Lays the set fields of `top` over `out`.
fn lay_sizing(out: &mut Sizing, top: &Sizing) {
    if top.replica_count.is_some() {
        out.replica_count = top.replica_count;
    }
    out.resources = merge_resources(out.resources.as_ref(), top.resources.as_ref());
    out.env.extend(top.env.clone());
    lay_horizontal(&mut out.autoscaling.horizontal, &top.autoscaling.horizontal);
    lay_keda(&mut out.autoscaling.keda, &top.autoscaling.keda);
}

/// `out.field = top.field` for every field `top` sets.
macro_rules! lay_options {
    ($out:expr, $top:expr, $($field:ident),*) => {
        $(if $top.$field.is_some() { $out.$field = $top.$field.clone(); })*
    };
}

fn lay_horizontal(out: &mut wandb_values::Horizontal, top: &wandb_values::Horizontal) {
    lay_options!(
        out,
        top,
        enabled,
        min_replicas,
        max_replicas,
        target_cpu_utilization_percentage,
        target_memory_utilization_percentage
    );
}

fn lay_keda(out: &mut wandb_values::Keda, top: &wandb_values::Keda) {
    lay_options!(
        out,
        top,
        enabled,
        min_replica_count,
        max_replica_count,
        idle_replica_count,
        polling_interval,
        cooldown_period,
        triggers
    );
    // Free-form KEDA settings merge deeply, as Helm merges values.
    for (mine, theirs) in [
        (&mut out.fallback, &top.fallback),
        (&mut out.advanced, &top.advanced),
    ] {
        if let Some(t) = theirs {
            match mine {
                Some(m) => wandb_values::tree::merge(m, t.clone()),
                None => *mine = Some(t.clone()),
            }
        }
    }
}

/// Lays `top` over `bottom`, per `limits`/`requests` key.
pub fn merge_resources(
    bottom: Option<&ResourceRequirements>,
    top: Option<&ResourceRequirements>,
) -> Option<ResourceRequirements> {
    match (bottom, top) {
        (None, None) => None,
        (Some(b), None) => Some(b.clone()),
        (None, Some(t)) => Some(t.clone()),
        (Some(b), Some(t)) => {
            let merge = |b: &Option<BTreeMap<String, Quantity>>,
                         t: &Option<BTreeMap<String, Quantity>>| {
                let mut out = b.clone().unwrap_or_default();
                out.extend(t.clone().unwrap_or_default());
                (!out.is_empty()).then_some(out)
            };
            Some(ResourceRequirements {
                limits: merge(&b.limits, &t.limits),
                requests: merge(&b.requests, &t.requests),
                claims: t.claims.clone().or_else(|| b.claims.clone()),
            })
        }
    }
}

fn empty_resources(r: &Option<ResourceRequirements>) -> Option<ResourceRequirements> {
    r.clone().filter(|r| {
        r.limits.as_ref().is_some_and(|l| !l.is_empty())
            || r.requests.as_ref().is_some_and(|l| !l.is_empty())
    })
}

/// The restricted-profile security context every W&B container gets.
pub fn container_security_context() -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(false),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".into()]),
            add: None,
        }),
        privileged: Some(false),
        read_only_root_filesystem: Some(false),
        run_as_non_root: Some(true),
        seccomp_profile: Some(SeccompProfile {
            type_: "RuntimeDefault".into(),
            localhost_profile: None,
        }),
        ..Default::default()
    }
}

/// The pod security context of W&B pods, with a catalog or user override.
fn pod_security_context(
    catalog: Option<&PodSecurityContext>,
    user: Option<&PodSecurityContext>,
) -> PodSecurityContext {
    let mut psc = PodSecurityContext {
        run_as_non_root: Some(true),
        run_as_user: Some(999),
        run_as_group: Some(0),
        fs_group: Some(0),
        fs_group_change_policy: Some("OnRootMismatch".into()),
        seccomp_profile: Some(SeccompProfile {
            type_: "RuntimeDefault".into(),
            localhost_profile: None,
        }),
        ..Default::default()
    };
    for over in [catalog, user].into_iter().flatten() {
        overlay_json(&mut psc, over);
    }
    psc
}

/// Lays the set fields of `over` onto `base` (both serializable the same way).
/// The user's `containers.<name>` block over a built container, as Helm
/// merges values: probes field by field, command and args whole.
fn override_container(c: &mut Container, over: &wandb_values::ContainerOverride) {
    for (probe, user) in [
        (&mut c.liveness_probe, &over.liveness_probe),
        (&mut c.readiness_probe, &over.readiness_probe),
        (&mut c.startup_probe, &over.startup_probe),
    ] {
        match (probe.as_mut(), user) {
            (Some(p), Some(user)) => overlay_json(p, user),
            (None, Some(user)) => *probe = Some(user.clone()),
            (_, None) => {}
        }
    }
    match (c.lifecycle.as_mut(), &over.lifecycle) {
        (Some(l), Some(user)) => overlay_json(l, user),
        (None, Some(user)) => c.lifecycle = Some(user.clone()),
        (_, None) => {}
    }
    if over.command.is_some() {
        c.command.clone_from(&over.command);
    }
    if over.args.is_some() {
        c.args.clone_from(&over.args);
    }
}

fn overlay_json<T: serde::Serialize + serde::de::DeserializeOwned>(base: &mut T, over: &T) {
    let mut b = serde_json::to_value(&*base).unwrap_or_default();
    wandb_values::tree::merge(
        &mut b,
        wandb_values::tree::strip_nulls(serde_json::to_value(over).unwrap_or_default()),
    );
    if let Ok(merged) = serde_json::from_value(b) {
        *base = merged;
    }
}

/// The user's overrides of one container: those any container takes and,
/// for a job's container, its image and envFrom.
#[derive(Clone, Copy)]
struct UserContainer<'v> {
    over: Option<&'v ContainerOverride>,
    job: Option<&'v JobContainer>,
}

/// Where the user's overrides of a pod's containers are.
#[derive(Clone, Copy)]
enum Overrides<'v> {
    /// A Deployment's: `<service>.containers` and `<service>.initContainers`.
    Service(&'v Component),
    /// `<service>.jobs.<job>.containers` and `.initContainers`.
    Job(&'v JobValues),
    /// `<service>.cronJobs.<job>.containers`.
    CronJob(&'v CronJobValues),
}

impl<'v> Overrides<'v> {
    fn container(self, name: &str) -> UserContainer<'v> {
        let job = match self {
            Overrides::Service(c) => {
                return UserContainer {
                    over: c.containers.get(name),
                    job: None,
                };
            }
            Overrides::Job(j) => j.containers.get(name),
            Overrides::CronJob(c) => c.containers.get(name),
        };
        UserContainer {
            over: job.map(|j| &j.base),
            job,
        }
    }

    fn init_container(self, name: &str) -> UserContainer<'v> {
        let over = match self {
            Overrides::Service(c) => c.init_containers.get(name),
            Overrides::Job(j) => j.init_containers.get(name),
            Overrides::CronJob(_) => None,
        };
        UserContainer { over, job: None }
    }
}

/// A pod's containers and init containers in the catalog, and where the
/// user's overrides of them are.
struct PodContainers<'a> {
    containers: &'a BTreeMap<String, ContainerSpec>,
    init_containers: &'a BTreeMap<String, ContainerSpec>,
    overrides: Overrides<'a>,
}

impl Build<'_, '_> {
    fn selector(&self) -> Labels {
        BTreeMap::from([
            ("app.kubernetes.io/name".into(), self.name_label.clone()),
            (
                "app.kubernetes.io/instance".into(),
                self.ctx.release.name.clone(),
            ),
        ])
    }

    fn labels(&self) -> Labels {
        let mut labels = self.selector();
        let image = &self.values.image;
        let version = if !image.digest.is_empty() {
            image
                .digest
                .trim_start_matches("sha256:")
                .chars()
                .take(12)
                .collect()
        } else {
            image.tag.clone()
        };
        if !version.is_empty() {
            labels.insert("app.kubernetes.io/version".into(), label_value(&version));
        }
        labels.insert(
            "app.kubernetes.io/managed-by".into(),
            crate::MANAGED_BY.into(),
        );
        labels.insert("app.kubernetes.io/part-of".into(), "wandb".into());
        for (k, v) in self
            .ctx
            .values
            .global
            .common
            .labels
            .iter()
            .chain(&self.values.common.labels)
        {
            labels.insert(k.clone(), label_value(v));
        }
        labels
    }

    fn common_annotations(&self) -> Labels {
        let mut a = self.ctx.values.global.common.annotations.clone();
        a.extend(self.values.common.annotations.clone());
        a
    }

    fn meta(&self, name: &str) -> ObjectMeta {
        let annotations = self.common_annotations();
        ObjectMeta {
            name: Some(name.to_string()),
            namespace: Some(self.ctx.release.namespace.clone()),
            labels: Some(self.labels()),
            annotations: (!annotations.is_empty()).then_some(annotations),
            ..Default::default()
        }
    }

    /// The Helm hook the service's jobs run as: the catalog's, unless the
    /// user's `helmHook` turns it off or names another.
    fn hook(&self) -> Option<String> {
        let user = &self.values.helm_hook;
        if !user.enabled.unwrap_or(self.spec.hook.is_some()) {
            return None;
        }
        user.hook
            .clone()
            .filter(|h| !h.is_empty())
            .or_else(|| self.spec.hook.clone())
    }

    fn hook_annotations(&self, meta: &mut ObjectMeta) {
        if let Some(hook) = self.hook() {
            let user = &self.values.helm_hook;
            let a = meta.annotations.get_or_insert_with(Default::default);
            a.insert("helm.sh/hook".into(), hook);
            // Upstream leaves a weight or policy set to "" out.
            let weight = user.hook_weight.as_ref().map_or("0", |w| w.as_str());
            if !weight.is_empty() {
                a.insert("helm.sh/hook-weight".into(), weight.into());
            }
            let policy = user
                .hook_delete_policy
                .as_deref()
                .unwrap_or("before-hook-creation,hook-succeeded");
            if !policy.is_empty() {
                a.insert("helm.sh/hook-delete-policy".into(), policy.into());
            }
        }
    }

    /// Whether the pods mount the install-wide volumes (CA certificates):
    /// the catalog's choice unless `globalOptOut.volumes` says otherwise.
    fn global_volumes(&self) -> bool {
        match self.values.global_opt_out.volumes {
            Some(opt_out) => !opt_out,
            None => self.spec.global_volumes,
        }
    }

    fn service_account_name(&self) -> String {
        let sa = &self.spec.service_account;
        if let Some(name) = self
            .values
            .service_account
            .name
            .clone()
            .filter(|n| !n.is_empty())
        {
            return name;
        }
        if !self.creates_service_account() {
            return "default".into();
        }
        sa.name.clone().unwrap_or_else(|| self.fullname.clone())
    }

    fn creates_service_account(&self) -> bool {
        self.values
            .service_account
            .create
            .unwrap_or(self.spec.service_account.create)
    }

    /// The Role the values ask for: the catalog's unless `role.*` says
    /// otherwise. `None` when none is created.
    fn role_spec(&self) -> Option<catalog::RoleSpec> {
        let user = &self.values.role;
        let catalog = self.spec.role.as_ref();
        if !user.create.unwrap_or(catalog.is_some()) {
            return None;
        }
        Some(catalog::RoleSpec {
            cluster: match user.kind.as_deref() {
                Some(kind) => kind == "ClusterRole",
                None => catalog.is_some_and(|r| r.cluster),
            },
            rules: user
                .rules
                .clone()
                .or_else(|| catalog.map(|r| r.rules.clone()))
                .unwrap_or_default(),
        })
    }

    fn service_account(&self) -> Object {
        let mut meta = self.meta(&self.service_account_name());
        if !self.values.service_account.annotations.is_empty() {
            meta.annotations
                .get_or_insert_with(Default::default)
                .extend(self.values.service_account.annotations.clone());
        }
        self.hook_annotations(&mut meta);
        Object::ServiceAccount(ServiceAccount {
            metadata: meta,
            automount_service_account_token: Some(
                self.values.service_account.automount.unwrap_or(true),
            ),
            ..Default::default()
        })
    }

    fn role(&self, role: &catalog::RoleSpec) -> Vec<Object> {
        let mut meta = self.meta(&self.fullname);
        self.hook_annotations(&mut meta);
        let subject = Subject {
            kind: "ServiceAccount".into(),
            name: self.service_account_name(),
            namespace: Some(self.ctx.release.namespace.clone()),
            api_group: None,
        };
        let (cluster_rules, namespaced_rules) = split_rules(&role.rules, role.cluster);
        let mut out = Vec::new();
        if role.cluster {
            // Cluster-scoped reads stay in a ClusterRole; everything that
            // touches namespaced objects (Secrets above all) is confined to
            // the install's namespace by a Role of the same name.
            let mut cluster_meta = meta.clone();
            cluster_meta.namespace = None;
            out.push(Object::ClusterRole(ClusterRole {
                metadata: cluster_meta.clone(),
                rules: Some(cluster_rules),
                aggregation_rule: None,
            }));
            out.push(Object::ClusterRoleBinding(ClusterRoleBinding {
                metadata: cluster_meta,
                role_ref: RoleRef {
                    api_group: "rbac.authorization.k8s.io".into(),
                    kind: "ClusterRole".into(),
                    name: self.fullname.clone(),
                },
                subjects: Some(vec![subject.clone()]),
            }));
        }
        if !namespaced_rules.is_empty() {
            out.push(Object::Role(Role {
                metadata: meta.clone(),
                rules: Some(namespaced_rules),
            }));
            out.push(Object::RoleBinding(RoleBinding {
                metadata: meta,
                role_ref: RoleRef {
                    api_group: "rbac.authorization.k8s.io".into(),
                    kind: "Role".into(),
                    name: self.fullname.clone(),
                },
                subjects: Some(vec![subject]),
            }));
        }
        out
    }

    /// Env vars of a container, in order: the catalog's groups, then the
    /// env map sorted by name (a name in the map drops the group's var).
    fn env(&self, container: &ContainerSpec, main: bool, user: UserContainer) -> Vec<EnvVar> {
        let g = &self.ctx.values.global;
        let mut map: BTreeMap<String, EnvVar> = BTreeMap::new();
        let put = |name: &str, var: EnvVar, map: &mut BTreeMap<String, EnvVar>| {
            map.entry(name.to_string()).or_insert(var);
        };
        // Highest precedence first; `put` keeps the first it sees.
        let own = user.over.map(|o| &o.env).into_iter().flatten();
        for (name, value) in own.chain(&self.values.env) {
            put(name, user_env(name, value), &mut map);
        }
        for (name, value) in container.env.iter().chain(&self.spec.env) {
            put(name, self.catalog_env(name, value), &mut map);
        }
        for (name, value) in self
            .values
            .extra_env
            .iter()
            .chain(&g.env)
            .chain(&g.extra_env)
        {
            put(name, user_env(name, value), &mut map);
        }
        // `global.extraEnvFrom` is not here: upstream gives it to its own
        // charts' containers only (stores/common.rs).
        for (name, source) in &self.values.extra_env_from {
            put(name, env::from_source(name, source.clone()), &mut map);
        }
        if main {
            for (name, value) in &self.sizing.env {
                put(name, user_env(name, value), &mut map);
            }
        }
        let mut out: Vec<EnvVar> = Vec::new();
        // The service's `envTpls`, when given, choose its groups.
        let groups: Vec<EnvGroup> = match &self.values.env_tpls {
            Some(tpls) => tpls.iter().map(|t| env::group_of(t.0)).collect(),
            None => self.spec.env_groups.clone(),
        };
        for group in groups {
            for var in env::group(self.ctx, group, self.values) {
                if !map.contains_key(&var.name) && !out.iter().any(|v| v.name == var.name) {
                    out.push(var);
                }
            }
        }
        out.extend(map.into_values());
        out
    }

    fn catalog_env(&self, name: &str, value: &EnvSpec) -> EnvVar {
        match value {
            EnvSpec::Literal(v) => env::literal(name, self.ctx.expand(v)),
            EnvSpec::ValueFrom { value_from } => env::from_source(name, (**value_from).clone()),
            EnvSpec::From { source } => {
                env::literal(name, env::source(self.ctx, *source, self.key))
            }
        }
    }

    fn env_from(&self, container: &ContainerSpec, user: UserContainer) -> Vec<EnvFromSource> {
        // By full name, as upstream orders them: later sources win, the
        // container's own over the component's.
        let mut by_name: BTreeMap<String, bool> = BTreeMap::new();
        for spec in self.spec.env_from.iter().chain(&container.env_from) {
            match spec {
                EnvFromSpec::ConfigMap(n) => by_name.insert(self.ctx.name(n), false),
                EnvFromSpec::Secret(n) => by_name.insert(self.ctx.name(n), true),
            };
        }
        let own = user.over.map(|c| &c.env_from).into_iter().flatten();
        for (name, kind) in self.values.env_from.iter().chain(own) {
            by_name.insert(self.ctx.expand(name), kind == "secretRef");
        }
        by_name
            .into_iter()
            .map(|(name, secret)| {
                if secret {
                    EnvFromSource {
                        secret_ref: Some(SecretEnvSource {
                            name,
                            optional: None,
                        }),
                        ..Default::default()
                    }
                } else {
                    EnvFromSource {
                        config_map_ref: Some(ConfigMapEnvSource {
                            name,
                            optional: None,
                        }),
                        ..Default::default()
                    }
                }
            })
            .collect()
    }

    /// The container's image: the catalog's or the service's, with the
    /// fields a job's container sets laid over it.
    fn image(&self, container: &ContainerSpec, user: UserContainer) -> Image {
        let mut image = container
            .image
            .clone()
            .unwrap_or_else(|| self.values.image.clone());
        if let Some(top) = user.job.map(|j| &j.image) {
            for (field, value) in [
                (&mut image.repository, &top.repository),
                (&mut image.tag, &top.tag),
                (&mut image.digest, &top.digest),
                (&mut image.pull_policy, &top.pull_policy),
            ] {
                if !value.is_empty() {
                    field.clone_from(value);
                }
            }
        }
        image
    }

    /// Resources of a main container: the user's per-container and
    /// per-service settings over the catalog's over the size preset.
    fn resources(
        &self,
        container: &ContainerSpec,
        main: bool,
        user: UserContainer,
    ) -> Option<ResourceRequirements> {
        if !main {
            return empty_resources(&container.resources);
        }
        let mut r = merge_resources(self.sizing.resources.as_ref(), container.resources.as_ref());
        r = merge_resources(r.as_ref(), self.values.resources.as_ref());
        if let Some(over) = user.over {
            r = merge_resources(r.as_ref(), over.resources.as_ref());
        }
        empty_resources(&r)
    }

    /// The catalog's ports, then its port groups or, in their place, the
    /// user's `portsTpls`.
    fn ports(&self, spec: &ContainerSpec, user: UserContainer) -> Vec<ContainerPort> {
        let mut ports: Vec<ContainerPort> = spec.ports.clone();
        let tpls = user.over.and_then(|c| c.ports_tpls.as_ref());
        let Some(tpls) = tpls else {
            for group in &spec.port_groups {
                match group {
                    PortGroup::Lumen => ports.push(lumen_port()),
                }
            }
            return ports;
        };
        for text in tpls {
            // A bad entry was refused with the values.
            match tpls::ports_entry(&self.ctx.expand(text)) {
                Ok(Entry::Helper(tpls::LUMEN_PORT)) => ports.push(lumen_port()),
                Ok(Entry::Value(more)) => ports.extend(more),
                Ok(Entry::Helper(_)) | Err(_) => {}
            }
        }
        ports
    }

    fn container(
        &self,
        name: &str,
        spec: &ContainerSpec,
        main: bool,
        user: UserContainer,
    ) -> Container {
        let ports = self.ports(spec, user);
        let env = self.env(spec, main, user);
        let env_from = self.env_from(spec, user);
        let mut security = container_security_context();
        for over in [
            spec.security_context.as_ref(),
            self.values.security_context.as_ref(),
        ]
        .into_iter()
        .flatten()
        {
            overlay_json(&mut security, over);
        }
        let image = self.image(spec, user);
        let pull_policy = non_empty_or(&image.pull_policy, &self.values.image.pull_policy);
        let mut container = Container {
            name: name.to_string(),
            image: Some(self.ctx.wandb_image(&image)),
            image_pull_policy: Some(non_empty_or(&pull_policy, "IfNotPresent")),
            command: spec.command.clone(),
            args: spec.args.clone(),
            env: (!env.is_empty()).then_some(env),
            env_from: (!env_from.is_empty()).then_some(env_from),
            ports: (!ports.is_empty()).then_some(ports),
            liveness_probe: spec.liveness_probe.clone(),
            readiness_probe: spec.readiness_probe.clone(),
            startup_probe: spec.startup_probe.clone(),
            lifecycle: spec.lifecycle.clone(),
            resources: self.resources(spec, main, user),
            security_context: Some(security),
            volume_mounts: Some(self.volume_mounts(spec)).filter(|m| !m.is_empty()),
            ..Default::default()
        };
        if let Some(over) = user.over {
            override_container(&mut container, over);
        }
        container
    }

    fn volume_mounts(&self, spec: &ContainerSpec) -> Vec<VolumeMount> {
        let mut mounts = Vec::new();
        for group in &spec.volume_mount_groups {
            mounts.extend(group_mounts(self.ctx, *group));
        }
        if self.global_volumes() {
            mounts.extend(ca_cert_mounts(self.ctx));
        }
        for m in &spec.volume_mounts {
            if !mounts
                .iter()
                .any(|x| x.name == m.name && x.mount_path == m.mount_path)
            {
                mounts.push(m.clone());
            }
        }
        mounts
    }

    fn volumes(&self, local: &[Volume], groups: &[VolumeGroup]) -> Vec<Volume> {
        let mut volumes = Vec::new();
        for group in groups {
            volumes.extend(group_volumes(self.ctx, *group));
        }
        if self.global_volumes() {
            volumes.extend(ca_cert_volumes(self.ctx));
        }
        for v in local {
            let mut v = v.clone();
            if let Some(cm) = v.config_map.as_mut() {
                cm.name = self.ctx.expand(&cm.name);
            }
            if let Some(s) = v.secret.as_mut() {
                s.secret_name = s.secret_name.as_ref().map(|n| self.ctx.expand(n));
            }
            volumes.push(v);
        }
        volumes
    }

    fn pod(
        &self,
        pod: PodContainers,
        volumes: &[Volume],
        volume_groups: &[VolumeGroup],
        restart_policy: Option<String>,
        grace: Option<i64>,
    ) -> PodTemplateSpec {
        let g = &self.ctx.values.global;
        let v = self.values;
        // The user's `enabled` beats the catalog's condition, as upstream's
        // `enabled` value beats its default.
        let build = |set: &BTreeMap<String, ContainerSpec>, main: bool| -> Vec<Container> {
            set.iter()
                .filter_map(|(name, c)| {
                    let user = if main {
                        pod.overrides.container(name)
                    } else {
                        pod.overrides.init_container(name)
                    };
                    let on = user.over.and_then(|o| o.enabled.as_ref());
                    on.map_or_else(|| condition_holds(self.ctx, c.when), Flag::is_on)
                        .then(|| self.container(name, c, main, user))
                })
                .collect()
        };
        let mut labels = self.labels();
        for group in &self.spec.pod_label_groups {
            labels.extend(pod_label_group(self.ctx, *group, v));
        }
        // The catalog's labels are defaults: the user's win, as Helm merges.
        for (k, val) in self
            .spec
            .pod_labels
            .iter()
            .chain(&g.pod.labels)
            .chain(&v.pod.labels)
            .chain(&v.pod_labels)
        {
            labels.insert(k.clone(), label_value(val));
        }
        let mut annotations = self.pod_annotations_tpls();
        annotations.extend(v.pod_annotations.clone());
        annotations.extend(g.pod.annotations.clone());
        annotations.extend(v.pod.annotations.clone());
        annotations.extend(self.common_annotations());
        let init = build(pod.init_containers, false);
        let volumes = self.volumes(volumes, volume_groups);
        let node_selector = if !v.node_selector.is_empty() {
            &v.node_selector
        } else {
            &g.node_selector
        };
        let tolerations = if !v.tolerations.is_empty() {
            &v.tolerations
        } else {
            &g.tolerations
        };
        let priority = non_empty_or(&v.priority_class_name, &g.priority_class_name);
        let pull_secrets = pull_secrets(&v.image_pull_secrets, &g.image_pull_secrets);
        PodTemplateSpec {
            metadata: Some(ObjectMeta {
                labels: Some(labels),
                annotations: (!annotations.is_empty()).then_some(annotations),
                ..Default::default()
            }),
            spec: Some(PodSpec {
                containers: build(pod.containers, true),
                init_containers: (!init.is_empty()).then_some(init),
                service_account_name: Some(self.service_account_name()),
                security_context: Some(pod_security_context(
                    self.spec.pod_security_context.as_ref(),
                    v.pod_security_context.as_ref(),
                )),
                termination_grace_period_seconds: v.termination_grace_period_seconds.or(grace),
                topology_spread_constraints: Some(
                    ["topology.kubernetes.io/zone", "kubernetes.io/hostname"]
                        .into_iter()
                        .map(|key| TopologySpreadConstraint {
                            label_selector: Some(LabelSelector {
                                match_labels: Some(self.selector()),
                                match_expressions: None,
                            }),
                            max_skew: 1,
                            topology_key: key.into(),
                            when_unsatisfiable: "ScheduleAnyway".into(),
                            ..Default::default()
                        })
                        .collect(),
                ),
                volumes: (!volumes.is_empty()).then_some(volumes),
                node_selector: (!node_selector.is_empty()).then(|| node_selector.clone()),
                tolerations: (!tolerations.is_empty()).then(|| tolerations.clone()),
                affinity: v.affinity.clone(),
                priority_class_name: (!priority.is_empty()).then_some(priority),
                image_pull_secrets: (!pull_secrets.is_empty()).then_some(pull_secrets),
                restart_policy,
                ..Default::default()
            }),
        }
    }

    /// The catalog's annotation groups or, in their place, the user's
    /// `podAnnotationsTpls`.
    fn pod_annotations_tpls(&self) -> Labels {
        let mut out = Labels::new();
        let Some(tpls) = &self.values.pod_annotations_tpls else {
            for group in &self.spec.pod_annotation_groups {
                out.extend(pod_annotation_group(self.ctx, *group));
            }
            return out;
        };
        for text in tpls {
            // A bad entry was refused with the values.
            match tpls::annotations_entry(&self.ctx.expand(text)) {
                Ok(Entry::Helper(helper)) => {
                    let group = match helper {
                        tpls::LUMEN_ANNOTATIONS => PodAnnotationGroup::Lumen,
                        tpls::GCS_FUSE_ANNOTATIONS => PodAnnotationGroup::GcsFuse,
                        tpls::MCP_DATADOG_ANNOTATIONS => PodAnnotationGroup::McpDatadog,
                        _ => continue,
                    };
                    out.extend(pod_annotation_group(self.ctx, group));
                }
                Ok(Entry::Value(more)) => out.extend(more),
                Err(_) => {}
            }
        }
        out
    }

    fn autoscaled(&self) -> (wandb_values::Horizontal, wandb_values::Keda) {
        let mut h = self.sizing.autoscaling.horizontal.clone();
        lay_horizontal(&mut h, &self.values.autoscaling.horizontal);
        let mut k = self.sizing.autoscaling.keda.clone();
        lay_keda(&mut k, &self.values.autoscaling.keda);
        (h, k)
    }

    /// The Deployment's name: the full name and the postfix, if any. The
    /// Service, selector and labels keep the full name alone.
    fn workload_name(&self) -> String {
        let postfix = self
            .values
            .deployment_postfix
            .as_deref()
            .or(self.spec.deployment_postfix.as_deref())
            .unwrap_or_default();
        if postfix.is_empty() {
            self.fullname.clone()
        } else {
            format!("{}-{postfix}", self.fullname)
        }
    }

    fn deployment(&self) -> Object {
        let (h, k) = self.autoscaled();
        let autoscaled = h.enabled == Some(true) || k.enabled == Some(true);
        // An autoscaler owns the replica count; setting it here would fight it.
        let replicas = if autoscaled {
            None
        } else {
            Some(
                self.values
                    .replica_count
                    .or(self.sizing.replica_count)
                    .unwrap_or(1),
            )
        };
        let mut meta = self.meta(&self.workload_name());
        let g = &self.ctx.values.global;
        let mut extra_labels = g.deployment.labels.clone();
        extra_labels.extend(self.values.deployment.labels.clone());
        meta.labels
            .get_or_insert_with(Default::default)
            .extend(extra_labels);
        let mut annotations = g.deployment.annotations.clone();
        annotations.extend(self.values.deployment.annotations.clone());
        if !annotations.is_empty() {
            meta.annotations
                .get_or_insert_with(Default::default)
                .extend(annotations);
        }
        let user = &self.values.strategy;
        let strategy = match user.kind.as_deref().or(self.spec.strategy.as_deref()) {
            Some("Recreate") => DeploymentStrategy {
                type_: Some("Recreate".into()),
                rolling_update: None,
            },
            _ => {
                let rolling = user.rolling_update.clone().unwrap_or_default();
                DeploymentStrategy {
                    type_: Some("RollingUpdate".into()),
                    rolling_update: Some(RollingUpdateDeployment {
                        max_surge: rolling.max_surge.or(Some(IntOrString::Int(1))),
                        max_unavailable: rolling.max_unavailable.or(Some(IntOrString::Int(0))),
                    }),
                }
            }
        };
        Object::Deployment(Deployment {
            metadata: meta,
            spec: Some(DeploymentSpec {
                replicas,
                strategy: Some(strategy),
                selector: LabelSelector {
                    match_labels: Some(self.selector()),
                    match_expressions: None,
                },
                template: self.pod(
                    PodContainers {
                        containers: &self.spec.containers,
                        init_containers: &self.spec.init_containers,
                        overrides: Overrides::Service(self.values),
                    },
                    &self.spec.volumes,
                    &self.spec.volume_groups,
                    None,
                    Some(60),
                ),
                ..Default::default()
            }),
            status: None,
        })
    }

    fn services(&self) -> Vec<Object> {
        let mut out = Vec::new();
        match (&self.spec.service, self.values.service.enabled) {
            (_, Some(false)) => {}
            (Some(s), _) => out.extend(self.service(
                &self.fullname,
                &s.ports,
                s.headless,
                s.kind.as_deref(),
                s.load_balancer_health_check_path.as_deref(),
            )),
            // A service with none of its own gets upstream's default port.
            (None, Some(true)) => out.extend(self.service(
                &self.fullname,
                &[ServicePort {
                    name: Some("http".into()),
                    port: 80,
                    protocol: Some("TCP".into()),
                    target_port: Some(IntOrString::String("http".into())),
                    ..Default::default()
                }],
                false,
                None,
                None,
            )),
            (None, None) => {}
        }
        for s in &self.spec.extra_services {
            out.extend(self.service(&self.ctx.name(&s.name), &s.ports, s.headless, None, None));
        }
        out
    }

    fn service(
        &self,
        name: &str,
        ports: &[ServicePort],
        headless: bool,
        kind: Option<&str>,
        health_path: Option<&str>,
    ) -> Vec<Object> {
        let g = &self.ctx.values.global;
        let mut meta = self.meta(name);
        meta.labels
            .get_or_insert_with(Default::default)
            .extend(self.values.service.labels.clone());
        let mut annotations = meta.annotations.take().unwrap_or_default();
        annotations.extend(g.service.annotations.clone());
        annotations.extend(self.values.service.annotations.clone());
        let mut out = Vec::new();
        if !headless {
            match g.cloud_provider.as_str() {
                "aws" => {
                    if let Some(path) = health_path {
                        annotations.insert(
                            "alb.ingress.kubernetes.io/healthcheck-path".into(),
                            path.into(),
                        );
                    }
                }
                "gcp" => {
                    let backend = format!("{name}-backend-config");
                    annotations
                        .insert("cloud.google.com/neg".into(), r#"{"ingress": true}"#.into());
                    annotations.insert(
                        "cloud.google.com/backend-config".into(),
                        format!(r#"{{"default": "{backend}"}}"#),
                    );
                    let mut spec = serde_json::json!({"timeoutSec": 120});
                    if !g.gcp_security_policy.is_empty() {
                        spec["securityPolicy"] = serde_json::json!({"name": g.gcp_security_policy});
                    }
                    let mut bmeta = self.meta(&backend);
                    bmeta.annotations = None;
                    out.push(Object::Custom(CustomObject {
                        api_version: "cloud.google.com/v1".into(),
                        kind: "BackendConfig".into(),
                        metadata: bmeta,
                        spec,
                    }));
                }
                _ => {}
            }
        }
        meta.annotations = (!annotations.is_empty()).then_some(annotations);
        out.push(Object::Service(Service {
            metadata: meta,
            spec: Some(ServiceSpec {
                type_: Some(
                    self.values
                        .service
                        .kind
                        .clone()
                        .or_else(|| kind.map(str::to_string))
                        .unwrap_or_else(|| "ClusterIP".into()),
                ),
                cluster_ip: headless.then(|| "None".into()),
                ports: Some(ports.iter().map(with_target_port).collect()),
                selector: Some(self.selector()),
                ..Default::default()
            }),
            status: None,
        }));
        out
    }

    fn autoscaler(&self) -> Option<Object> {
        let (h, k) = self.autoscaled();
        let target = CrossVersionObjectReference {
            api_version: Some("apps/v1".into()),
            kind: "Deployment".into(),
            name: self.workload_name(),
        };
        if k.enabled == Some(true) {
            let mut spec = serde_json::json!({"scaleTargetRef": target});
            let fields = [
                ("pollingInterval", k.polling_interval),
                ("cooldownPeriod", k.cooldown_period),
                ("idleReplicaCount", k.idle_replica_count),
                ("minReplicaCount", k.min_replica_count),
                ("maxReplicaCount", k.max_replica_count),
            ];
            for (field, value) in fields {
                if let Some(v) = value.filter(|v| *v != 0) {
                    spec[field] = v.into();
                }
            }
            for (field, value) in [("fallback", &k.fallback), ("advanced", &k.advanced)] {
                if let Some(v) = value {
                    spec[field] = v.clone();
                }
            }
            if let Some(t) = &k.triggers {
                spec["triggers"] = serde_json::Value::Array(t.clone());
            }
            let mut meta = self.meta(&self.fullname);
            meta.annotations = Some(self.common_annotations()).filter(|a| !a.is_empty());
            return Some(Object::Custom(CustomObject {
                api_version: "keda.sh/v1alpha1".into(),
                kind: "ScaledObject".into(),
                metadata: meta,
                spec,
            }));
        }
        if h.enabled != Some(true) {
            return None;
        }
        let metric = |name: &str, pct: Option<i32>| {
            pct.filter(|p| *p != 0).map(|p| MetricSpec {
                type_: "Resource".into(),
                resource: Some(ResourceMetricSource {
                    name: name.into(),
                    target: MetricTarget {
                        type_: "Utilization".into(),
                        average_utilization: Some(p),
                        ..Default::default()
                    },
                }),
                ..Default::default()
            })
        };
        let metrics: Vec<MetricSpec> = [
            metric("cpu", h.target_cpu_utilization_percentage),
            metric("memory", h.target_memory_utilization_percentage),
        ]
        .into_iter()
        .flatten()
        .collect();
        Some(Object::HorizontalPodAutoscaler(HorizontalPodAutoscaler {
            metadata: self.meta(&self.fullname),
            spec: Some(HorizontalPodAutoscalerSpec {
                scale_target_ref: target,
                min_replicas: h.min_replicas,
                max_replicas: h.max_replicas.unwrap_or(1),
                metrics: (!metrics.is_empty()).then_some(metrics),
                behavior: None,
            }),
            status: None,
        }))
    }

    fn pdb(&self) -> Object {
        let p = &self.values.pod_disruption_budget;
        let mut meta = self.meta(&self.fullname);
        if !p.annotations.is_empty() {
            meta.annotations
                .get_or_insert_with(Default::default)
                .extend(p.annotations.clone());
        }
        let min_available = p.min_available.clone();
        let max_unavailable = match (&p.max_unavailable, &min_available) {
            (Some(m), _) => Some(m.clone()),
            (None, None) => Some(IntOrString::Int(1)),
            (None, Some(_)) => None,
        };
        Object::PodDisruptionBudget(PodDisruptionBudget {
            metadata: meta,
            spec: Some(PodDisruptionBudgetSpec {
                selector: Some(LabelSelector {
                    match_labels: Some(self.selector()),
                    match_expressions: Some(vec![LabelSelectorRequirement {
                        key: "batch.kubernetes.io/job-name".into(),
                        operator: "DoesNotExist".into(),
                        values: None,
                    }]),
                }),
                max_unavailable,
                min_available,
                ..Default::default()
            }),
            status: None,
        })
    }

    fn jobs(&self) -> Vec<Object> {
        let mut out = Vec::new();
        let unset = JobValues::default();
        for (name, job) in &self.spec.jobs {
            let user = self.values.jobs.get(name).unwrap_or(&unset);
            // The user's `enabled` beats the catalog's condition.
            let enabled = user
                .enabled
                .as_ref()
                .map_or_else(|| condition_holds(self.ctx, job.when), Flag::is_on);
            if !enabled {
                continue;
            }
            let mut meta = self.meta(&self.ctx.name(name));
            self.hook_annotations(&mut meta);
            let restart = user.restart_policy.as_ref().or(job.restart_policy.as_ref());
            out.push(Object::Job(Job {
                metadata: meta,
                spec: Some(JobSpec {
                    backoff_limit: user.backoff_limit.or(job.backoff_limit),
                    // 0 is no deadline: upstream leaves it out (the API refuses 0).
                    active_deadline_seconds: match user.active_deadline_seconds {
                        Some(0) => None,
                        Some(s) => Some(s),
                        None => job.active_deadline_seconds,
                    },
                    ttl_seconds_after_finished: user
                        .ttl_seconds_after_finished
                        .or(job.ttl_seconds_after_finished),
                    template: self.pod(
                        PodContainers {
                            containers: &job.containers,
                            init_containers: &job.init_containers,
                            overrides: Overrides::Job(user),
                        },
                        &job.volumes,
                        &job.volume_groups,
                        Some(restart.map_or("Never", |r| r.as_str()).to_string()),
                        None,
                    ),
                    ..Default::default()
                }),
                status: None,
            }));
        }
        out
    }

    fn cron_jobs(&self) -> Vec<Object> {
        let mut out = Vec::new();
        let unset = CronJobValues::default();
        for (name, cron) in &self.spec.cron_jobs {
            let user = self.values.cron_jobs.get(name).unwrap_or(&unset);
            let enabled = user.enabled.as_ref().map_or(cron.enabled, Flag::is_on);
            let suspend = user.suspend.unwrap_or(false) || !enabled;
            let restart = user
                .restart_policy
                .as_ref()
                .or(cron.restart_policy.as_ref());
            out.push(Object::CronJob(CronJob {
                metadata: self.meta(&self.ctx.name(name)),
                spec: Some(CronJobSpec {
                    concurrency_policy: user
                        .concurrency_policy
                        .clone()
                        .or_else(|| cron.concurrency_policy.clone()),
                    schedule: user
                        .schedule
                        .clone()
                        .unwrap_or_else(|| cron.schedule.clone()),
                    suspend: Some(suspend),
                    successful_jobs_history_limit: user
                        .successful_jobs_history_limit
                        .or(cron.successful_jobs_history_limit),
                    failed_jobs_history_limit: user
                        .failed_jobs_history_limit
                        .or(cron.failed_jobs_history_limit),
                    starting_deadline_seconds: user
                        .starting_deadline_seconds
                        .or(cron.starting_deadline_seconds),
                    job_template: JobTemplateSpec {
                        metadata: None,
                        spec: Some(JobSpec {
                            backoff_limit: user.backoff_limit.or(cron.backoff_limit),
                            ttl_seconds_after_finished: user.ttl_seconds_after_finished,
                            template: self.pod(
                                PodContainers {
                                    containers: &cron.containers,
                                    init_containers: &BTreeMap::new(),
                                    overrides: Overrides::CronJob(user),
                                },
                                &cron.volumes,
                                &cron.volume_groups,
                                Some(restart.map_or("Never", |r| r.as_str()).to_string()),
                                None,
                            ),
                            ..Default::default()
                        }),
                    },
                    ..Default::default()
                }),
                status: None,
            }));
        }
        out
    }
}

/// Splits rules into cluster-scoped reads and the namespaced rest.
fn split_rules(rules: &[PolicyRule], cluster: bool) -> (Vec<PolicyRule>, Vec<PolicyRule>) {
    if !cluster {
        return (vec![], rules.to_vec());
    }
    const CLUSTER_SCOPED: &[&str] = &["namespaces", "nodes", "persistentvolumes"];
    let mut cluster_rules = Vec::new();
    let mut namespaced = Vec::new();
    for rule in rules {
        let resources = rule.resources.clone().unwrap_or_default();
        let (c, n): (Vec<String>, Vec<String>) = resources
            .into_iter()
            .partition(|r| CLUSTER_SCOPED.contains(&r.as_str()));
        if !c.is_empty() {
            cluster_rules.push(PolicyRule {
                resources: Some(c),
                ..rule.clone()
            });
        }
        if !n.is_empty() {
            namespaced.push(PolicyRule {
                resources: Some(n),
                ..rule.clone()
            });
        }
    }
    (cluster_rules, namespaced)
}

fn non_empty_or(a: &str, b: &str) -> String {
    if a.is_empty() {
        b.to_string()
    } else {
        a.to_string()
    }
}

/// Image pull secrets by name (a name or `{name: ...}`), the local ones first.
pub(crate) fn pull_secrets(
    local: &[serde_json::Value],
    global: &[serde_json::Value],
) -> Vec<LocalObjectReference> {
    let mut names: Vec<String> = Vec::new();
    for s in local.iter().chain(global) {
        let name = match s {
            serde_json::Value::String(n) => n.clone(),
            serde_json::Value::Object(m) => m
                .get("name")
                .and_then(|n| n.as_str())
                .unwrap_or_default()
                .to_string(),
            _ => String::new(),
        };
        if !name.is_empty() && !names.contains(&name) {
            names.push(name);
        }
    }
    names
        .into_iter()
        .map(|name| LocalObjectReference { name })
        .collect()
}

/// An env var from the user's values.
pub fn user_env(name: &str, value: &EnvValue) -> EnvVar {
    match value {
        EnvValue::From { value_from } => env::from_source(name, (**value_from).clone()),
        EnvValue::Wrapped { value } | EnvValue::Plain(value) => env::literal(name, value.as_str()),
    }
}

fn pod_label_group(ctx: &Ctx, group: PodLabelGroup, values: &Component) -> Labels {
    match group {
        PodLabelGroup::McpDatadog => {
            let mut out = Labels::from([
                (
                    "tags.datadoghq.com/service".to_string(),
                    mcp_dd_service(ctx),
                ),
                ("tags.datadoghq.com/env".to_string(), mcp_dd_env(ctx)),
            ]);
            if !values.image.tag.is_empty() {
                out.insert(
                    "tags.datadoghq.com/version".into(),
                    label_value(&values.image.tag),
                );
            }
            out
        }
    }
}

/// The mcp-server's Datadog service (upstream's helper `wandb.mcpDDService`).
pub fn mcp_dd_service(ctx: &Ctx) -> String {
    non_empty_or(
        &ctx.values.mcp_server.datadog.service,
        "wandb-mcp-server-onprem",
    )
}

/// The mcp-server's Datadog environment (`wandb.mcpDDEnv`).
pub fn mcp_dd_env(ctx: &Ctx) -> String {
    non_empty_or(&ctx.values.mcp_server.datadog.env, "production")
}

fn pod_annotation_group(ctx: &Ctx, group: PodAnnotationGroup) -> Labels {
    let mut out = Labels::new();
    match group {
        PodAnnotationGroup::Lumen => {
            out.insert("lumen.wandb.ai/agent".into(), "true".into());
        }
        PodAnnotationGroup::GcsFuse => {
            let p = &ctx.values.parquet;
            let b = ctx.bucket();
            if p.fuse.enabled && b.provider == "gcs" && ctx.values.global.cloud_provider == "gcp" {
                out.insert("gke-gcsfuse/volumes".into(), "true".into());
                if let Some(r) = &p.fuse.resources {
                    let get = |m: &Option<BTreeMap<String, Quantity>>, k: &str| {
                        m.as_ref().and_then(|m| m.get(k)).map(|q| q.0.clone())
                    };
                    if let Some(v) = get(&r.limits, "ephemeral-storage") {
                        out.insert("gke-gcsfuse/ephemeral-storage-limit".into(), v);
                    }
                    for (field, m, k) in [
                        ("cpu-request", &r.requests, "cpu"),
                        ("cpu-limit", &r.limits, "cpu"),
                        ("memory-request", &r.requests, "memory"),
                        ("memory-limit", &r.limits, "memory"),
                    ] {
                        if let Some(v) = get(m, k) {
                            out.insert(format!("gke-gcsfuse/{field}"), v.clone());
                            out.insert(format!("gke-gcsfuse/metadata-prefetch-{field}"), v);
                        }
                    }
                }
            }
        }
        PodAnnotationGroup::McpDatadog => {
            let dd = &ctx.values.mcp_server.datadog;
            if dd.enabled {
                let mut tags = vec![
                    "product:wandb".to_string(),
                    "component:mcp-server".to_string(),
                    format!(
                        "deployment_type:{}",
                        non_empty_or(&dd.deployment_type, "self-managed")
                    ),
                ];
                if !dd.customer.is_empty() {
                    tags.push(format!("customer:{}", dd.customer));
                }
                tags.extend(dd.extra_tags.iter().cloned());
                out.insert(
                    "ad.datadoghq.com/mcp-server.tags".into(),
                    serde_json::to_string(&tags).unwrap_or_default(),
                );
                let service = non_empty_or(&dd.service, "wandb-mcp-server-onprem");
                out.insert(
                    "ad.datadoghq.com/mcp-server.logs".into(),
                    serde_json::json!([{"source": "python", "service": service}]).to_string(),
                );
            }
        }
    }
    out
}

/// The CA certificate volumes every W&B pod mounts.
pub fn ca_cert_volumes(ctx: &Ctx) -> Vec<Volume> {
    let g = &ctx.values.global;
    let mut out = vec![
        empty_dir("wandb-ca-certs-root"),
        config_map_volume("wandb-ca-certs", &ctx.name("ca-certs"), None, false),
        config_map_volume(
            "wandb-ca-certs-user",
            &non_empty_or(&g.ca_certs_config_map, "noCertProvided"),
            None,
            true,
        ),
        Volume {
            name: "redis-ca".into(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(ctx.redis_secret()),
                items: Some(vec![KeyToPath {
                    key: "REDIS_CA_CERT".into(),
                    path: "redis_ca.pem".into(),
                    mode: None,
                }]),
                optional: Some(true),
                default_mode: None,
            }),
            ..Default::default()
        },
    ];
    if ctx.mysql_has_ca() {
        let file = ctx.mysql_ca_file();
        let item = |key: String| {
            Some(vec![KeyToPath {
                key,
                path: file.clone(),
                mode: None,
            }])
        };
        let volume = match &g.mysql.ca_cert {
            wandb_values::ValueOrRef::Ref { value_from } => {
                if let Some(r) = &value_from.config_map_key_ref {
                    Volume {
                        name: "mysql-ca".into(),
                        config_map: Some(ConfigMapVolumeSource {
                            name: r.name.clone(),
                            items: item(r.key.clone()),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }
                } else {
                    let r = value_from.secret_key_ref.clone().unwrap_or_default();
                    Volume {
                        name: "mysql-ca".into(),
                        secret: Some(SecretVolumeSource {
                            secret_name: Some(r.name),
                            items: item(r.key),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }
                }
            }
            wandb_values::ValueOrRef::Value(_) => Volume {
                name: "mysql-ca".into(),
                secret: Some(SecretVolumeSource {
                    secret_name: Some(ctx.name("mysql-ca-cert")),
                    items: item("MYSQL_CA_CERT".into()),
                    ..Default::default()
                }),
                ..Default::default()
            },
        };
        out.push(volume);
    }
    out
}

pub fn ca_cert_mounts(ctx: &Ctx) -> Vec<VolumeMount> {
    let mut out = vec![
        mount(
            "wandb-ca-certs-root",
            "/usr/local/share/ca-certificates/",
            None,
        ),
        mount(
            "wandb-ca-certs",
            "/usr/local/share/ca-certificates/inline",
            None,
        ),
        mount(
            "wandb-ca-certs-user",
            "/usr/local/share/ca-certificates/configmap",
            None,
        ),
        mount(
            "redis-ca",
            "/etc/ssl/certs/redis_ca.pem",
            Some("redis_ca.pem"),
        ),
    ];
    if ctx.mysql_has_ca() {
        let file = ctx.mysql_ca_file();
        out.push(mount(
            "mysql-ca",
            &format!("/etc/ssl/certs/{file}"),
            Some(&file),
        ));
    }
    out
}

fn group_volumes(ctx: &Ctx, group: VolumeGroup) -> Vec<Volume> {
    let g = &ctx.values.global;
    match group {
        VolumeGroup::InternalSigner if g.local_service.bypass => vec![Volume {
            name: "wandb-internal-signer-root".into(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(ctx.name("internal-signer")),
                ..Default::default()
            }),
            ..Default::default()
        }],
        VolumeGroup::GcsFuse if ctx.values.parquet.fuse.enabled => {
            let b = ctx.bucket();
            if b.provider == "gcs" && g.cloud_provider == "gcp" {
                let attrs = BTreeMap::from([
                    ("bucketName".to_string(), b.name.clone()),
                    ("mountOptions".to_string(), "implicit-dirs,file-cache:enable-parallel-downloads:true,metadata-cache:stat-cache-max-size-mb:-1,metadata-cache:type-cache-max-size-mb:-1,file-system:kernel-list-cache-ttl-secs:-1,metadata-cache:ttl-secs:-1".to_string()),
                    ("fileCacheCapacity".to_string(), ctx.values.parquet.fuse.file_cache_capacity.to_string()),
                    ("fileCacheForRangeRead".to_string(), "true".to_string()),
                    ("gcsfuseMetadataPrefetchOnMount".to_string(), "true".to_string()),
                ]);
                vec![Volume {
                    name: "fuse".into(),
                    csi: Some(k8s_openapi::api::core::v1::CSIVolumeSource {
                        driver: "gcsfuse.csi.storage.gke.io".into(),
                        read_only: Some(true),
                        volume_attributes: Some(attrs),
                        ..Default::default()
                    }),
                    ..Default::default()
                }]
            } else {
                vec![empty_dir("fuse")]
            }
        }
        VolumeGroup::LumenStaging => vec![empty_dir("lumen-staging-dir")],
        VolumeGroup::LumenWif if !g.lumen.gcp_workload_identity.audience.is_empty() => vec![
            Volume {
                name: "gcp-ksa".into(),
                projected: Some(k8s_openapi::api::core::v1::ProjectedVolumeSource {
                    sources: Some(vec![k8s_openapi::api::core::v1::VolumeProjection {
                        service_account_token: Some(
                            k8s_openapi::api::core::v1::ServiceAccountTokenProjection {
                                path: "token".into(),
                                expiration_seconds: Some(3600),
                                audience: Some(g.lumen.gcp_workload_identity.audience.clone()),
                            },
                        ),
                        ..Default::default()
                    }]),
                    default_mode: None,
                }),
                ..Default::default()
            },
            config_map_volume("gcp-wif-config", &ctx.name("lumen-gcp-wif"), None, false),
        ],
        VolumeGroup::LumenRules => vec![config_map_volume(
            "lumen-managed-install",
            &ctx.name("lumen-rules"),
            None,
            false,
        )],
        VolumeGroup::WeaveCache => {
            let c = &ctx.values.weave.cache;
            vec![Volume {
                name: "cache".into(),
                empty_dir: Some(EmptyDirVolumeSource {
                    medium: (!c.medium.is_empty()).then(|| c.medium.clone()),
                    size_limit: (!c.size.is_empty()).then(|| Quantity(c.size.to_string())),
                }),
                ..Default::default()
            }]
        }
        _ => vec![],
    }
}

fn group_mounts(ctx: &Ctx, group: VolumeGroup) -> Vec<VolumeMount> {
    let g = &ctx.values.global;
    match group {
        VolumeGroup::InternalSigner if g.local_service.bypass => {
            vec![mount("wandb-internal-signer-root", "/vol/env", None)]
        }
        VolumeGroup::GcsFuse if ctx.values.parquet.fuse.enabled => {
            vec![mount("fuse", &format!("/{}", ctx.bucket().name), None)]
        }
        VolumeGroup::LumenStaging => vec![mount("lumen-staging-dir", "/vol/staging", None)],
        VolumeGroup::LumenWif if !g.lumen.gcp_workload_identity.audience.is_empty() => vec![
            VolumeMount {
                read_only: Some(true),
                ..mount("gcp-ksa", "/var/run/secrets/tokens/gcp-ksa", None)
            },
            VolumeMount {
                read_only: Some(true),
                ..mount("gcp-wif-config", "/var/secrets/gcp", None)
            },
        ],
        VolumeGroup::LumenRules => vec![VolumeMount {
            read_only: Some(true),
            ..mount(
                "lumen-managed-install",
                "/app/definitions/collector/managed-install.yaml",
                Some("managed-install.yaml"),
            )
        }],
        _ => vec![],
    }
}

/// The lumen agent's pull port.
fn lumen_port() -> ContainerPort {
    ContainerPort {
        name: Some("lumen".into()),
        container_port: 16060,
        protocol: Some("TCP".into()),
        ..Default::default()
    }
}

/// A Service port with its target port spelled out. Kubernetes defaults it
/// to the port; written here, it is a field the operator owns, so a hand
/// edit of it is drift that gets repaired.
fn with_target_port(port: &ServicePort) -> ServicePort {
    let mut port = port.clone();
    if port.target_port.is_none() {
        port.target_port = Some(IntOrString::Int(port.port));
    }
    port
}
