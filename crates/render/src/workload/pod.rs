//! The pod template of a Deployment, Job or CronJob: containers, labels,
//! annotations, scheduling and pull secrets.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Container, LocalObjectReference, PodSpec, PodTemplateSpec, TopologySpreadConstraint, Volume,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use wandb_values::tpls::{self, Entry};
use wandb_values::{Component, Flag};

use super::overrides::PodContainers;
use super::security::pod_security_context;
use super::{Build, label_value, non_empty_or};
use crate::catalog::{ContainerSpec, PodAnnotationGroup, PodLabelGroup, VolumeGroup};
use crate::context::Ctx;
use crate::k8s::{placement, pod_metadata};
use crate::objects::Labels;

impl Build<'_, '_> {
    pub(super) fn pod(
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
                    on.map_or_else(|| self.holds(c.when.as_ref()), Flag::is_on)
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
        let volumes = self.volumes(pod.overrides.volumes().unwrap_or(volumes), volume_groups);
        let (node_selector, tolerations) = placement(g, &v.node_selector, &v.tolerations);
        let priority = non_empty_or(&v.priority_class_name, &g.priority_class_name);
        let pull_secrets = pull_secrets(&v.image_pull_secrets, &g.image_pull_secrets);
        PodTemplateSpec {
            metadata: pod_metadata(labels, annotations),
            spec: Some(PodSpec {
                containers: build(pod.containers, true),
                init_containers: (!init.is_empty()).then_some(init),
                service_account_name: Some(self.service_account_name()),
                security_context: Some(pod_security_context(
                    self.spec.pod_security_context.as_ref(),
                    v.pod_security_context.as_ref(),
                )),
                termination_grace_period_seconds: v.termination_grace_period_seconds.or(grace),
                topology_spread_constraints: Some(self.topology_spread()),
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
}

/// Image pull secrets by name (a name or `{name: ...}`), the local ones first.
pub fn pull_secrets(
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

impl Build<'_, '_> {
    /// The user's spread constraints or the default (by zone, then by
    /// node), each selecting this component's pods, as upstream sets them.
    fn topology_spread(&self) -> Vec<TopologySpreadConstraint> {
        let default = || {
            ["topology.kubernetes.io/zone", "kubernetes.io/hostname"]
                .into_iter()
                .map(|key| TopologySpreadConstraint {
                    max_skew: 1,
                    topology_key: key.into(),
                    when_unsatisfiable: "ScheduleAnyway".into(),
                    ..Default::default()
                })
                .collect()
        };
        let mut constraints = self
            .values
            .topology_spread_constraints
            .clone()
            .unwrap_or_else(default);
        for c in &mut constraints {
            c.label_selector = Some(LabelSelector {
                match_labels: Some(self.selector()),
                match_expressions: None,
            });
        }
        constraints
    }
}
