//! bufstream (Kafka-compatible, keeps its data in the bucket) and the etcd that holds its metadata.

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{HTTPGetAction, Probe};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::config::config_map;
use crate::context::Ctx;
use crate::env::{field_ref, literal, secret_ref};
use crate::k8s::{config_map_volume, mount};
use crate::objects::{Manifest, Object};

use super::common::{
    StoreSpec, claim_template, manifests, meta, network_policy, pod_security, pod_template, port,
    resources, selector, service, service_port, stateful_set, store_container, tcp_probe,
};

pub(super) fn build(ctx: &Ctx) -> Vec<Manifest> {
    let v = ctx.values;
    let ns = ctx.bufstream_namespace();
    let etcd_name = ctx.name("etcd");
    let etcd_headless = ctx.name("etcd-headless");
    let etcd_sel = selector(ctx, "etcd", None);
    let replicas = v.etcd.replica_count.unwrap_or(3).max(1);
    let cluster: Vec<String> = (0..replicas)
        .map(|i| {
            format!(
                "{etcd_name}-{i}=http://{etcd_name}-{i}.{etcd_headless}.{ns}.svc.cluster.local:2380"
            )
        })
        .collect();
    let mut etcd = StoreSpec {
        component: "etcd",
        name: etcd_name.clone(),
        selector: etcd_sel.clone(),
        values: &v.etcd,
        default_registry: "docker.io",
        containers: vec![],
        volumes: vec![],
        pod_security: pod_security(1001, 1001),
        service_account: None,
    };
    let mut c = store_container(ctx, "etcd", &etcd, resources("100m", "256Mi", None, "1Gi"));
    c.env = Some(vec![
        literal("BITNAMI_DEBUG", "false"),
        field_ref("MY_POD_NAME", "metadata.name"),
        literal("ETCDCTL_API", "3"),
        literal("ALLOW_NONE_AUTHENTICATION", "yes"),
        literal("ETCD_NAME", "$(MY_POD_NAME)"),
        literal("ETCD_DATA_DIR", "/bitnami/etcd/data"),
        literal("ETCD_LISTEN_CLIENT_URLS", "http://0.0.0.0:2379"),
        literal("ETCD_LISTEN_PEER_URLS", "http://0.0.0.0:2380"),
        literal("ETCD_LISTEN_METRICS_URLS", "http://0.0.0.0:9090"),
        literal(
            "ETCD_ADVERTISE_CLIENT_URLS",
            format!("http://$(MY_POD_NAME).{etcd_headless}.{ns}.svc.cluster.local:2379"),
        ),
        literal(
            "ETCD_INITIAL_ADVERTISE_PEER_URLS",
            format!("http://$(MY_POD_NAME).{etcd_headless}.{ns}.svc.cluster.local:2380"),
        ),
        literal("ETCD_INITIAL_CLUSTER_TOKEN", "etcd-cluster-k8s"),
        literal("ETCD_INITIAL_CLUSTER_STATE", "new"),
        literal("ETCD_INITIAL_CLUSTER", cluster.join(",")),
        literal("ETCD_AUTO_COMPACTION_MODE", "periodic"),
        literal("ETCD_AUTO_COMPACTION_RETENTION", "30s"),
    ]);
    c.ports = Some(vec![
        port("client", 2379),
        port("peer", 2380),
        port("metrics", 9090),
    ]);
    c.liveness_probe = Some(Probe {
        http_get: Some(HTTPGetAction {
            path: Some("/livez".into()),
            port: IntOrString::Int(9090),
            ..Default::default()
        }),
        initial_delay_seconds: Some(10),
        period_seconds: Some(30),
        timeout_seconds: Some(15),
        failure_threshold: Some(10),
        ..Default::default()
    });
    c.readiness_probe = Some(Probe {
        http_get: Some(HTTPGetAction {
            path: Some("/readyz".into()),
            port: IntOrString::Int(9090),
            ..Default::default()
        }),
        initial_delay_seconds: Some(20),
        timeout_seconds: Some(10),
        ..Default::default()
    });
    c.volume_mounts = Some(vec![mount("data", "/bitnami/etcd", None)]);
    etcd.containers = vec![c];

    let b = ctx.bucket();
    let (bucket, endpoint) = match b.name.split_once('/') {
        Some((endpoint, bucket)) => (bucket.to_string(), format!("http://{endpoint}")),
        None => (b.name.clone(), String::new()),
    };
    let mut storage = serde_json::json!({"provider": match b.provider.as_str() { "gcs" => "GCS", "az" => "AZURE", _ => "S3" }, "bucket": bucket});
    if !b.region.is_empty() {
        storage["region"] = b.region.clone().into();
    }
    if !endpoint.is_empty() {
        storage["endpoint"] = endpoint.into();
        storage["force_path_style"] = true.into();
    }
    if !b.path.is_empty() {
        storage["prefix"] = b.path.clone().into();
    }
    let config = serde_json::json!({
        "version": "v1beta1",
        "cluster": "wandb",
        "zone": "default",
        "storage": storage,
        "metadata": {"etcd": {"addresses": [{"host": format!("{etcd_name}.{ns}.svc.cluster.local"), "port": 2379}]}},
        "kafka": {"address": {"host": "0.0.0.0", "port": 9092}},
    });
    let bufstream_name = "bufstream";
    let sel = selector(ctx, "bufstream", None);
    let mut bs = StoreSpec {
        component: "bufstream",
        name: bufstream_name.into(),
        selector: sel.clone(),
        values: &v.bufstream.base,
        default_registry: "docker.io",
        containers: vec![],
        volumes: vec![config_map_volume(
            "config",
            &ctx.name("bufstream-config"),
            None,
            false,
        )],
        pod_security: pod_security(1001, 1001),
        service_account: None,
    };
    let mut c = store_container(ctx, "bufstream", &bs, resources("1", "4Gi", None, "8Gi"));
    c.args = Some(vec![
        "serve".into(),
        "--config".into(),
        "/config/bufstream.yaml".into(),
    ]);
    c.env = Some(vec![
        secret_ref(
            "BUFSTREAM_STORAGE_ACCESS_KEY_ID",
            &b.secret_name,
            &b.access_key_name,
            true,
        ),
        secret_ref(
            "BUFSTREAM_STORAGE_SECRET_ACCESS_KEY",
            &b.secret_name,
            &b.secret_key_name,
            true,
        ),
    ]);
    c.ports = Some(vec![port("kafka", 9092), port("admin", 9089)]);
    c.readiness_probe = Some(tcp_probe(9092, 5));
    c.volume_mounts = Some(vec![mount("config", "/config", None)]);
    bs.containers = vec![c];
    let bufstream_deployment = Object::Deployment(Deployment {
        metadata: meta(ctx, bufstream_name, "bufstream", &sel),
        spec: Some(DeploymentSpec {
            replicas: Some(v.bufstream.base.replica_count.unwrap_or(1)),
            selector: LabelSelector {
                match_labels: Some(sel.clone()),
                match_expressions: None,
            },
            template: pod_template(ctx, &bs),
            ..Default::default()
        }),
        status: None,
    });
    let mut out = vec![config_map(
        ctx,
        "bufstream",
        "bufstream-config",
        vec![(
            "bufstream.yaml",
            serde_saphyr::to_string(&config).unwrap_or_default(),
        )],
    )];
    out.extend(manifests(
        "etcd",
        vec![
            service(
                ctx,
                "etcd",
                &etcd_name,
                &etcd_sel,
                vec![service_port("client", 2379, "client")],
                false,
            ),
            service(
                ctx,
                "etcd",
                &etcd_headless,
                &etcd_sel,
                vec![
                    service_port("client", 2379, "client"),
                    service_port("peer", 2380, "peer"),
                ],
                true,
            ),
            stateful_set(
                ctx,
                &etcd,
                replicas,
                &etcd_headless,
                vec![claim_template(ctx, "data", &v.etcd, "10Gi", &etcd_sel)],
            ),
        ],
    ));
    out.extend(manifests(
        "bufstream",
        vec![
            service(
                ctx,
                "bufstream",
                bufstream_name,
                &sel,
                vec![service_port("kafka", 9092, "kafka")],
                false,
            ),
            bufstream_deployment,
        ],
    ));
    out.extend(network_policy(
        ctx,
        "etcd",
        &etcd_name,
        &etcd_sel,
        &[2379, 2380],
    ));
    out.extend(network_policy(
        ctx,
        "bufstream",
        &ctx.name("bufstream"),
        &sel,
        &[9092],
    ));
    out
}
