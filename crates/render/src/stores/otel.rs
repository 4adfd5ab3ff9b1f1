//! The otel collector DaemonSet that gathers the pods' metrics.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{DaemonSet, DaemonSetSpec, DaemonSetUpdateStrategy};
use k8s_openapi::api::core::v1::{
    ConfigMapVolumeSource, HTTPGetAction, KeyToPath, Probe, Service, ServiceSpec, Volume,
};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use wandb_values::{Store, StoreImage};

use crate::config::config_map;
use crate::context::Ctx;
use crate::env::{self, field_ref, literal};
use crate::k8s::mount;
use crate::objects::{Labels, Manifest, Object};

use super::common::{
    StoreSpec, manifests, meta, pod_security, pod_template, port, resources, selector,
    service_account, service_port, store_container,
};

fn otel_config() -> String {
    let config = serde_json::json!({
        "receivers": {
            "otlp": {"protocols": {"grpc": {"endpoint": "0.0.0.0:4317"}, "http": {"endpoint": "0.0.0.0:4318"}}},
            "statsd": {"endpoint": "0.0.0.0:8125", "aggregation_interval": "60s"},
        },
        "processors": {
            "batch": {},
            "memory_limiter": {"check_interval": "1s", "limit_percentage": 80, "spike_limit_percentage": 25},
            "k8sattributes": {
                "passthrough": false,
                "filter": {"node_from_env_var": "K8S_NODE_NAME"},
                "extract": {"metadata": ["k8s.namespace.name", "k8s.deployment.name", "k8s.statefulset.name", "k8s.pod.name", "k8s.node.name"]},
            },
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

/// The collector's pods.
fn collector<'a>(ctx: &Ctx, name: &str, sel: &Labels, store: &'a Store) -> StoreSpec<'a> {
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
        "daemonset",
        &spec,
        resources("200m", "200Mi", None, "2Gi"),
    );
    c.command = Some(vec![
        "/otelcol-contrib".into(),
        "--config=/conf/config.yaml".into(),
    ]);
    let mut env = env::group(
        ctx,
        crate::catalog::EnvGroup::MysqlConfig,
        &Default::default(),
    );
    env.push(field_ref("K8S_NODE_NAME", "spec.nodeName"));
    env.push(field_ref("POD_IP", "status.podIP"));
    env.push(literal("GOMEMLIMIT", "1600MiB"));
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
    let v = &ctx.values.otel.daemonset;
    let name = ctx.name("otel-daemonset");
    let sel = selector(ctx, "otel-daemonset", None);
    let store = Store {
        image: StoreImage {
            base: v.image.clone(),
            registry: String::new(),
        },
        resources: v.resources.clone(),
        node_selector: v.node_selector.clone(),
        tolerations: v.tolerations.clone(),
        ..Default::default()
    };
    let spec = collector(ctx, &name, &sel, &store);
    let mut ds_meta = meta(ctx, &name, "otel", &sel);
    let g = &ctx.values.global;
    ds_meta
        .labels
        .get_or_insert_with(Default::default)
        .extend(g.daemonset.labels.clone());
    let mut annotations = g.deployment.annotations.clone();
    annotations.extend(g.daemonset.annotations.clone());
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
        "otel-daemonset",
        vec![("config", otel_config())],
    )];
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
                selector: Some(sel.clone()),
                ..Default::default()
            }),
            status: None,
        }),
        Object::DaemonSet(DaemonSet {
            metadata: ds_meta,
            spec: Some(DaemonSetSpec {
                selector: LabelSelector {
                    match_labels: Some(sel),
                    match_expressions: None,
                },
                template: pod_template(ctx, &spec),
                update_strategy: Some(DaemonSetUpdateStrategy {
                    type_: Some("RollingUpdate".into()),
                    rolling_update: None,
                }),
                ..Default::default()
            }),
            status: None,
        }),
    ]);
    out.extend(manifests("otel", objects));
    out
}
