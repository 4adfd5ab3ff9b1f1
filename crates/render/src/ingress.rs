//! The Ingress in front of W&B (and its secondary twin, and the certificate
//! issuer when one is requested).

use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressRule,
    IngressServiceBackend, IngressSpec, IngressTLS, ServiceBackendPort,
};
use wandb_values::Ingress as IngressValues;

use crate::config::{api_paths, meta};
use crate::context::Ctx;
use crate::objects::{CustomObject, Manifest, Object};

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

fn paths(ctx: &Ctx, v: &IngressValues, primary: bool) -> Vec<HTTPIngressPath> {
    let values = ctx.values;
    let mut out = vec![if v.default_backend == "console" {
        path("/", &ctx.name("console"), 8082)
    } else if values.frontend.install == Some(true) {
        path("/", &ctx.name("frontend"), 8080)
    } else {
        path("/", &ctx.name("app"), 8080)
    }];
    if values.global.api.enabled {
        for p in api_paths(ctx) {
            out.push(path(p, &ctx.name("api"), 8081));
        }
    }
    if values.mcp_server.base.install == Some(true) {
        out.push(path("/mcp", &ctx.name("mcp-server"), 8080));
    }
    out.push(path("/console", &ctx.name("console"), 8082));
    if primary && values.weave_trace.install == Some(true) {
        out.push(path("/traces", &ctx.name("weave-trace"), 8722));
    }
    out
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
