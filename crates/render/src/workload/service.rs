//! The service's Services and, on GCP, their BackendConfigs.

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::Build;
use crate::objects::{CustomObject, Object};

/// One Service of a component: the catalog's, with the user's keys over it.
struct ServiceShape<'a> {
    name: String,
    ports: &'a [ServicePort],
    headless: bool,
    internal: bool,
    kind: Option<&'a str>,
    health_path: Option<&'a str>,
    health_check: Option<&'a serde_json::Value>,
}

impl<'a> ServiceShape<'a> {
    /// A Service with no type, cloud settings or health check of its own.
    fn plain(name: String, ports: &'a [ServicePort], headless: bool) -> Self {
        ServiceShape {
            name,
            ports,
            headless,
            internal: false,
            kind: None,
            health_path: None,
            health_check: None,
        }
    }
}

impl Build<'_, '_> {
    pub(super) fn services(&self) -> Vec<Object> {
        let user = &self.values.service;
        // A service with none of its own gets upstream's default port.
        let default_port = [ServicePort {
            name: Some("http".into()),
            port: 80,
            protocol: Some("TCP".into()),
            target_port: Some(IntOrString::String("http".into())),
            ..Default::default()
        }];
        let mut out = Vec::new();
        let main = match (&self.spec.service, user.enabled) {
            (_, Some(false)) | (None, None) => None,
            (Some(s), _) => Some(ServiceShape {
                kind: s.kind.as_deref(),
                health_path: s.load_balancer_health_check_path.as_deref(),
                ..ServiceShape::plain(self.fullname.clone(), &s.ports, s.headless)
            }),
            (None, Some(true)) => Some(ServiceShape::plain(
                self.fullname.clone(),
                &default_port,
                false,
            )),
        };
        if let Some(mut shape) = main {
            // The user's keys beat the catalog's, as Helm merges values.
            shape.ports = user.ports.as_deref().unwrap_or(shape.ports);
            shape.headless = user.headless.unwrap_or(shape.headless);
            shape.internal = user.internal.unwrap_or(shape.internal);
            shape.kind = user.kind.as_deref().or(shape.kind);
            shape.health_path = user
                .load_balancer_health_check_path
                .as_deref()
                .or(shape.health_path);
            shape.health_check = user.health_check.as_ref();
            out.extend(self.service(&shape));
        }
        match &self.values.services {
            // The user's list replaces the catalog's, as Helm replaces a list.
            Some(services) => {
                for s in services.iter().filter(|s| s.enabled && !s.name.is_empty()) {
                    out.extend(self.service(&ServiceShape {
                        internal: s.internal,
                        kind: s.kind.as_deref(),
                        health_path: s.load_balancer_health_check_path.as_deref(),
                        ..ServiceShape::plain(s.name.clone(), &s.ports, s.headless)
                    }));
                }
            }
            None => {
                for s in &self.spec.extra_services {
                    out.extend(self.service(&ServiceShape::plain(
                        self.ctx.name(&s.name),
                        &s.ports,
                        s.headless,
                    )));
                }
            }
        }
        out
    }

    fn service(&self, shape: &ServiceShape) -> Vec<Object> {
        let g = &self.ctx.values.global;
        let name = shape.name.as_str();
        let mut meta = self.meta(name);
        meta.labels
            .get_or_insert_with(Default::default)
            .extend(self.values.service.labels.clone());
        let mut annotations = meta.annotations.take().unwrap_or_default();
        annotations.extend(g.service.annotations.clone());
        annotations.extend(self.values.service.annotations.clone());
        let mut out = Vec::new();
        // Cloud load balancers reach only what is neither internal nor headless.
        if !shape.internal && !shape.headless {
            match g.cloud_provider.as_str() {
                "aws" => {
                    if let Some(path) = shape.health_path.filter(|p| !p.is_empty()) {
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
                    if let Some(check) = shape.health_check.filter(|c| !is_empty_value(c)) {
                        spec["healthCheck"] = check.clone();
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
                type_: Some(shape.kind.unwrap_or("ClusterIP").to_string()),
                cluster_ip: shape.headless.then(|| "None".into()),
                ports: Some(shape.ports.iter().map(with_target_port).collect()),
                selector: Some(self.selector()),
                ..Default::default()
            }),
            status: None,
        }));
        out
    }
}

/// Null, or an empty map or list: what Helm's `with` skips.
fn is_empty_value(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::Null => true,
        serde_json::Value::Object(m) => m.is_empty(),
        serde_json::Value::Array(a) => a.is_empty(),
        _ => false,
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
