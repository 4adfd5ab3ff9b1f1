//! What governs a Deployment's replicas: its autoscaler (a KEDA
//! ScaledObject or a HorizontalPodAutoscaler) and its PodDisruptionBudget.

use k8s_openapi::api::autoscaling::v2::{
    CrossVersionObjectReference, HorizontalPodAutoscaler, HorizontalPodAutoscalerSpec, MetricSpec,
    MetricTarget, ResourceMetricSource,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::Build;
use super::sizing::{lay_horizontal, lay_keda};
use crate::objects::{CustomObject, Object};

impl Build<'_, '_> {
    pub(super) fn autoscaled(&self) -> (wandb_values::Horizontal, wandb_values::Keda) {
        let mut h = self.sizing.autoscaling.horizontal.clone();
        lay_horizontal(&mut h, &self.values.autoscaling.horizontal);
        let mut k = self.sizing.autoscaling.keda.clone();
        lay_keda(&mut k, &self.values.autoscaling.keda);
        (h, k)
    }

    pub(super) fn autoscaler(&self) -> Option<Object> {
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

    pub(super) fn pdb(&self) -> Object {
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
}
