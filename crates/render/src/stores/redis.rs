//! Redis 7, standalone; its data in the claim template `redis-data` of `{release}-redis-master`.

use crate::config::config_map;
use crate::context::Ctx;
use crate::k8s::{config_map_volume, empty_dir, mount};
use crate::objects::Manifest;

use super::common::{
    StoreSpec, claim_template, exec_probe, manifests, network_policy, pod_security, port,
    resources, selector, service, service_account, service_port, stateful_set, store_container,
};

const REDIS_START: &str = r#"#!/bin/bash
# Starts Redis with the mounted configuration (append-only persistence in /data).
set -e
cp /opt/bitnami/redis/mounted-etc/redis.conf /opt/bitnami/redis/etc/redis.conf
cp /opt/bitnami/redis/mounted-etc/master.conf /opt/bitnami/redis/etc/master.conf
args=("--port" "${REDIS_PORT}" "--protected-mode" "no"
      "--include" "/opt/bitnami/redis/etc/redis.conf"
      "--include" "/opt/bitnami/redis/etc/master.conf")
if [[ -n "${REDIS_PASSWORD:-}" ]]; then
  args+=("--requirepass" "${REDIS_PASSWORD}" "--masterauth" "${REDIS_PASSWORD}")
fi
exec redis-server "${args[@]}"
"#;

const REDIS_PING: &str = r#"#!/bin/bash
# Usage: ping.sh TIMEOUT_SECONDS [extra accepted reply]. Healthy when Redis answers PONG.
reply=$(timeout -s 15 "$1" redis-cli -h localhost -p "$REDIS_PORT" ${REDIS_PASSWORD:+-a "$REDIS_PASSWORD" --no-auth-warning} ping)
[[ $? == 124 ]] && { echo "timed out"; exit 1; }
[[ "$reply" == "PONG" || ( -n "${2:-}" && "$reply" == *"$2"* ) ]] || { echo "$reply"; exit 1; }
"#;

/// With `redis.auth.enabled`, Redis does not start without its password.
const REDIS_NEEDS_PASSWORD: &str = r#"[[ -n "${REDIS_PASSWORD:-}" ]] || { echo "redis.auth.enabled is true but the Redis Secret holds no password"; exit 1; }
"#;

pub(super) fn build(ctx: &Ctx) -> Vec<Manifest> {
    let r = &ctx.values.redis;
    // Bitnami's `master` block holds the Redis pod's settings.
    let store = r.master.over(&r.base);
    let v = &store;
    let auth = r.auth.enabled == Some(true);
    let name = ctx.name("redis-master");
    let headless = ctx.name("redis-headless");
    let sel = selector(ctx, "redis", Some("master"));
    let mut spec = StoreSpec {
        component: "redis",
        name: name.clone(),
        selector: sel.clone(),
        values: v,
        default_registry: "docker.io",
        containers: vec![],
        volumes: vec![
            config_map_volume(
                "start-scripts",
                &ctx.name("redis-scripts"),
                Some(0o755),
                false,
            ),
            config_map_volume("health", &ctx.name("redis-health"), Some(0o755), false),
            config_map_volume("config", &ctx.name("redis-configuration"), None, false),
            empty_dir("empty-dir"),
        ],
        pod_security: pod_security(1001, 1001),
        service_account: Some(name.clone()),
        api_access: false,
    };
    let mut c = store_container(ctx, "redis", &spec, resources("100m", "256Mi", None, "1Gi"));
    c.command = Some(vec!["/bin/bash".into()]);
    c.args = Some(vec![
        "-c".into(),
        "/opt/bitnami/scripts/start-scripts/start-master.sh".into(),
    ]);
    c.env = Some(ctx.store_env("redis", 0));
    c.ports = Some(vec![port("redis", 6379)]);
    c.liveness_probe = Some(exec_probe(&["sh", "-c", "/health/ping.sh 5 LOADING"], 20));
    c.readiness_probe = Some(exec_probe(&["sh", "-c", "/health/ping.sh 1"], 20));
    c.volume_mounts = Some(vec![
        mount("start-scripts", "/opt/bitnami/scripts/start-scripts", None),
        mount("health", "/health", None),
        mount("redis-data", "/data", None),
        mount("config", "/opt/bitnami/redis/mounted-etc", None),
        mount("empty-dir", "/opt/bitnami/redis/etc/", Some("app-conf-dir")),
        mount("empty-dir", "/tmp", Some("tmp-dir")),
    ]);
    spec.containers = vec![c];
    let ports = vec![service_port("tcp-redis", 6379, "redis")];
    let mut out = vec![
        config_map(
            ctx,
            "redis",
            "redis-configuration",
            vec![
                (
                    "redis.conf",
                    "# Append-only persistence; no RDB snapshots.\nappendonly yes\nsave \"\"\n"
                        .into(),
                ),
                (
                    "master.conf",
                    "dir /data\nrename-command FLUSHDB \"\"\nrename-command FLUSHALL \"\"\n".into(),
                ),
            ],
        ),
        config_map(
            ctx,
            "redis",
            "redis-health",
            vec![("ping.sh", REDIS_PING.into())],
        ),
        config_map(
            ctx,
            "redis",
            "redis-scripts",
            vec![(
                "start-master.sh",
                if auth {
                    REDIS_START.replacen("set -e\n", &format!("set -e\n{REDIS_NEEDS_PASSWORD}"), 1)
                } else {
                    REDIS_START.into()
                },
            )],
        ),
    ];
    out.extend(manifests(
        "redis",
        vec![
            service_account(ctx, "redis", &name),
            service(
                ctx,
                "redis",
                &headless,
                &selector(ctx, "redis", None),
                ports.clone(),
                true,
            ),
            service(ctx, "redis", &name, &sel, ports, false),
            stateful_set(
                ctx,
                &spec,
                1,
                &headless,
                vec![claim_template(ctx, "redis-data", v, "8Gi", &sel)],
            ),
        ],
    ));
    out.extend(network_policy(
        ctx,
        "redis",
        &ctx.name("redis"),
        &selector(ctx, "redis", None),
        &[6379],
    ));
    out
}
