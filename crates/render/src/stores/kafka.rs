//! Kafka in KRaft mode: one node, controller and broker.

use crate::config::{SecretValue, secret};
use crate::context::{Ctx, non_empty};
use crate::k8s::{empty_dir, mount};
use crate::objects::Manifest;

use super::common::{
    StoreSpec, claim_template, manifests, network_policy, pod_security, port, resources, selector,
    service, service_port, stateful_set, store_container, tcp_probe,
};

/// Upstream's default KRaft cluster id.
const DEFAULT_CLUSTER_ID: &str = "ffFF1H3AQKGdBnsqAbJKew";

pub(super) fn build(ctx: &Ctx) -> Vec<Manifest> {
    let v = &ctx.values.kafka;
    // One node is both controller and broker: it takes the controller's settings.
    let store = v.controller.over(&v.base);
    let cluster_id_secret = ctx.name("kafka-kraft-cluster-id");
    let cluster_id = non_empty(&v.kraft.cluster_id).unwrap_or_else(|| DEFAULT_CLUSTER_ID.into());
    let name = ctx.name("kafka");
    let controller = ctx.name("kafka-controller");
    let headless = ctx.name("kafka-controller-headless");
    let sel = selector(ctx, "kafka", Some("controller-eligible"));
    let mut spec = StoreSpec {
        component: "kafka",
        name: controller.clone(),
        selector: sel.clone(),
        values: &store,
        default_registry: "docker.io",
        containers: vec![],
        volumes: vec![empty_dir("empty-dir")],
        pod_security: pod_security(1001, 1001),
        service_account: None,
        api_access: false,
    };
    let mut c = store_container(ctx, "kafka", &spec, resources("250m", "1Gi", None, "2Gi"));
    // One node in KRaft mode, both controller and broker; clients log in
    // with SASL PLAIN as the W&B services' connection strings expect.
    c.env = Some(ctx.store_env("kafka", 0));
    c.ports = Some(vec![port("client", 9092), port("controller", 9093)]);
    c.liveness_probe = Some(tcp_probe(9093, 10));
    c.readiness_probe = Some(tcp_probe(9092, 5));
    c.volume_mounts = Some(vec![
        mount("data", "/bitnami/kafka", None),
        mount(
            "empty-dir",
            "/opt/bitnami/kafka/config",
            Some("app-conf-dir"),
        ),
        mount("empty-dir", "/opt/bitnami/kafka/logs", Some("app-logs-dir")),
        mount("empty-dir", "/tmp", Some("tmp-dir")),
    ]);
    spec.containers = vec![c];
    let all = selector(ctx, "kafka", None);
    let mut out = vec![secret(
        ctx,
        "kafka",
        &cluster_id_secret,
        vec![("kraft-cluster-id", SecretValue::Given(cluster_id))],
    )];
    out.extend(manifests(
        "kafka",
        vec![
            service(
                ctx,
                "kafka",
                &name,
                &all,
                vec![service_port("tcp-client", 9092, "client")],
                false,
            ),
            service(
                ctx,
                "kafka",
                &headless,
                &sel,
                vec![
                    service_port("tcp-client", 9092, "client"),
                    service_port("tcp-controller", 9093, "controller"),
                ],
                true,
            ),
            stateful_set(
                ctx,
                &spec,
                1,
                &headless,
                vec![claim_template(ctx, "data", &store, "30Gi", &sel)],
            ),
        ],
    ));
    out.extend(network_policy(ctx, "kafka", &name, &all, &[9092, 9093]));
    out
}
