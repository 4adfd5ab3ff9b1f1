//! The in-cluster stores of a proof-of-concept install (MySQL 8, Redis 7,
//! ClickHouse, Kafka or bufstream + etcd, an S3-compatible object store),
//! the otel collector and the Prometheus exporters.
//!
//! Object names, images, env vars and ports follow the upstream chart's
//! subcharts, so that an install moved from it finds its volumes: MySQL keeps
//! its data in the PVC `{release}-mysql-data`, Redis in the claim template
//! `redis-data` of `{release}-redis-master`.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    DaemonSet, DaemonSetSpec, DaemonSetUpdateStrategy, Deployment, DeploymentSpec, StatefulSet,
    StatefulSetSpec,
};
use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    ConfigMapVolumeSource, Container, ContainerPort, EnvVar, ExecAction, HTTPGetAction, KeyToPath,
    PersistentVolumeClaim, PersistentVolumeClaimSpec, PersistentVolumeClaimVolumeSource,
    PodSecurityContext, PodSpec, PodTemplateSpec, Probe, ResourceRequirements, SeccompProfile,
    SecretVolumeSource, Service, ServiceAccount, ServicePort, ServiceSpec, TCPSocketAction, Volume,
    VolumeMount, VolumeResourceRequirements,
};
use k8s_openapi::api::networking::v1::{
    NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer,
    NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use wandb_values::{Image, Store};

use crate::config::{common_labels, config_map};
use crate::context::{Ctx, OBJECT_STORE_BUCKET, OBJECT_STORE_PORT, non_empty};
use crate::env::{self, field_ref, literal, secret_ref};
use crate::k8s::{config_map_volume, empty_dir, mount};
use crate::objects::{Labels, Manifest, Object};
use crate::workload::{container_security_context, merge_resources};

pub fn build(ctx: &Ctx) -> Vec<Manifest> {
    let v = ctx.values;
    let mut out = Vec::new();
    if ctx.stores.mysql {
        out.extend(mysql(ctx));
    }
    if ctx.stores.redis {
        out.extend(redis(ctx));
    }
    if ctx.stores.clickhouse {
        out.extend(clickhouse(ctx));
    }
    if ctx.stores.kafka {
        out.extend(kafka(ctx));
    }
    if ctx.stores.bufstream {
        out.extend(bufstream(ctx));
    }
    if ctx.stores.object_store {
        out.extend(object_store(ctx));
    }
    if v.otel.install && v.otel.daemonset.install {
        out.extend(otel(ctx));
    }
    if v.prometheus.install {
        out.extend(exporters(ctx));
    }
    out
}

/// Everything about one store's pods that differs from the others.
struct StoreSpec<'a> {
    component: &'a str,
    /// Name of the workload and its Service.
    name: String,
    /// Labels that select the store's pods.
    selector: Labels,
    values: &'a Store,
    /// Registry of the image when `global.imageRegistry` is empty.
    default_registry: &'a str,
    containers: Vec<Container>,
    volumes: Vec<Volume>,
    /// Security context of the pods; containers get the restricted one.
    pod_security: PodSecurityContext,
    service_account: Option<String>,
}

fn meta(ctx: &Ctx, name: &str, component: &str, extra: &Labels) -> ObjectMeta {
    let mut m = crate::config::meta(ctx, name, component);
    m.labels
        .get_or_insert_with(Default::default)
        .extend(extra.clone());
    m
}

fn selector(ctx: &Ctx, name: &str, component: Option<&str>) -> Labels {
    let mut s = BTreeMap::from([
        ("app.kubernetes.io/name".to_string(), name.to_string()),
        (
            "app.kubernetes.io/instance".to_string(),
            ctx.release.name.clone(),
        ),
    ]);
    if let Some(c) = component {
        s.insert("app.kubernetes.io/component".into(), c.into());
    }
    s
}

fn pod_security(user: i64, fs_group: i64) -> PodSecurityContext {
    PodSecurityContext {
        run_as_non_root: Some(true),
        run_as_user: Some(user),
        run_as_group: Some(0),
        fs_group: Some(fs_group),
        fs_group_change_policy: Some("OnRootMismatch".into()),
        seccomp_profile: Some(SeccompProfile {
            type_: "RuntimeDefault".into(),
            localhost_profile: None,
        }),
        ..Default::default()
    }
}

fn port(name: &str, number: i32) -> ContainerPort {
    ContainerPort {
        name: Some(name.into()),
        container_port: number,
        protocol: Some("TCP".into()),
        ..Default::default()
    }
}

fn service_port(name: &str, number: i32, target: &str) -> ServicePort {
    ServicePort {
        name: Some(name.into()),
        port: number,
        protocol: Some("TCP".into()),
        target_port: Some(IntOrString::String(target.into())),
        ..Default::default()
    }
}

fn tcp_probe(port: i32, initial_delay: i32) -> Probe {
    Probe {
        tcp_socket: Some(TCPSocketAction {
            port: IntOrString::Int(port),
            host: None,
        }),
        initial_delay_seconds: (initial_delay > 0).then_some(initial_delay),
        period_seconds: Some(10),
        ..Default::default()
    }
}

fn named_tcp_probe(port: &str, initial_delay: i32) -> Probe {
    Probe {
        tcp_socket: Some(TCPSocketAction {
            port: IntOrString::String(port.into()),
            host: None,
        }),
        ..tcp_probe(0, initial_delay)
    }
}

fn exec_probe(command: &[&str], initial_delay: i32) -> Probe {
    Probe {
        exec: Some(ExecAction {
            command: Some(command.iter().map(|s| s.to_string()).collect()),
        }),
        initial_delay_seconds: Some(initial_delay),
        period_seconds: Some(5),
        timeout_seconds: Some(5),
        failure_threshold: Some(5),
        ..Default::default()
    }
}

fn storage_class(ctx: &Ctx, store: &Store) -> Option<String> {
    non_empty(&store.persistence.storage_class)
        .or_else(|| non_empty(&ctx.values.global.storage_class))
}

fn claim_spec(ctx: &Ctx, store: &Store, default_size: &str) -> PersistentVolumeClaimSpec {
    let size = if store.persistence.size.is_empty() {
        default_size.to_string()
    } else {
        store.persistence.size.to_string()
    };
    PersistentVolumeClaimSpec {
        access_modes: Some(vec!["ReadWriteOnce".into()]),
        resources: Some(VolumeResourceRequirements {
            requests: Some(BTreeMap::from([("storage".to_string(), Quantity(size))])),
            limits: None,
        }),
        storage_class_name: storage_class(ctx, store),
        ..Default::default()
    }
}

fn claim_template(
    ctx: &Ctx,
    name: &str,
    store: &Store,
    default_size: &str,
    labels: &Labels,
) -> PersistentVolumeClaim {
    PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some(labels.clone()),
            ..Default::default()
        },
        spec: Some(claim_spec(ctx, store, default_size)),
        status: None,
    }
}

fn image(ctx: &Ctx, store: &Store, default_registry: &str) -> String {
    ctx.store_image(&store.image, default_registry)
}

fn store_container(
    ctx: &Ctx,
    name: &str,
    spec: &StoreSpec,
    default_resources: ResourceRequirements,
) -> Container {
    Container {
        name: name.into(),
        image: Some(image(ctx, spec.values, spec.default_registry)),
        image_pull_policy: Some(if spec.values.image.pull_policy.is_empty() {
            "IfNotPresent".into()
        } else {
            spec.values.image.pull_policy.clone()
        }),
        resources: merge_resources(Some(&default_resources), spec.values.resources.as_ref()),
        security_context: Some(container_security_context()),
        ..Default::default()
    }
}

fn resources(
    cpu: &str,
    memory: &str,
    cpu_limit: Option<&str>,
    memory_limit: &str,
) -> ResourceRequirements {
    let mut limits = BTreeMap::from([("memory".to_string(), Quantity(memory_limit.into()))]);
    if let Some(c) = cpu_limit {
        limits.insert("cpu".into(), Quantity(c.into()));
    }
    ResourceRequirements {
        requests: Some(BTreeMap::from([
            ("cpu".to_string(), Quantity(cpu.into())),
            ("memory".to_string(), Quantity(memory.into())),
        ])),
        limits: Some(limits),
        claims: None,
    }
}

fn pod_template(ctx: &Ctx, spec: &StoreSpec) -> PodTemplateSpec {
    let g = &ctx.values.global;
    let v = spec.values;
    let mut labels = common_labels(ctx, spec.component);
    labels.extend(spec.selector.clone());
    labels.extend(g.pod.labels.clone());
    labels.extend(v.pod.labels.clone());
    let mut annotations = g.pod.annotations.clone();
    annotations.extend(v.pod.annotations.clone());
    let node_selector = if v.node_selector.is_empty() {
        &g.node_selector
    } else {
        &v.node_selector
    };
    let tolerations = if v.tolerations.is_empty() {
        &g.tolerations
    } else {
        &v.tolerations
    };
    PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(labels),
            annotations: (!annotations.is_empty()).then_some(annotations),
            ..Default::default()
        }),
        spec: Some(PodSpec {
            containers: spec.containers.clone(),
            volumes: (!spec.volumes.is_empty()).then(|| spec.volumes.clone()),
            security_context: Some(spec.pod_security.clone()),
            service_account_name: spec.service_account.clone(),
            automount_service_account_token: Some(spec.service_account.is_some()),
            node_selector: (!node_selector.is_empty()).then(|| node_selector.clone()),
            tolerations: (!tolerations.is_empty()).then(|| tolerations.clone()),
            affinity: v.affinity.clone(),
            priority_class_name: non_empty(&g.priority_class_name),
            ..Default::default()
        }),
    }
}

fn stateful_set(
    ctx: &Ctx,
    spec: &StoreSpec,
    replicas: i32,
    service_name: &str,
    claims: Vec<PersistentVolumeClaim>,
) -> Object {
    let mut m = meta(ctx, &spec.name, spec.component, &spec.selector);
    let g = &ctx.values.global;
    m.labels
        .get_or_insert_with(Default::default)
        .extend(g.statefulset.labels.clone());
    if !g.statefulset.annotations.is_empty() {
        m.annotations
            .get_or_insert_with(Default::default)
            .extend(g.statefulset.annotations.clone());
    }
    Object::StatefulSet(StatefulSet {
        metadata: m,
        spec: Some(StatefulSetSpec {
            replicas: Some(spec.values.replica_count.unwrap_or(replicas)),
            selector: LabelSelector {
                match_labels: Some(spec.selector.clone()),
                match_expressions: None,
            },
            service_name: Some(service_name.into()),
            template: pod_template(ctx, spec),
            volume_claim_templates: (!claims.is_empty()).then_some(claims),
            pod_management_policy: Some("Parallel".into()),
            ..Default::default()
        }),
        status: None,
    })
}

fn service(
    ctx: &Ctx,
    component: &str,
    name: &str,
    selector: &Labels,
    ports: Vec<ServicePort>,
    headless: bool,
) -> Object {
    Object::Service(Service {
        metadata: meta(ctx, name, component, &BTreeMap::new()),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".into()),
            cluster_ip: headless.then(|| "None".into()),
            publish_not_ready_addresses: headless.then_some(true),
            ports: Some(ports),
            selector: Some(selector.clone()),
            ..Default::default()
        }),
        status: None,
    })
}

fn service_account(ctx: &Ctx, component: &str, name: &str) -> Object {
    Object::ServiceAccount(ServiceAccount {
        metadata: meta(ctx, name, component, &BTreeMap::new()),
        automount_service_account_token: Some(false),
        ..Default::default()
    })
}

fn pdb(ctx: &Ctx, component: &str, name: &str, selector: &Labels) -> Object {
    Object::PodDisruptionBudget(PodDisruptionBudget {
        metadata: meta(ctx, name, component, &BTreeMap::new()),
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(1)),
            selector: Some(LabelSelector {
                match_labels: Some(selector.clone()),
                match_expressions: None,
            }),
            ..Default::default()
        }),
        status: None,
    })
}

/// Lets only the install's own pods reach a store's ports.
fn network_policy(
    ctx: &Ctx,
    component: &str,
    name: &str,
    selector: &Labels,
    ports: &[i32],
) -> Option<Manifest> {
    if !ctx.values.network_policy.enabled {
        return None;
    }
    let from = NetworkPolicyPeer {
        pod_selector: Some(LabelSelector {
            match_labels: Some(BTreeMap::from([(
                "app.kubernetes.io/instance".to_string(),
                ctx.release.name.clone(),
            )])),
            match_expressions: None,
        }),
        ..Default::default()
    };
    Some(Manifest::new(
        component,
        Object::NetworkPolicy(NetworkPolicy {
            metadata: meta(ctx, name, component, &BTreeMap::new()),
            spec: Some(NetworkPolicySpec {
                pod_selector: Some(LabelSelector {
                    match_labels: Some(selector.clone()),
                    match_expressions: None,
                }),
                policy_types: Some(vec!["Ingress".into(), "Egress".into()]),
                ingress: Some(vec![NetworkPolicyIngressRule {
                    from: Some(vec![from]),
                    ports: Some(
                        ports
                            .iter()
                            .map(|p| NetworkPolicyPort {
                                port: Some(IntOrString::Int(*p)),
                                protocol: Some("TCP".into()),
                                end_port: None,
                            })
                            .collect(),
                    ),
                }]),
                egress: Some(vec![NetworkPolicyEgressRule::default()]),
            }),
        }),
    ))
}

fn manifests(component: &str, objects: Vec<Object>) -> Vec<Manifest> {
    objects
        .into_iter()
        .map(|o| Manifest::new(component, o))
        .collect()
}

// --- MySQL ---------------------------------------------------------------------

fn mysql(ctx: &Ctx) -> Vec<Manifest> {
    let v = &ctx.values.mysql;
    let g = &ctx.values.global;
    let name = ctx.name("mysql");
    let sel = selector(ctx, "mysql", None);
    let mut env: Vec<EnvVar> = env::group(
        ctx,
        crate::catalog::EnvGroup::MysqlConfig,
        &Default::default(),
    );
    env.push(secret_ref(
        "MYSQL_ROOT_PASSWORD",
        &ctx.mysql_password_secret(),
        &g.mysql.password_secret.root_password_key,
        false,
    ));
    let mut spec = StoreSpec {
        component: "mysql",
        name: name.clone(),
        selector: sel.clone(),
        values: v,
        default_registry: "",
        containers: vec![],
        volumes: vec![
            config_map_volume("initdb", &ctx.name("mysql-initdb"), None, false),
            Volume {
                name: "data".into(),
                persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                    claim_name: ctx.name("mysql-data"),
                    read_only: None,
                }),
                ..Default::default()
            },
            empty_dir("run"),
        ],
        pod_security: pod_security(999, 999),
        service_account: None,
    };
    let mut c = store_container(
        ctx,
        "mysql",
        &spec,
        resources("500m", "1Gi", Some("4"), "8Gi"),
    );
    c.ports = Some(vec![port("mysql", 3306)]);
    c.env = Some(env);
    c.liveness_probe = Some(tcp_probe(3306, 0));
    c.readiness_probe = Some(tcp_probe(3306, 0));
    c.startup_probe = Some(Probe {
        failure_threshold: Some(60),
        period_seconds: Some(5),
        initial_delay_seconds: Some(20),
        ..tcp_probe(3306, 20)
    });
    c.volume_mounts = Some(vec![
        mount("data", "/var/lib/mysql", None),
        mount(
            "initdb",
            "/docker-entrypoint-initdb.d/initdb.sql",
            Some("initdb.sql"),
        ),
        mount("initdb", "/etc/mysql/conf.d/wandb.cnf", Some("my.cnf")),
        mount("run", "/var/run/mysqld", None),
    ]);
    spec.containers = vec![c];
    let mut out = vec![config_map(
        ctx,
        "mysql",
        "mysql-initdb",
        vec![
            (
                "my.cnf",
                "[mysqld]\nbinlog_format = 'ROW'\ninnodb_online_alter_log_max_size = 268435456\n\
                 sync_binlog = 1\ninnodb_flush_log_at_trx_commit = 1\nbinlog_row_image = 'MINIMAL'\n\
                 local-infile = 1\nsort_buffer_size = 33554432\n"
                    .to_string(),
            ),
            (
                "initdb.sql",
                // Backups need RELOAD, SELECT and LOCK TABLES.
                format!(
                    "GRANT SESSION_VARIABLES_ADMIN,RELOAD,SELECT,LOCK TABLES ON *.* TO `{}`@`%`;\n",
                    ctx.mysql_user()
                ),
            ),
        ],
    )];
    out.extend(manifests(
        "mysql",
        vec![
            Object::PersistentVolumeClaim(PersistentVolumeClaim {
                metadata: meta(ctx, &ctx.name("mysql-data"), "mysql", &sel),
                spec: Some(claim_spec(ctx, v, "20Gi")),
                status: None,
            }),
            service(
                ctx,
                "mysql",
                &name,
                &sel,
                vec![service_port("mysql", 3306, "mysql")],
                false,
            ),
            stateful_set(ctx, &spec, 1, &name, vec![]),
        ],
    ));
    out.extend(network_policy(ctx, "mysql", &name, &sel, &[3306]));
    out
}

// --- Redis ---------------------------------------------------------------------

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

fn redis(ctx: &Ctx) -> Vec<Manifest> {
    let v = &ctx.values.redis;
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
    };
    let mut c = store_container(ctx, "redis", &spec, resources("100m", "256Mi", None, "1Gi"));
    c.command = Some(vec!["/bin/bash".into()]);
    c.args = Some(vec![
        "-c".into(),
        "/opt/bitnami/scripts/start-scripts/start-master.sh".into(),
    ]);
    c.env = Some(vec![
        literal("BITNAMI_DEBUG", "false"),
        literal("REDIS_REPLICATION_MODE", "master"),
        literal("ALLOW_EMPTY_PASSWORD", "yes"),
        literal("REDIS_TLS_ENABLED", "no"),
        literal("REDIS_PORT", "6379"),
    ]);
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
            vec![("start-master.sh", REDIS_START.into())],
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

// --- ClickHouse ------------------------------------------------------------------

fn clickhouse(ctx: &Ctx) -> Vec<Manifest> {
    let v = &ctx.values.clickhouse;
    let ns = &ctx.release.namespace;
    let keeper_replicas = v.keeper.replica_count.unwrap_or(3).max(1);
    let keeper_name = ctx.name("clickhouse-keeper");
    let keeper_headless = ctx.name("clickhouse-keeper-headless");
    let keeper_host =
        |i: i32| format!("{keeper_name}-{i}.{keeper_headless}.{ns}.svc.cluster.local");
    let part_of = |component: &str| {
        let mut s = selector(ctx, "clickhouse", Some(component));
        s.insert("app.kubernetes.io/part-of".into(), "clickhouse".into());
        s
    };

    // The server: one shard, its replicas.
    let server_sel = part_of("clickhouse");
    let mut shard_sel = server_sel.clone();
    shard_sel.insert("shard".into(), "0".into());
    let shard_name = ctx.name("clickhouse-shard0");
    let headless = ctx.name("clickhouse-headless");
    let mut server = StoreSpec {
        component: "clickhouse",
        name: shard_name.clone(),
        selector: shard_sel.clone(),
        values: &v.base,
        default_registry: "docker.io",
        containers: vec![],
        volumes: vec![
            empty_dir("empty-dir"),
            config_map_volume(
                "configd-configuration",
                &ctx.name("clickhouse-configd"),
                None,
                false,
            ),
            Volume {
                name: "secrets".into(),
                secret: Some(SecretVolumeSource {
                    secret_name: Some(ctx.clickhouse_secret()),
                    default_mode: Some(0o400),
                    items: None,
                    optional: None,
                }),
                ..Default::default()
            },
        ],
        pod_security: pod_security(1001, 1001),
        service_account: Some(ctx.name("clickhouse")),
    };
    let mut c = store_container(
        ctx,
        "clickhouse",
        &server,
        resources("500m", "1Gi", None, "4Gi"),
    );
    c.env = Some(vec![
        literal("BITNAMI_DEBUG", "false"),
        literal("CLICKHOUSE_HTTP_PORT", "8123"),
        literal("CLICKHOUSE_TCP_PORT", "9000"),
        literal("CLICKHOUSE_MYSQL_PORT", "9004"),
        literal("CLICKHOUSE_POSTGRESQL_PORT", "9005"),
        literal("CLICKHOUSE_INTERSERVER_HTTP_PORT", "9009"),
        literal("CLICKHOUSE_SHARD_ID", "shard0"),
        field_ref("CLICKHOUSE_REPLICA_ID", "metadata.name"),
        literal("CLICKHOUSE_ADMIN_USER", "default"),
        literal(
            "CLICKHOUSE_ADMIN_PASSWORD_FILE",
            format!(
                "/opt/bitnami/clickhouse/secrets/{}",
                ctx.values.global.clickhouse.password_secret.password_key
            ),
        ),
    ]);
    c.ports = Some(vec![
        port("http", 8123),
        port("tcp", 9000),
        port("tcp-postgresql", 9005),
        port("tcp-mysql", 9004),
        port("http-intersrv", 9009),
    ]);
    c.liveness_probe = Some(named_tcp_probe("http", 10));
    c.readiness_probe = Some(Probe {
        http_get: Some(HTTPGetAction {
            path: Some("/ping".into()),
            port: IntOrString::String("http".into()),
            ..Default::default()
        }),
        initial_delay_seconds: Some(10),
        period_seconds: Some(10),
        ..Default::default()
    });
    c.volume_mounts = Some(vec![
        mount("data", "/bitnami/clickhouse", None),
        mount(
            "configd-configuration",
            "/bitnami/clickhouse/etc/config.d",
            None,
        ),
        VolumeMount {
            read_only: Some(true),
            ..mount("secrets", "/opt/bitnami/clickhouse/secrets", None)
        },
        mount(
            "empty-dir",
            "/opt/bitnami/clickhouse/etc",
            Some("app-conf-dir"),
        ),
        mount(
            "empty-dir",
            "/opt/bitnami/clickhouse/logs",
            Some("app-logs-dir"),
        ),
        mount(
            "empty-dir",
            "/opt/bitnami/clickhouse/tmp",
            Some("app-tmp-dir"),
        ),
        mount("empty-dir", "/tmp", Some("tmp-dir")),
    ]);
    server.containers = vec![c];

    let zookeeper_nodes: String = (0..keeper_replicas)
        .map(|i| format!("        <node>\n            <host>{}</host>\n            <port>9181</port>\n        </node>\n", keeper_host(i)))
        .collect();
    let configd = [
        (
            "01-listen.xml",
            "<yandex>\n    <listen_host>::</listen_host>\n    <listen_host>0.0.0.0</listen_host>\n    <listen_try>1</listen_try>\n</yandex>\n".to_string(),
        ),
        ("02-logger.xml", "<yandex>\n    <logger>\n        <level>information</level>\n    </logger>\n</yandex>\n".to_string()),
        (
            "03-macros.xml",
            format!(
                "<yandex>\n    <macros>\n        <shard from_env=\"CLICKHOUSE_SHARD_ID\"></shard>\n        <replica from_env=\"CLICKHOUSE_REPLICA_ID\"></replica>\n        <layer>{}</layer>\n    </macros>\n</yandex>\n",
                ctx.name("clickhouse")
            ),
        ),
        ("05-zookeeper.xml", format!("<yandex>\n    <zookeeper>\n{zookeeper_nodes}    </zookeeper>\n</yandex>\n")),
        (
            "08-sampling.xml",
            // System logs grow without bound on a small install.
            ["asynchronous_insert_log", "asynchronous_metric_log", "error_log", "event_log", "latency_log",
             "metric_log", "query_log", "query_metric_log", "query_thread_log", "query_views_log", "part_log",
             "text_log", "trace_log", "opentelemetry_span_log", "processors_profile_log"]
                .iter()
                .fold("<yandex>\n".to_string(), |acc, t| acc + &format!("    <{t} remove=\"1\"/>\n"))
                + "</yandex>\n",
        ),
    ];

    // The keeper: coordination for replicated tables.
    let keeper_sel = part_of("keeper");
    let mut keeper = StoreSpec {
        component: "clickhouse",
        name: keeper_name.clone(),
        selector: keeper_sel.clone(),
        values: &v.keeper,
        default_registry: "docker.io",
        containers: vec![],
        volumes: vec![
            empty_dir("empty-dir"),
            config_map_volume(
                "configd-configuration",
                &ctx.name("clickhouse-keeper-configd"),
                None,
                false,
            ),
        ],
        pod_security: pod_security(1001, 1001),
        service_account: Some(ctx.name("clickhouse")),
    };
    let mut k = store_container(
        ctx,
        "keeper",
        &keeper,
        resources("100m", "256Mi", None, "1Gi"),
    );
    k.env = Some(vec![
        literal("BITNAMI_DEBUG", "false"),
        field_ref("CLICKHOUSE_KEEPER_SERVER_ID", "metadata.name"),
        literal("CLICKHOUSE_KEEPER_TCP_PORT", "9181"),
        literal("CLICKHOUSE_KEEPER_RAFT_PORT", "9234"),
    ]);
    k.ports = Some(vec![port("tcp", 9181), port("raft", 9234)]);
    k.liveness_probe = Some(named_tcp_probe("tcp", 10));
    k.readiness_probe = Some(exec_probe(
        &[
            "bash",
            "-ec",
            "reply=$(exec 3<>/dev/tcp/127.0.0.1/9181; printf ruok >&3; IFS=; tee <&3; exec 3<&-;)\n[[ \"$reply\" == imok ]]\n",
        ],
        10,
    ));
    k.volume_mounts = Some(vec![
        mount("data", "/bitnami/clickhouse-keeper", None),
        mount(
            "configd-configuration",
            "/bitnami/clickhouse-keeper/etc/keeper_config.d",
            None,
        ),
        mount(
            "empty-dir",
            "/opt/bitnami/clickhouse-keeper/etc",
            Some("app-conf-dir"),
        ),
        mount(
            "empty-dir",
            "/opt/bitnami/clickhouse-keeper/logs",
            Some("app-logs-dir"),
        ),
        mount(
            "empty-dir",
            "/opt/bitnami/clickhouse-keeper/tmp",
            Some("app-tmp-dir"),
        ),
        mount("empty-dir", "/tmp", Some("tmp-dir")),
    ]);
    keeper.containers = vec![k];
    let raft: String = (0..keeper_replicas)
        .map(|i| format!("            <server>\n                <id>{i}</id>\n                <hostname>{}</hostname>\n                <port>9234</port>\n            </server>\n", keeper_host(i)))
        .collect();

    let server_ports = vec![
        service_port("http", 8123, "http"),
        service_port("tcp", 9000, "tcp"),
        service_port("tcp-mysql", 9004, "tcp-mysql"),
        service_port("tcp-postgresql", 9005, "tcp-postgresql"),
        service_port("http-intersrv", 9009, "http-intersrv"),
    ];
    let keeper_ports = vec![
        service_port("tcp", 9181, "tcp"),
        service_port("tcp-raft", 9234, "raft"),
    ];
    let mut out = vec![
        config_map(
            ctx,
            "clickhouse",
            "clickhouse-configd",
            configd.iter().map(|(k, v)| (*k, v.clone())).collect(),
        ),
        config_map(
            ctx,
            "clickhouse",
            "clickhouse-keeper-configd",
            vec![(
                "raft_configuration.xml",
                format!(
                    "<clickhouse>\n    <keeper_server>\n        <raft_configuration>\n{raft}        </raft_configuration>\n    </keeper_server>\n</clickhouse>\n"
                ),
            )],
        ),
    ];
    out.extend(manifests(
        "clickhouse",
        vec![
            service_account(ctx, "clickhouse", &ctx.name("clickhouse")),
            service(
                ctx,
                "clickhouse",
                &ctx.name("clickhouse"),
                &server_sel,
                server_ports.clone(),
                false,
            ),
            service(
                ctx,
                "clickhouse",
                &headless,
                &server_sel,
                server_ports,
                true,
            ),
            service(
                ctx,
                "clickhouse",
                &keeper_name,
                &keeper_sel,
                keeper_ports.clone(),
                false,
            ),
            service(
                ctx,
                "clickhouse",
                &keeper_headless,
                &keeper_sel,
                keeper_ports,
                true,
            ),
            pdb(ctx, "clickhouse", &shard_name, &shard_sel),
            pdb(ctx, "clickhouse", &keeper_name, &keeper_sel),
            stateful_set(
                ctx,
                &server,
                1,
                &headless,
                vec![claim_template(ctx, "data", &v.base, "30Gi", &shard_sel)],
            ),
            stateful_set(
                ctx,
                &keeper,
                keeper_replicas,
                &keeper_headless,
                vec![claim_template(ctx, "data", &v.keeper, "8Gi", &keeper_sel)],
            ),
        ],
    ));
    out.extend(network_policy(
        ctx,
        "clickhouse",
        &ctx.name("clickhouse"),
        &server_sel,
        &[8123, 9000, 9004, 9005, 9009],
    ));
    out.extend(network_policy(
        ctx,
        "clickhouse",
        &keeper_name,
        &keeper_sel,
        &[9181, 9234],
    ));
    out
}

// --- Kafka -------------------------------------------------------------------------

fn kafka(ctx: &Ctx) -> Vec<Manifest> {
    let v = &ctx.values.kafka;
    let name = ctx.name("kafka");
    let controller = ctx.name("kafka-controller");
    let headless = ctx.name("kafka-controller-headless");
    let sel = selector(ctx, "kafka", Some("controller-eligible"));
    let ns = &ctx.release.namespace;
    let mut spec = StoreSpec {
        component: "kafka",
        name: controller.clone(),
        selector: sel.clone(),
        values: &v.base,
        default_registry: "docker.io",
        containers: vec![],
        volumes: vec![empty_dir("empty-dir")],
        pod_security: pod_security(1001, 1001),
        service_account: None,
    };
    let mut c = store_container(ctx, "kafka", &spec, resources("250m", "1Gi", None, "2Gi"));
    // One node in KRaft mode, both controller and broker; clients log in
    // with SASL PLAIN as the W&B services' connection strings expect.
    c.env = Some(vec![
        literal("BITNAMI_DEBUG", "false"),
        literal("KAFKA_CFG_NODE_ID", "0"),
        literal("KAFKA_CFG_PROCESS_ROLES", "controller,broker"),
        literal(
            "KAFKA_CFG_CONTROLLER_QUORUM_VOTERS",
            format!("0@{controller}-0.{headless}.{ns}.svc.cluster.local:9093"),
        ),
        literal("KAFKA_CFG_LISTENERS", "CLIENT://:9092,CONTROLLER://:9093"),
        literal(
            "KAFKA_CFG_ADVERTISED_LISTENERS",
            format!("CLIENT://{name}.{ns}.svc.cluster.local:9092"),
        ),
        literal(
            "KAFKA_CFG_LISTENER_SECURITY_PROTOCOL_MAP",
            "CLIENT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT",
        ),
        literal("KAFKA_CFG_CONTROLLER_LISTENER_NAMES", "CONTROLLER"),
        literal("KAFKA_CFG_INTER_BROKER_LISTENER_NAME", "CLIENT"),
        literal("KAFKA_CFG_SASL_MECHANISM_INTER_BROKER_PROTOCOL", "PLAIN"),
        literal("KAFKA_CFG_SASL_ENABLED_MECHANISMS", "PLAIN"),
        literal("KAFKA_CLIENT_USERS", ctx.values.global.kafka.user.clone()),
        secret_ref(
            "KAFKA_CLIENT_PASSWORDS",
            &ctx.kafka_secret(),
            &ctx.kafka_secret_key(),
            false,
        ),
        literal(
            "KAFKA_INTER_BROKER_USER",
            ctx.values.global.kafka.user.clone(),
        ),
        secret_ref(
            "KAFKA_INTER_BROKER_PASSWORD",
            &ctx.kafka_secret(),
            &ctx.kafka_secret_key(),
            false,
        ),
        literal("KAFKA_KRAFT_CLUSTER_ID", "ffFF1H3AQKGdBnsqAbJKew"),
        literal("KAFKA_CFG_AUTO_CREATE_TOPICS_ENABLE", "true"),
        literal("KAFKA_CFG_OFFSETS_TOPIC_REPLICATION_FACTOR", "1"),
        literal("KAFKA_CFG_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "1"),
        literal("KAFKA_CFG_TRANSACTION_STATE_LOG_MIN_ISR", "1"),
    ]);
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
    let mut out = manifests(
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
                vec![claim_template(ctx, "data", &v.base, "30Gi", &sel)],
            ),
        ],
    );
    out.extend(network_policy(ctx, "kafka", &name, &all, &[9092, 9093]));
    out
}

// --- bufstream + etcd ----------------------------------------------------------------

fn bufstream(ctx: &Ctx) -> Vec<Manifest> {
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

// --- object store --------------------------------------------------------------------

fn object_store(ctx: &Ctx) -> Vec<Manifest> {
    let v = &ctx.values.object_store;
    let name = ctx.name("minio");
    let sel = selector(ctx, "minio", None);
    let b = ctx.bucket();
    let credentials = [
        secret_ref("MINIO_ROOT_USER", &b.secret_name, &b.access_key_name, false),
        secret_ref(
            "MINIO_ROOT_PASSWORD",
            &b.secret_name,
            &b.secret_key_name,
            false,
        ),
    ];
    let mut spec = StoreSpec {
        component: "objectStore",
        name: name.clone(),
        selector: sel.clone(),
        values: v,
        default_registry: "quay.io",
        containers: vec![],
        volumes: vec![],
        pod_security: pod_security(1000, 1000),
        service_account: None,
    };
    let mut c = store_container(ctx, "minio", &spec, resources("250m", "512Mi", None, "2Gi"));
    c.args = Some(vec![
        "server".into(),
        "/data".into(),
        "--address".into(),
        format!(":{OBJECT_STORE_PORT}"),
        "--console-address".into(),
        ":9001".into(),
    ]);
    c.env = Some(credentials.to_vec());
    c.ports = Some(vec![port("s3", OBJECT_STORE_PORT), port("console", 9001)]);
    let health = |path: &str| Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.into()),
            port: IntOrString::Int(OBJECT_STORE_PORT),
            ..Default::default()
        }),
        period_seconds: Some(10),
        ..Default::default()
    };
    c.liveness_probe = Some(health("/minio/health/live"));
    c.readiness_probe = Some(health("/minio/health/ready"));
    c.volume_mounts = Some(vec![mount("data", "/data", None)]);
    spec.containers = vec![c];

    // Creates the bucket once the server answers; idempotent.
    let endpoint = format!("http://{name}:{OBJECT_STORE_PORT}");
    let mc = Image {
        repository: "minio/mc".into(),
        tag: "RELEASE.2025-04-16T18-13-26Z".into(),
        ..Default::default()
    };
    let mut job_container = Container {
        name: "make-bucket".into(),
        image: Some(ctx.store_image(&mc, "quay.io")),
        image_pull_policy: Some("IfNotPresent".into()),
        command: Some(vec!["sh".into(), "-ec".into()]),
        args: Some(vec![format!(
            "until mc alias set local {endpoint} \"$MINIO_ROOT_USER\" \"$MINIO_ROOT_PASSWORD\"; do sleep 2; done\n\
             mc mb --ignore-existing local/{OBJECT_STORE_BUCKET}\n"
        )]),
        env: Some(credentials.to_vec()),
        security_context: Some(container_security_context()),
        resources: Some(resources("50m", "64Mi", None, "256Mi")),
        ..Default::default()
    };
    job_container
        .env
        .get_or_insert_with(Vec::new)
        .push(literal("MC_CONFIG_DIR", "/tmp/.mc"));
    job_container.volume_mounts = Some(vec![mount("tmp", "/tmp", None)]);
    let job_spec = StoreSpec {
        containers: vec![job_container],
        volumes: vec![empty_dir("tmp")],
        service_account: None,
        selector: selector(ctx, "minio", Some("make-bucket")),
        ..spec.clone_shallow()
    };
    let mut template = pod_template(ctx, &job_spec);
    if let Some(s) = template.spec.as_mut() {
        s.restart_policy = Some("OnFailure".into());
    }
    let job = Object::Job(Job {
        metadata: meta(
            ctx,
            &ctx.name("minio-make-bucket"),
            "objectStore",
            &BTreeMap::new(),
        ),
        spec: Some(JobSpec {
            backoff_limit: Some(20),
            template,
            ..Default::default()
        }),
        status: None,
    });
    let mut out = manifests(
        "objectStore",
        vec![
            service(
                ctx,
                "objectStore",
                &name,
                &sel,
                vec![service_port("s3", OBJECT_STORE_PORT, "s3")],
                false,
            ),
            stateful_set(
                ctx,
                &spec,
                1,
                &name,
                vec![claim_template(ctx, "data", v, "50Gi", &sel)],
            ),
            job,
        ],
    );
    out.extend(network_policy(
        ctx,
        "objectStore",
        &name,
        &sel,
        &[OBJECT_STORE_PORT],
    ));
    out
}

impl<'a> StoreSpec<'a> {
    /// The same store with no pods of its own, to build a helper pod from.
    fn clone_shallow(&self) -> StoreSpec<'a> {
        StoreSpec {
            component: self.component,
            name: self.name.clone(),
            selector: self.selector.clone(),
            values: self.values,
            default_registry: self.default_registry,
            containers: vec![],
            volumes: vec![],
            pod_security: self.pod_security.clone(),
            service_account: self.service_account.clone(),
        }
    }
}

// --- otel collector ---------------------------------------------------------------------

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

fn otel(ctx: &Ctx) -> Vec<Manifest> {
    let v = &ctx.values.otel.daemonset;
    let name = ctx.name("otel-daemonset");
    let sel = selector(ctx, "otel-daemonset", None);
    let store = Store {
        image: v.image.clone(),
        resources: v.resources.clone(),
        node_selector: v.node_selector.clone(),
        tolerations: v.tolerations.clone(),
        ..Default::default()
    };
    let mut spec = StoreSpec {
        component: "otel",
        name: name.clone(),
        selector: sel.clone(),
        values: &store,
        default_registry: "",
        containers: vec![],
        volumes: vec![Volume {
            name: "config".into(),
            config_map: Some(ConfigMapVolumeSource {
                name: name.clone(),
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
        service_account: Some(name.clone()),
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
    let mut cluster_meta = meta(ctx, &name, "otel", &BTreeMap::new());
    cluster_meta.namespace = None;
    let mut out = vec![config_map(
        ctx,
        "otel",
        "otel-daemonset",
        vec![("config", otel_config())],
    )];
    out.extend(manifests(
        "otel",
        vec![
            service_account(ctx, "otel", &name),
            // Read-only pod metadata, to label the metrics it collects.
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
                    name: name.clone(),
                },
                subjects: Some(vec![Subject {
                    kind: "ServiceAccount".into(),
                    name: name.clone(),
                    namespace: Some(ctx.release.namespace.clone()),
                    api_group: None,
                }]),
            }),
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
        ],
    ));
    out
}

// --- Prometheus exporters ---------------------------------------------------------------------

fn exporters(ctx: &Ctx) -> Vec<Manifest> {
    let p = &ctx.values.prometheus;
    let mut out = Vec::new();
    if p.mysql_exporter.install {
        let mut env = env::group(
            ctx,
            crate::catalog::EnvGroup::MysqlConfig,
            &Default::default(),
        );
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
    let store = Store {
        image,
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
            Object::Deployment(Deployment {
                metadata: meta(ctx, &name, "prometheus", &sel),
                spec: Some(DeploymentSpec {
                    replicas: Some(1),
                    selector: LabelSelector {
                        match_labels: Some(sel),
                        match_expressions: None,
                    },
                    template: pod_template(ctx, &spec),
                    ..Default::default()
                }),
                status: None,
            }),
        ],
    )
}
