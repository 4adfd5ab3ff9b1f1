//! ClickHouse: `clickhouse.shards` StatefulSets of `replicaCount` servers, and
//! the keeper that coordinates their replicated tables.

use k8s_openapi::api::core::v1::{HTTPGetAction, Probe, SecretVolumeSource, Volume, VolumeMount};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use wandb_values::Store;

use crate::config::config_map;
use crate::context::Ctx;
use crate::k8s::{config_map_volume, empty_dir, mount};
use crate::objects::{Labels, Manifest};

use super::common::{
    StoreSpec, claim_template, exec_probe, manifests, named_tcp_probe, network_policy, pdb,
    pod_security, port, resources, selector, service, service_account, service_port, stateful_set,
    store_container,
};

/// The selector of one part (server or keeper) of the ClickHouse install.
fn part_of(ctx: &Ctx, component: &str) -> Labels {
    let mut s = selector(ctx, "clickhouse", Some(component));
    s.insert("app.kubernetes.io/part-of".into(), "clickhouse".into());
    s
}

/// The DNS names of the keeper's pods.
fn keeper_hosts(ctx: &Ctx, replicas: i32) -> Vec<String> {
    let name = ctx.name("clickhouse-keeper");
    let headless = ctx.name("clickhouse-keeper-headless");
    let ns = &ctx.release.namespace;
    (0..replicas)
        .map(|i| format!("{name}-{i}.{headless}.{ns}.svc.cluster.local"))
        .collect()
}

/// A pod of ClickHouse's, server or keeper: Bitnami's image and user, the
/// `clickhouse` service account, its configuration directory.
fn clickhouse_pod<'a>(
    ctx: &Ctx<'a>,
    name: &str,
    selector: &Labels,
    values: &'a Store,
    configd: &str,
) -> StoreSpec<'a> {
    StoreSpec {
        component: "clickhouse",
        name: name.into(),
        selector: selector.clone(),
        values,
        default_registry: "docker.io",
        containers: vec![],
        volumes: vec![
            empty_dir("empty-dir"),
            config_map_volume("configd-configuration", &ctx.name(configd), None, false),
        ],
        pod_security: pod_security(1001, 1001),
        service_account: Some(ctx.name("clickhouse")),
        api_access: false,
    }
}

/// The servers of one shard.
fn server<'a>(ctx: &Ctx<'a>, shard: i32, name: &str, selector: &Labels) -> StoreSpec<'a> {
    let v = &ctx.values.clickhouse;
    let mut server = clickhouse_pod(ctx, name, selector, &v.base, "clickhouse-configd");
    server.volumes.push(Volume {
        name: "secrets".into(),
        secret: Some(SecretVolumeSource {
            secret_name: Some(ctx.clickhouse_secret()),
            default_mode: Some(0o400),
            items: None,
            optional: None,
        }),
        ..Default::default()
    });
    let mut c = store_container(
        ctx,
        "clickhouse",
        &server,
        resources("500m", "1Gi", None, "4Gi"),
    );
    c.env = Some(ctx.store_env("clickhouse", shard as usize));
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
    server
}

fn shards(ctx: &Ctx) -> i32 {
    ctx.values.clickhouse.shards.unwrap_or(1).max(1)
}

/// The servers of each shard, when there is more than one server.
/// Whether ClickHouse runs more than one server.
pub fn clustered(ctx: &Ctx) -> bool {
    !cluster_hosts(ctx).is_empty()
}

fn cluster_hosts(ctx: &Ctx) -> Vec<Vec<String>> {
    let replicas = ctx.values.clickhouse.base.replica_count.unwrap_or(1).max(1);
    if shards(ctx) == 1 && replicas == 1 {
        return vec![];
    }
    let headless = ctx.name("clickhouse-headless");
    let ns = &ctx.release.namespace;
    (0..shards(ctx))
        .map(|s| {
            let shard = ctx.name(&format!("clickhouse-shard{s}"));
            (0..replicas)
                .map(|r| format!("{shard}-{r}.{headless}.{ns}.svc.cluster.local"))
                .collect()
        })
        .collect()
}

/// `04-cluster.xml`: the `default` cluster of every shard's servers.
fn cluster_file(shards: &[Vec<String>]) -> String {
    let replica = |h: &String| {
        format!(
            "                <replica>\n                    <host>{h}</host>\n                    <port>9000</port>\n                    \
         <user from_env=\"CLICKHOUSE_ADMIN_USER\"></user>\n                    \
         <password from_env=\"CLICKHOUSE_ADMIN_PASSWORD\"></password>\n                </replica>\n"
        )
    };
    let body: String = shards
        .iter()
        .map(|hosts| {
            let replicas: String = hosts.iter().map(replica).collect();
            format!("            <shard>\n{replicas}            </shard>\n")
        })
        .collect();
    format!(
        "<yandex>\n    <remote_servers>\n        <default>\n{body}        </default>\n    </remote_servers>\n</yandex>\n"
    )
}

/// The server's config.d files.
fn configd(ctx: &Ctx, keeper_hosts: &[String]) -> Vec<(&'static str, String)> {
    let zookeeper_nodes: String = keeper_hosts
        .iter()
        .map(|h| format!("        <node>\n            <host>{h}</host>\n            <port>9181</port>\n        </node>\n"))
        .collect();
    let mut files = vec![
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
    let cluster = cluster_hosts(ctx);
    if !cluster.is_empty() {
        files.insert(3, ("04-cluster.xml", cluster_file(&cluster)));
    }
    files
}

/// The keeper: coordination for replicated tables.
fn keeper<'a>(ctx: &Ctx<'a>, name: &str, selector: &Labels) -> StoreSpec<'a> {
    let v = &ctx.values.clickhouse;
    let mut keeper = clickhouse_pod(ctx, name, selector, &v.keeper, "clickhouse-keeper-configd");
    let mut k = store_container(
        ctx,
        "keeper",
        &keeper,
        resources("100m", "256Mi", None, "1Gi"),
    );
    k.env = Some(ctx.store_env("clickhouseKeeper", 0));
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
    keeper
}

/// The keeper's raft configuration: every keeper pod is a voter.
fn raft_configuration(keeper_hosts: &[String]) -> String {
    let raft: String = keeper_hosts
        .iter()
        .enumerate()
        .map(|(i, h)| format!("            <server>\n                <id>{i}</id>\n                <hostname>{h}</hostname>\n                <port>9234</port>\n            </server>\n"))
        .collect();
    format!(
        "<clickhouse>\n    <keeper_server>\n        <raft_configuration>\n{raft}        </raft_configuration>\n    </keeper_server>\n</clickhouse>\n"
    )
}

pub(super) fn build(ctx: &Ctx) -> Vec<Manifest> {
    let v = &ctx.values.clickhouse;
    let keeper_replicas = v.keeper.replica_count.unwrap_or(3).max(1);
    let hosts = keeper_hosts(ctx, keeper_replicas);
    let keeper_name = ctx.name("clickhouse-keeper");
    let keeper_headless = ctx.name("clickhouse-keeper-headless");
    let server_sel = part_of(ctx, "clickhouse");
    let headless = ctx.name("clickhouse-headless");
    let keeper_sel = part_of(ctx, "keeper");
    let keeper = keeper(ctx, &keeper_name, &keeper_sel);
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
            configd(ctx, &hosts),
        ),
        config_map(
            ctx,
            "clickhouse",
            "clickhouse-keeper-configd",
            vec![("raft_configuration.xml", raft_configuration(&hosts))],
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
            pdb(ctx, "clickhouse", &keeper_name, &keeper_sel),
            stateful_set(
                ctx,
                &keeper,
                keeper_replicas,
                &keeper_headless,
                vec![claim_template(ctx, "data", &v.keeper, "8Gi", &keeper_sel)],
            ),
        ],
    ));
    for shard in 0..shards(ctx) {
        let name = ctx.name(&format!("clickhouse-shard{shard}"));
        let mut sel = server_sel.clone();
        sel.insert("shard".into(), shard.to_string());
        let server = server(ctx, shard, &name, &sel);
        out.extend(manifests(
            "clickhouse",
            vec![
                pdb(ctx, "clickhouse", &name, &sel),
                stateful_set(
                    ctx,
                    &server,
                    1,
                    &headless,
                    vec![claim_template(ctx, "data", &v.base, "30Gi", &sel)],
                ),
            ],
        ));
    }
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
