//! bufstream, the Kafka-compatible queue that keeps its data in the bucket,
//! as upstream renders it: the StatefulSet and Service `bufstream`, the
//! ConfigMap `bufstream-config` and the ServiceAccount
//! `bufstream-service-account` (names without the release, as upstream's).

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetSpec};
use k8s_openapi::api::core::v1::{
    Container, EnvVar, EnvVarSource, HTTPGetAction, KeyToPath, Probe, ResourceFieldSelector,
    SecretVolumeSource, Service, ServiceAccount, ServicePort, ServiceSpec, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use wandb_values::{ProbeTuning, Store, StoreImage};

use crate::config::config_map_named;
use crate::context::{Ctx, non_empty};
use crate::env::{field_ref, from_source, literal};
use crate::k8s::mount;
use crate::objects::{Labels, Manifest, Object};

use super::bufstream_config::{
    ADMIN_PORT, CONNECT_PORT, KAFKA_PORT, OBSERVABILITY_PORT, STORAGE_SECRETS, config, given,
    provider, s3_keys,
};
use super::common::{StoreSpec, meta, network_policy, pod_security, pod_template, store_container};

const NAME: &str = "bufstream";
const CONFIG: &str = "bufstream-config";

fn labels(ctx: &Ctx) -> Labels {
    BTreeMap::from([
        ("app".to_string(), NAME.to_string()),
        ("app.kubernetes.io/name".to_string(), NAME.to_string()),
        (
            "app.kubernetes.io/instance".to_string(),
            ctx.release.name.clone(),
        ),
    ])
}

fn service_account_name(ctx: &Ctx) -> String {
    given(&ctx.values.bufstream.bufstream.service_account.name)
        .unwrap_or("bufstream-service-account")
        .to_string()
}

/// `requests.<what>` of the container, or its limit when there is no request.
fn resource_env(name: &str, c: &Container, what: &str) -> EnvVar {
    let requested = c
        .resources
        .as_ref()
        .and_then(|r| r.requests.as_ref())
        .is_some_and(|r| r.contains_key(what));
    let resource = format!("{}.{what}", if requested { "requests" } else { "limits" });
    from_source(
        name,
        EnvVarSource {
            resource_field_ref: Some(ResourceFieldSelector {
                container_name: Some(NAME.into()),
                resource,
                divisor: Some(Quantity("1".into())),
            }),
            ..Default::default()
        },
    )
}

fn probe(path: &str, tuning: &ProbeTuning, period: i32) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.into()),
            port: IntOrString::Int(OBSERVABILITY_PORT as i32),
            scheme: Some("HTTP".into()),
            ..Default::default()
        }),
        period_seconds: Some(period),
        failure_threshold: tuning.failure_threshold,
        timeout_seconds: tuning.timeout_seconds,
        ..Default::default()
    }
}

/// The config file and, for S3 with keys, the Secret they are read from.
fn volumes(ctx: &Ctx) -> (Vec<Volume>, Vec<VolumeMount>) {
    let mut volumes = vec![Volume {
        name: "config-volume".into(),
        config_map: Some(k8s_openapi::api::core::v1::ConfigMapVolumeSource {
            name: CONFIG.into(),
            items: Some(vec![KeyToPath {
                key: "config.yaml".into(),
                path: "config.yaml".into(),
                mode: None,
            }]),
            ..Default::default()
        }),
        ..Default::default()
    }];
    let mut mounts = vec![VolumeMount {
        read_only: Some(true),
        ..mount("config-volume", "/config/config.yaml", Some("config.yaml"))
    }];
    if let Some(keys) = s3_keys(ctx).filter(|_| provider(ctx) == "s3") {
        let mut items = vec![KeyToPath {
            key: keys.secret_key.clone(),
            path: "secret_access_key".into(),
            mode: None,
        }];
        if let Err(key) = &keys.access_key_id {
            items.push(KeyToPath {
                key: key.clone(),
                path: "access_key_id".into(),
                mode: None,
            });
        }
        volumes.push(Volume {
            name: "storage".into(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(keys.secret),
                items: Some(items),
                ..Default::default()
            }),
            ..Default::default()
        });
        mounts.push(VolumeMount {
            read_only: Some(true),
            ..mount("storage", STORAGE_SECRETS, None)
        });
    }
    (volumes, mounts)
}

fn broker(ctx: &Ctx, spec: &StoreSpec, mounts: Vec<VolumeMount>) -> Container {
    let d = &ctx.values.bufstream.bufstream.deployment;
    let mut c = store_container(ctx, NAME, spec, Default::default());
    // Upstream leaves bufstream's registry as it is under
    // `global.imageRegistry`; here the mirror replaces it (docs/compatibility.md).
    c.image = Some(ctx.hosted_image(&ctx.values.bufstream.bufstream.image));
    c.resources = d.resources.clone();
    c.command = (!d.command.is_empty()).then(|| d.command.clone());
    c.args = Some(if d.args.is_empty() {
        vec!["--config".into(), "/config/config.yaml".into()]
    } else {
        d.args.clone()
    });
    let o = &ctx.values.bufstream.observability;
    let mut env = vec![
        field_ref("BUFSTREAM_CONNECT_PUBLIC_HOST", "status.podIP"),
        literal("BUFSTREAM_CONNECT_PUBLIC_PORT", CONNECT_PORT.to_string()),
        resource_env("GOMAXPROCS", &c, "cpu"),
        resource_env("BUFSTREAM_AVAILABLE_MEMORY", &c, "memory"),
    ];
    if !o.otlp_endpoint.is_empty() {
        env.push(literal(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            o.otlp_endpoint.clone(),
        ));
    }
    if !o.metrics.otlp_temporality_preference.is_empty() {
        env.push(literal(
            "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
            o.metrics.otlp_temporality_preference.clone(),
        ));
    }
    env.extend(d.extra_env.iter().cloned());
    c.env = Some(env);
    c.ports = Some(
        [
            ("admin", ADMIN_PORT),
            ("connect", CONNECT_PORT),
            ("kafka", KAFKA_PORT),
            ("observability", OBSERVABILITY_PORT),
        ]
        .iter()
        .map(|(n, p)| super::common::port(n, *p as i32))
        .collect(),
    );
    c.liveness_probe = Some(probe("/health", &d.liveness_probe, 3));
    c.readiness_probe = Some(probe("/ready", &d.readiness_probe, 3));
    c.startup_probe = Some(Probe {
        initial_delay_seconds: Some(1),
        ..probe("/health", &d.startup_probe, 5)
    });
    c.volume_mounts = Some(mounts);
    c
}

/// Upstream's scheduling keys, as a store's: the workload's first, then
/// bufstream's own, then `global`'s (in `pod_template`).
fn scheduling(ctx: &Ctx) -> Store {
    let v = &ctx.values.bufstream;
    let d = &v.bufstream.deployment;
    let pick = |a: &wandb_values::StringMap, b: &wandb_values::StringMap| {
        if a.is_empty() { b } else { a }.clone()
    };
    Store {
        image: StoreImage {
            base: v.bufstream.image.clone(),
            registry: String::new(),
        },
        node_selector: pick(&d.node_selector, &v.node_selector),
        tolerations: if d.tolerations.is_empty() {
            &v.tolerations
        } else {
            &d.tolerations
        }
        .clone(),
        affinity: d.affinity.clone(),
        pod_labels: d.pod_labels.clone(),
        pod_annotations: d.pod_annotations.clone(),
        replica_count: d.replica_count,
        ..Default::default()
    }
}

fn stateful_set(ctx: &Ctx) -> Object {
    let d = &ctx.values.bufstream.bufstream.deployment;
    let store = scheduling(ctx);
    let (volumes, mounts) = volumes(ctx);
    let mut spec = StoreSpec {
        component: NAME,
        name: NAME.into(),
        selector: labels(ctx),
        values: &store,
        default_registry: "",
        containers: vec![],
        volumes,
        pod_security: pod_security(1001, 1001),
        service_account: Some(service_account_name(ctx)),
        api_access: false,
    };
    spec.containers = vec![broker(ctx, &spec, mounts)];
    let mut template = pod_template(ctx, &spec);
    if let Some(meta) = template.metadata.as_mut() {
        let labels = meta.labels.get_or_insert_with(BTreeMap::new);
        labels.insert("app.kubernetes.io/component".into(), NAME.into());
        labels.insert(
            "bufstream.buf.build/cluster".into(),
            ctx.values.bufstream.cluster.clone(),
        );
    }
    if let Some(pod) = template.spec.as_mut() {
        pod.termination_grace_period_seconds = d.termination_grace_period_seconds;
    }
    Object::StatefulSet(StatefulSet {
        metadata: meta(ctx, NAME, NAME, &labels(ctx)),
        spec: Some(StatefulSetSpec {
            replicas: Some(d.replica_count.unwrap_or(3)),
            selector: LabelSelector {
                match_labels: Some(labels(ctx)),
                match_expressions: None,
            },
            pod_management_policy: Some("Parallel".into()),
            template,
            ..Default::default()
        }),
        status: None,
    })
}

fn service(ctx: &Ctx) -> Object {
    let s = &ctx.values.bufstream.bufstream.service;
    let mut m = meta(ctx, NAME, NAME, &labels(ctx));
    if !s.annotations.is_empty() {
        m.annotations
            .get_or_insert_with(BTreeMap::new)
            .extend(s.annotations.clone());
    }
    let port = |name: &str, number: i64| ServicePort {
        name: Some(name.into()),
        port: number as i32,
        protocol: Some("TCP".into()),
        target_port: Some(IntOrString::String(name.into())),
        ..Default::default()
    };
    Object::Service(Service {
        metadata: m,
        spec: Some(ServiceSpec {
            type_: Some(non_empty(&s.kind).unwrap_or_else(|| "ClusterIP".into())),
            ports: Some(vec![
                port("admin", ADMIN_PORT),
                port("connect", CONNECT_PORT),
                port("kafka", KAFKA_PORT),
            ]),
            selector: Some(labels(ctx)),
            ..Default::default()
        }),
        status: None,
    })
}

fn service_account(ctx: &Ctx) -> Object {
    let sa = &ctx.values.bufstream.bufstream.service_account;
    let mut m = meta(ctx, &service_account_name(ctx), NAME, &labels(ctx));
    if !sa.annotations.is_empty() {
        m.annotations
            .get_or_insert_with(BTreeMap::new)
            .extend(sa.annotations.clone());
    }
    Object::ServiceAccount(ServiceAccount {
        metadata: m,
        automount_service_account_token: Some(false),
        ..Default::default()
    })
}

pub(super) fn build(ctx: &Ctx) -> Vec<Manifest> {
    let w = &ctx.values.bufstream.bufstream;
    let yaml = serde_saphyr::to_string(&config(ctx)).unwrap_or_default();
    let mut out = vec![config_map_named(
        ctx,
        NAME,
        CONFIG,
        vec![("config.yaml", yaml)],
    )];
    if w.service_account.create != Some(false) {
        out.push(Manifest::new(NAME, service_account(ctx)));
    }
    if w.service.enabled != Some(false) {
        out.push(Manifest::new(NAME, service(ctx)));
    }
    out.push(Manifest::new(NAME, stateful_set(ctx)));
    out.extend(network_policy(
        ctx,
        NAME,
        NAME,
        &labels(ctx),
        &[KAFKA_PORT as i32, CONNECT_PORT as i32, ADMIN_PORT as i32],
    ));
    out
}
