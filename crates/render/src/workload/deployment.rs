//! The Deployment of a long-running service.

use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::Build;
use super::overrides::{Overrides, PodContainers};
use crate::objects::Object;

impl Build<'_, '_> {
    /// The Deployment's name: the full name and the postfix, if any. The
    /// Service, selector and labels keep the full name alone.
    pub(super) fn workload_name(&self) -> String {
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

    pub(super) fn deployment(&self) -> Object {
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
}
