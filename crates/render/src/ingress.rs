//! The Ingress in front of W&B (and its secondary twin, and the certificate
//! issuer when one is requested).

use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressRule,
    IngressServiceBackend, IngressSpec, IngressTLS, ServiceBackendPort,
};
use wandb_values::Ingress as IngressValues;

use crate::config::meta;
use crate::context::Ctx;
use crate::objects::{CustomObject, Manifest, Object};
use crate::resolve::Scope;

pub fn build(ctx: &Ctx) -> Vec<Manifest> {
    let v = &ctx.values.ingress;
    let mut out = Vec::new();
    if v.issuer.create {
        out.push(issuer(ctx, v));
    }
    if v.install && v.create {
        out.push(Manifest::new(
            "ingress",
            Object::Ingress(ingress(ctx, v, true)),
        ));
    }
    if let Some(secondary) = v.secondary.as_deref()
        && secondary.create
    {
        out.push(Manifest::new(
            "ingress",
            Object::Ingress(ingress(ctx, secondary, false)),
        ));
    }
    out
}

fn issuer(ctx: &Ctx, v: &IngressValues) -> Manifest {
    let object = if v.issuer.provider == "google" {
        CustomObject {
            api_version: "networking.gke.io/v1".into(),
            kind: "ManagedCertificate".into(),
            metadata: meta(ctx, &ctx.name("cert"), "ingress"),
            spec: serde_json::json!({"domains": [ctx.host_name()]}),
        }
    } else {
        CustomObject {
            api_version: "cert-manager.io/v1".into(),
            kind: "Issuer".into(),
            metadata: meta(ctx, &ctx.name("issuer"), "ingress"),
            spec: serde_json::json!({
                "acme": {
                    "server": v.issuer.server,
                    "email": v.issuer.email,
                    "privateKeySecretRef": {"name": ctx.name("acme-key")},
                    "solvers": [{"http01": {"ingress": {"class": v.class}}}],
                }
            }),
        }
    };
    Manifest::new("ingress", Object::Custom(object))
}

fn path(path: &str, service: &str, port: i32) -> HTTPIngressPath {
    HTTPIngressPath {
        path: Some(path.into()),
        path_type: "Prefix".into(),
        backend: IngressBackend {
            service: Some(IngressServiceBackend {
                name: service.into(),
                port: Some(ServiceBackendPort {
                    number: Some(port),
                    name: None,
                }),
            }),
            resource: None,
        },
    }
}

/// The document's routes, in the Ingress's order of their groups. The
/// Ingress's `defaultBackend` may name a route to send `/` there instead.
fn paths(ctx: &Ctx, v: &IngressValues, primary: bool) -> Vec<HTTPIngressPath> {
    let routes = &ctx.catalog.routes;
    let default = routes
        .list
        .iter()
        .find(|r| r.name.as_deref() == Some(v.default_backend.as_str()));
    ctx.routes_in_order(&routes.ingress_order, !primary)
        .into_iter()
        .map(|(route, service)| match default {
            Some(d) if route.path == "/" => {
                path("/", &ctx.text(&d.service, Scope::INSTALL), d.port)
            }
            _ => path(&route.path, &service, route.port),
        })
        .collect()
}

fn ingress(ctx: &Ctx, v: &IngressValues, primary: bool) -> Ingress {
    let name = if v.name_override.is_empty() {
        ctx.release.name.clone()
    } else {
        v.name_override.clone()
    };
    let mut metadata = meta(ctx, &name, "ingress");
    metadata
        .labels
        .get_or_insert_with(Default::default)
        .extend(v.labels.clone());
    let annotations = metadata.annotations.get_or_insert_with(Default::default);
    if v.issuer.create {
        if v.issuer.provider == "google" {
            annotations.insert(
                "networking.gke.io/managed-certificates".into(),
                ctx.name("cert"),
            );
        } else {
            annotations.insert("cert-manager.io/issuer".into(), ctx.name("issuer"));
            annotations.insert(
                "cert-manager.io/acme-challenge-type".into(),
                "http01".into(),
            );
        }
        annotations.insert("kubernetes.io/ingress.allow-http".into(), "false".into());
    }
    annotations.extend(v.annotations.clone());
    if annotations.is_empty() {
        metadata.annotations = None;
    }
    let host = ctx.ingress_host();
    let tls = if v.issuer.create && v.issuer.provider != "google" {
        Some(vec![IngressTLS {
            hosts: host.clone().map(|h| vec![h]),
            secret_name: Some(ctx.name("tls")),
        }])
    } else if v.tls.is_empty() {
        None
    } else {
        Some(v.tls.clone())
    };
    let rules = std::iter::once(host)
        .chain(v.additional_hosts.iter().cloned().map(Some))
        .map(|h| IngressRule {
            host: h,
            http: Some(HTTPIngressRuleValue {
                paths: paths(ctx, v, primary),
            }),
        })
        .collect();
    Ingress {
        metadata,
        spec: Some(IngressSpec {
            ingress_class_name: (!v.class.is_empty()).then(|| v.class.clone()),
            tls,
            rules: Some(rules),
            default_backend: None,
        }),
        status: None,
    }
}
