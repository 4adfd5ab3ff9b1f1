//! The service's Services and, on GCP, their BackendConfigs.

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::Build;
use crate::objects::{CustomObject, Object};

impl Build<'_, '_> {
    pub(super) fn services(&self) -> Vec<Object> {
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
