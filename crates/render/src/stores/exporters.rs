//! The Prometheus exporters of MySQL and Redis.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{EnvVar, Service, ServiceSpec};
use wandb_values::{Image, Store, StoreImage};

use crate::context::Ctx;
use crate::env::{literal, secret_ref};
use crate::objects::{Manifest, Object};

use super::common::{
    StoreSpec, deployment, global_env_from, manifests, meta, pod_security, port, resources,
    selector, service_port, store_container, tcp_probe, with_global_extra_env,
};

pub(super) fn build(ctx: &Ctx) -> Vec<Manifest> {
    let p = &ctx.values.prometheus;
    let mut out = Vec::new();
    if p.mysql_exporter.install {
        let mut env = ctx.group_env("mysqlConfig");
        env.push(secret_ref(
            "MYSQLD_EXPORTER_PASSWORD",
            &ctx.mysql_password_secret(),
            &ctx.values.global.mysql.password_secret.password_key,
            false,
        ));
        out.extend(exporter(
            ctx,
            "mysql-exporter",
            Image {
                repository: "prom/mysqld-exporter".into(),
                tag: "v0.17.2".into(),
                ..Default::default()
            },
            9104,
            vec![
                "--mysqld.address=$(MYSQL_HOST):$(MYSQL_PORT)".into(),
                "--mysqld.username=$(MYSQL_USER)".into(),
            ],
            env,
        ));
    }
    if p.redis_exporter.install {
        let env = vec![
            literal(
                "REDIS_ADDR",
                format!("redis://{}:{}", ctx.redis_host(), ctx.redis_port()),
            ),
            secret_ref(
                "REDIS_PASSWORD",
                &ctx.redis_secret(),
                &ctx.values.global.redis.secret.secret_key,
                true,
            ),
        ];
        out.extend(exporter(
            ctx,
            "redis-exporter",
            Image {
                repository: "oliver006/redis_exporter".into(),
                tag: "v1.74.0".into(),
                ..Default::default()
            },
            9121,
            vec![],
            env,
        ));
    }
    out
}

fn exporter(
    ctx: &Ctx,
    what: &str,
    image: Image,
    port_number: i32,
    args: Vec<String>,
    env: Vec<EnvVar>,
) -> Vec<Manifest> {
    let name = ctx.name(&format!("prometheus-{what}"));
    let sel = selector(ctx, what, None);
    // Upstream's exporters take `global.extraEnv` and `global.extraEnvFrom`.
    let store = Store {
        image: StoreImage {
            base: image,
            registry: String::new(),
        },
        extra_env: with_global_extra_env(ctx, &BTreeMap::new()),
        extra_env_vars: global_env_from(ctx),
        ..Default::default()
    };
    let mut spec = StoreSpec {
        component: "prometheus",
        name: name.clone(),
        selector: sel.clone(),
        values: &store,
        default_registry: "",
        containers: vec![],
        volumes: vec![],
        pod_security: pod_security(65534, 65534),
        service_account: None,
        api_access: false,
    };
    let mut c = store_container(ctx, what, &spec, resources("50m", "64Mi", None, "256Mi"));
    c.args = (!args.is_empty()).then_some(args);
    c.env = Some(env);
    c.ports = Some(vec![port("exporter", port_number)]);
    c.readiness_probe = Some(tcp_probe(port_number, 5));
    spec.containers = vec![c];
    let mut svc_meta = meta(ctx, &name, "prometheus", &BTreeMap::new());
    svc_meta
        .annotations
        .get_or_insert_with(Default::default)
        .extend([
            ("prometheus.io/scrape".to_string(), "true".to_string()),
            ("prometheus.io/port".to_string(), port_number.to_string()),
        ]);
    manifests(
        "prometheus",
        vec![
            Object::Service(Service {
                metadata: svc_meta,
                spec: Some(ServiceSpec {
                    type_: Some("ClusterIP".into()),
                    ports: Some(vec![service_port("exporter", port_number, "exporter")]),
                    selector: Some(sel.clone()),
                    ..Default::default()
                }),
                status: None,
            }),
            deployment(ctx, &spec, 1),
        ],
    )
}
