//! The otel collector that gathers the pods' metrics: a DaemonSet, and a
//! Deployment when `otel.deployment.install` asks for one.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    DaemonSet, DaemonSetSpec, DaemonSetUpdateStrategy, Deployment, DeploymentSpec,
};
use k8s_openapi::api::core::v1::{
    ConfigMapVolumeSource, HTTPGetAction, KeyToPath, Probe, Service, ServiceSpec, Volume,
};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use wandb_values::{EnvValue, OtelCollector, Scalar, Store, StoreImage};

use crate::config::config_map;
use crate::context::Ctx;
use crate::env::field_ref;
use crate::k8s::mount;
use crate::objects::{Labels, Manifest, Object};

use super::common::{
    StoreSpec, global_env_from, manifests, meta, pod_security, pod_template, port, prefixed_image,
    resources, selector, service_account, service_port, store_container, with_global_extra_env,
};

/// The collector's configuration. On a node it labels only that node's pods.
fn otel_config(node_local: bool) -> String {
    let mut k8sattributes = serde_json::json!({
        "passthrough": false,
        "extract": {"metadata": ["k8s.namespace.name", "k8s.deployment.name", "k8s.statefulset.name", "k8s.pod.name", "k8s.node.name"]},
    });
    if node_local {
        k8sattributes["filter"] = serde_json::json!({"node_from_env_var": "K8S_NODE_NAME"});
    }
    let config = serde_json::json!({
        "receivers": {
            "otlp": {"protocols": {"grpc": {"endpoint": "0.0.0.0:4317"}, "http": {"endpoint": "0.0.0.0:4318"}}},
            "statsd": {"endpoint": "0.0.0.0:8125", "aggregation_interval": "60s"},
        },
        "processors": {
            "batch": {},
            "memory_limiter": {"check_interval": "1s", "limit_percentage": 80, "spike_limit_percentage": 25},
            "k8sattributes": k8sattributes,
        },
        "exporters": {"prometheus": {"endpoint": "0.0.0.0:9109"}, "debug": {}},
        "extensions": {"health_check": {"endpoint": "0.0.0.0:13133"}},
        "service": {
            "extensions": ["health_check"],
            "pipelines": {
                "metrics": {"receivers": ["otlp", "statsd"], "processors": ["memory_limiter", "k8sattributes", "batch"], "exporters": ["prometheus"]},
                "traces": {"receivers": ["otlp"], "processors": ["memory_limiter", "k8sattributes", "batch"], "exporters": ["debug"]},
            },
        },
    });
    serde_saphyr::to_string(&config).unwrap_or_default()
}

/// The collector's pods; `container` is upstream's name of its container.
fn collector<'a>(
    ctx: &Ctx,
    name: &str,
    container: &str,
    sel: &Labels,
    store: &'a Store,
) -> StoreSpec<'a> {
    let mut spec = StoreSpec {
        component: "otel",
        name: name.into(),
        selector: sel.clone(),
        values: store,
        default_registry: "",
        containers: vec![],
        volumes: vec![Volume {
            name: "config".into(),
            config_map: Some(ConfigMapVolumeSource {
                name: name.into(),
                items: Some(vec![KeyToPath {
                    key: "config".into(),
                    path: "config.yaml".into(),
                    mode: None,
                }]),
                ..Default::default()
            }),
            ..Default::default()
        }],
        pod_security: pod_security(1000, 1000),
        service_account: Some(name.into()),
        api_access: true,
    };
    let mut c = store_container(
        ctx,
        container,
        &spec,
        resources("200m", "200Mi", None, "2Gi"),
    );
    c.image = Some(prefixed_image(ctx, store, spec.default_registry));
    c.command = Some(vec![
        "/otelcol-contrib".into(),
        "--config=/conf/config.yaml".into(),
    ]);
    let mut env = ctx.group_env("mysqlConfig");
    env.push(field_ref("K8S_NODE_NAME", "spec.nodeName"));
    env.push(field_ref("POD_IP", "status.podIP"));
    // GOMEMLIMIT and `global.extraEnv` follow (the store's own env).
    c.env = Some(env);
    c.ports = Some(vec![
        port("otlp", 4317),
        port("otlp-http", 4318),
        port("prometheus", 9109),
        port("statsd", 8125),
    ]);
    let health = Probe {
        http_get: Some(HTTPGetAction {
            path: Some("/".into()),
            port: IntOrString::Int(13133),
            ..Default::default()
        }),
        ..Default::default()
    };
    c.liveness_probe = Some(health.clone());
    c.readiness_probe = Some(health);
    c.volume_mounts = Some(vec![mount("config", "/conf", None)]);
    spec.containers = vec![c];
    spec
}

/// Read-only pod metadata, to label the metrics the collector gathers.
fn rbac(ctx: &Ctx, name: &str) -> Vec<Object> {
    let mut cluster_meta = meta(ctx, name, "otel", &BTreeMap::new());
    cluster_meta.namespace = None;
    vec![
        Object::ClusterRole(ClusterRole {
            metadata: cluster_meta.clone(),
            rules: Some(vec![
                PolicyRule {
                    api_groups: Some(vec!["".into()]),
                    resources: Some(vec!["pods".into(), "namespaces".into(), "nodes".into()]),
                    verbs: vec!["get".into(), "list".into(), "watch".into()],
                    ..Default::default()
                },
                PolicyRule {
                    api_groups: Some(vec!["apps".into()]),
                    resources: Some(vec!["replicasets".into()]),
                    verbs: vec!["get".into(), "list".into(), "watch".into()],
                    ..Default::default()
                },
            ]),
            aggregation_rule: None,
        }),
        Object::ClusterRoleBinding(ClusterRoleBinding {
            metadata: cluster_meta,
            role_ref: RoleRef {
                api_group: "rbac.authorization.k8s.io".into(),
                kind: "ClusterRole".into(),
                name: name.into(),
            },
            subjects: Some(vec![Subject {
                kind: "ServiceAccount".into(),
                name: name.into(),
                namespace: Some(ctx.release.namespace.clone()),
                api_group: None,
            }]),
        }),
    ]
}

pub(super) fn build(ctx: &Ctx) -> Vec<Manifest> {
    let v = &ctx.values.otel;
    let mut out = Vec::new();
    if v.daemonset.install {
        out.extend(workload(ctx, "daemonset", &v.daemonset));
    }
    if v.deployment.install {
        out.extend(workload(ctx, "deployment", &v.deployment));
    }
    out
}

/// The store of one of the collector's workloads: its values, upstream's
/// `GOMEMLIMIT` over `global.extraEnv`, then `global.extraEnvFrom`.
fn store(ctx: &Ctx, v: &OtelCollector) -> Store {
    let own = BTreeMap::from([(
        "GOMEMLIMIT".to_string(),
        EnvValue::Plain(Scalar("1600MiB".into())),
    )]);
    Store {
        image: StoreImage {
            base: v.image.clone(),
            registry: String::new(),
        },
        resources: v.resources.clone(),
        node_selector: v.node_selector.clone(),
        tolerations: v.tolerations.clone(),
        extra_env: with_global_extra_env(ctx, &own),
        extra_env_vars: global_env_from(ctx),
        ..Default::default()
    }
}

/// `{release}-otel-daemonset` or `{release}-otel-deployment`, with its
/// ConfigMap, Service, ServiceAccount and RBAC.
fn workload(ctx: &Ctx, mode: &str, v: &OtelCollector) -> Vec<Manifest> {
    let what = format!("otel-{mode}");
    let name = ctx.name(&what);
    let sel = selector(ctx, &what, None);
    let store = store(ctx, v);
    let spec = collector(ctx, &name, mode, &sel, &store);
    let mut ds_meta = meta(ctx, &name, "otel", &sel);
    let g = &ctx.values.global;
    let kind_meta = if mode == "daemonset" {
        &g.daemonset
    } else {
        &g.deployment
    };
    ds_meta
        .labels
        .get_or_insert_with(Default::default)
        .extend(kind_meta.labels.clone());
    let mut annotations = g.deployment.annotations.clone();
    annotations.extend(kind_meta.annotations.clone());
    if !annotations.is_empty() {
        ds_meta
            .annotations
            .get_or_insert_with(Default::default)
            .extend(annotations);
    }
    let mut svc_meta = meta(ctx, &name, "otel", &BTreeMap::new());
    svc_meta
        .annotations
        .get_or_insert_with(Default::default)
        .extend([
            ("prometheus.io/scrape".to_string(), "true".to_string()),
            ("prometheus.io/path".to_string(), "/metrics".to_string()),
            ("prometheus.io/port".to_string(), "9109".to_string()),
        ]);
    let mut out = vec![config_map(
        ctx,
        "otel",
        &what,
        vec![("config", otel_config(mode == "daemonset"))],
    )];
    let selector = LabelSelector {
        match_labels: Some(sel.clone()),
        match_expressions: None,
    };
    let workload = if mode == "daemonset" {
        Object::DaemonSet(DaemonSet {
            metadata: ds_meta,
            spec: Some(DaemonSetSpec {
                selector,
                template: pod_template(ctx, &spec),
                update_strategy: Some(DaemonSetUpdateStrategy {
                    type_: Some("RollingUpdate".into()),
                    rolling_update: None,
                }),
                ..Default::default()
            }),
            status: None,
        })
    } else {
        Object::Deployment(Deployment {
            metadata: ds_meta,
            spec: Some(DeploymentSpec {
                replicas: Some(1),
                selector,
                template: pod_template(ctx, &spec),
                ..Default::default()
            }),
            status: None,
        })
    };
    let mut objects = vec![service_account(ctx, "otel", &name)];
    objects.extend(rbac(ctx, &name));
    objects.extend([
        Object::Service(Service {
            metadata: svc_meta,
            spec: Some(ServiceSpec {
                type_: Some("ClusterIP".into()),
                ports: Some(vec![
                    service_port("otel-exporter", 9109, "prometheus"),
                    service_port("statsd", 8125, "statsd"),
                    service_port("otlp-grpc", 4317, "otlp"),
                    service_port("otlp-http", 4318, "otlp-http"),
                ]),
                selector: Some(sel),
                ..Default::default()
            }),
            status: None,
        }),
        workload,
    ]);
    out.extend(manifests("otel", objects));
    out
}
