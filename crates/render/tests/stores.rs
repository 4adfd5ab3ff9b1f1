//! The in-cluster stores take upstream's keys: scheduling, environment,
//! claims, auth, and bufstream + etcd as upstream renders them.

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, Container, PodSpec};
use wandb_render::builtin::load;
use wandb_render::builtin::render;
use wandb_render::{Manifest, Object, Release};
use wandb_values::Source;

use wandb_values::NoFiles;

fn render_yaml(yaml: &str) -> Vec<Manifest> {
    let source = Source::Inline {
        name: "test.yaml".into(),
        yaml: yaml.into(),
    };
    let values = load(&[source], &mut NoFiles)
        .unwrap_or_else(|e| panic!("{e:?}"))
        .values;
    render(&values, &Release::new("wandb", "default"))
}

fn find<'a>(ms: &'a [Manifest], kind: &str, name: &str) -> Option<&'a Object> {
    ms.iter()
        .map(|m| &m.object)
        .find(|o| o.kind() == kind && o.name() == name)
}

fn sts<'a>(ms: &'a [Manifest], name: &str) -> &'a StatefulSet {
    match find(ms, "StatefulSet", name) {
        Some(Object::StatefulSet(s)) => s,
        _ => panic!("no StatefulSet/{name}"),
    }
}

fn pod<'a>(ms: &'a [Manifest], name: &str) -> &'a PodSpec {
    let spec = sts(ms, name)
        .spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref());
    spec.unwrap_or_else(|| panic!("StatefulSet/{name} has no pod"))
}

fn main_container<'a>(ms: &'a [Manifest], name: &str) -> &'a Container {
    &pod(ms, name).containers[0]
}

fn env<'a>(c: &'a Container, name: &str) -> Option<&'a k8s_openapi::api::core::v1::EnvVar> {
    c.env.iter().flatten().find(|e| e.name == name)
}

fn env_value(c: &Container, name: &str) -> Option<String> {
    env(c, name).and_then(|e| e.value.clone())
}

const BUFSTREAM: &str = "global:\n  imageRegistry: mirror.example.com\n  bufstream:\n    enabled: true\nbufstream:\n  install: true\n";

fn bufstream_config(ms: &[Manifest]) -> serde_json::Value {
    let Some(Object::ConfigMap(ConfigMap { data: Some(d), .. })) =
        find(ms, "ConfigMap", "bufstream-config")
    else {
        panic!("no ConfigMap/bufstream-config");
    };
    serde_saphyr::from_str(&d["config.yaml"]).expect("config.yaml is YAML")
}

#[test]
fn bufstream_is_rendered_under_upstreams_names() {
    let ms = render_yaml(BUFSTREAM);
    for (kind, name) in [
        ("StatefulSet", "bufstream"),
        ("Service", "bufstream"),
        ("ConfigMap", "bufstream-config"),
        ("ServiceAccount", "bufstream-service-account"),
        ("StatefulSet", "wandb-etcd"),
        ("Service", "wandb-etcd-headless"),
        ("ServiceAccount", "wandb-etcd"),
        ("PodDisruptionBudget", "wandb-etcd"),
    ] {
        assert!(find(&ms, kind, name).is_some(), "{kind}/{name} missing");
    }
    assert!(find(&ms, "Deployment", "bufstream").is_none());
    // The mirror (global.imageRegistry) takes the place of bufstream's registry.
    assert_eq!(
        main_container(&ms, "bufstream").image.as_deref(),
        Some("mirror.example.com/buf-images-1/bufstream-public/images/bufstream:0.3.5")
    );
    let unmirrored = render_yaml(&BUFSTREAM.replace("  imageRegistry: mirror.example.com\n", ""));
    assert_eq!(
        main_container(&unmirrored, "bufstream").image.as_deref(),
        Some("us-docker.pkg.dev/buf-images-1/bufstream-public/images/bufstream:0.3.5")
    );
    assert_eq!(
        pod(&ms, "bufstream").service_account_name.as_deref(),
        Some("bufstream-service-account")
    );
}

#[test]
fn bufstream_config_follows_the_bucket_and_the_in_cluster_etcd() {
    let yaml = "global:\n  bufstream:\n    enabled: true\n  bucket:\n    provider: s3\n    name: minio:9000/bucket\n    \
         region: eu-west-1\n    accessKey: ak\n    secretKey: sk\nbufstream:\n  install: true\n  zone: us-east-1a\n  \
         kafka:\n    numPartitions: 4\n";
    let ms = render_yaml(yaml);
    let c = bufstream_config(&ms);
    assert_eq!(c["zone"], "us-east-1a");
    assert_eq!(c["cluster"], "bufstream");
    assert_eq!(c["storage"]["provider"], "S3");
    assert_eq!(c["storage"]["bucket"], "bucket");
    assert_eq!(c["storage"]["endpoint"], "http://minio:9000");
    assert_eq!(c["storage"]["region"], "eu-west-1");
    assert_eq!(c["storage"]["access_key_id"]["string"], "ak");
    assert_eq!(
        c["etcd"]["addresses"][0]["host"],
        "wandb-etcd.default.svc.cluster.local"
    );
    assert_eq!(c["kafka"]["num_partitions"], 4);
    assert_eq!(
        c["kafka"]["public_address"]["host"],
        "bufstream.default.svc.cluster.local"
    );
    // The secret access key is read from the bucket Secret.
    let volumes = pod(&ms, "bufstream").volumes.clone().unwrap_or_default();
    let storage = volumes.iter().find(|v| v.name == "storage");
    let secret = storage.and_then(|v| v.secret.as_ref());
    assert_eq!(
        secret.and_then(|s| s.secret_name.as_deref()),
        Some("wandb-bucket")
    );
}

#[test]
fn bufstream_keys_reach_the_config_and_the_brokers() {
    let ms = render_yaml(&format!(
        "{BUFSTREAM}  storage:\n    s3:\n      prefix: queue/\n  observability:\n    logLevel: DEBUG\n  \
         configOverrides:\n    kafka:\n      idle_timeout: 30s\n  bufstream:\n    deployment:\n      \
         replicaCount: 1\n      resources:\n        requests:\n          cpu: \"2\"\n      \
         extraEnv:\n        - name: EXTRA\n          value: \"yes\"\n"
    ));
    let c = bufstream_config(&ms);
    assert_eq!(c["storage"]["prefix"], "queue/");
    assert_eq!(c["observability"]["log_level"], "DEBUG");
    assert_eq!(c["kafka"]["idle_timeout"], "30s");
    assert_eq!(c["kafka"]["fetch_eager"], true, "overrides keep the rest");
    let s = sts(&ms, "bufstream").spec.as_ref().expect("spec");
    assert_eq!(s.replicas, Some(1));
    let broker = main_container(&ms, "bufstream");
    let requests = broker.resources.as_ref().and_then(|r| r.requests.clone());
    assert_eq!(requests.expect("requests")["cpu"].0, "2");
    assert_eq!(env_value(broker, "EXTRA").as_deref(), Some("yes"));
}

#[test]
fn etcd_runs_as_upstreams_bitnami_etcd() {
    let ms = render_yaml(BUFSTREAM);
    let c = main_container(&ms, "wandb-etcd");
    assert_eq!(env_value(c, "ETCD_ON_K8S").as_deref(), Some("yes"));
    assert_eq!(
        env_value(c, "ETCD_CLUSTER_DOMAIN").as_deref(),
        Some("wandb-etcd-headless.default.svc.cluster.local")
    );
    assert_eq!(
        env_value(c, "ETCD_LISTEN_CLIENT_HTTP_URLS").as_deref(),
        Some("http://0.0.0.0:8080"),
        "upstream's extraEnvVars are defaults"
    );
    assert_eq!(
        pod(&ms, "wandb-etcd").automount_service_account_token,
        Some(false)
    );
    let mut names: Vec<&str> = c.env.iter().flatten().map(|e| e.name.as_str()).collect();
    let count = names.len();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), count, "each variable once");
}

#[test]
fn store_scheduling_keys_win_over_global_ones() {
    let ms = render_yaml(
        "global:\n  priorityClassName: global-pc\n  nodeSelector:\n    pool: global\n\
         mysql:\n  priorityClassName: mysql-pc\nredis:\n  master:\n    nodeSelector:\n      pool: redis\n",
    );
    assert_eq!(
        pod(&ms, "wandb-mysql").priority_class_name.as_deref(),
        Some("mysql-pc")
    );
    let redis = pod(&ms, "wandb-redis-master");
    assert_eq!(redis.priority_class_name.as_deref(), Some("global-pc"));
    assert_eq!(
        redis.node_selector.as_ref().map(|n| n["pool"].as_str()),
        Some("redis")
    );
    let mysql = pod(&ms, "wandb-mysql");
    assert_eq!(
        mysql.node_selector.as_ref().map(|n| n["pool"].as_str()),
        Some("global")
    );
}

#[test]
fn stores_take_extra_env_and_pod_labels() {
    let ms = render_yaml(
        "global:\n  extraEnv:\n    FROM_GLOBAL: g\nmysql:\n  extraEnv:\n    MYSQL_EXTRA: m\n  podLabels:\n    team: data\n\
         clickhouse:\n  extraEnvVars:\n    - name: CH_EXTRA\n      value: c\n",
    );
    let mysql = main_container(&ms, "wandb-mysql");
    assert_eq!(env_value(mysql, "MYSQL_EXTRA").as_deref(), Some("m"));
    assert_eq!(env_value(mysql, "FROM_GLOBAL").as_deref(), Some("g"));
    let ch = main_container(&ms, "wandb-clickhouse-shard0");
    assert_eq!(env_value(ch, "CH_EXTRA").as_deref(), Some("c"));
    let labels = sts(&ms, "wandb-mysql")
        .spec
        .as_ref()
        .and_then(|s| s.template.metadata.as_ref())
        .and_then(|m| m.labels.clone())
        .unwrap_or_default();
    assert_eq!(labels.get("team").map(String::as_str), Some("data"));
}

#[test]
fn an_existing_claim_replaces_the_stores_own() {
    let ms = render_yaml(
        "mysql:\n  persistence:\n    existingClaim: my-mysql\nredis:\n  master:\n    persistence:\n      existingClaim: my-redis\n",
    );
    assert!(find(&ms, "PersistentVolumeClaim", "wandb-mysql-data").is_none());
    let claim = |pod: &PodSpec, volume: &str| {
        pod.volumes
            .iter()
            .flatten()
            .find(|v| v.name == volume)
            .and_then(|v| v.persistent_volume_claim.as_ref())
            .map(|c| c.claim_name.clone())
    };
    assert_eq!(
        claim(pod(&ms, "wandb-mysql"), "data").as_deref(),
        Some("my-mysql")
    );
    assert_eq!(
        claim(pod(&ms, "wandb-redis-master"), "redis-data").as_deref(),
        Some("my-redis")
    );
    let redis = sts(&ms, "wandb-redis-master").spec.as_ref().expect("spec");
    assert!(redis.volume_claim_templates.is_none());
}

#[test]
fn redis_auth_requires_the_password_of_the_redis_secret() {
    let ms = render_yaml("redis:\n  auth:\n    enabled: true\n");
    let c = main_container(&ms, "wandb-redis-master");
    assert_eq!(env_value(c, "ALLOW_EMPTY_PASSWORD").as_deref(), Some("no"));
    let from = env(c, "REDIS_PASSWORD")
        .and_then(|e| e.value_from.as_ref())
        .and_then(|f| f.secret_key_ref.as_ref())
        .map(|s| (s.name.as_str(), s.key.as_str()));
    assert_eq!(from, Some(("wandb-redis-secret", "REDIS_PASSWORD")));
    let open = render_yaml("");
    let c = main_container(&open, "wandb-redis-master");
    assert_eq!(env_value(c, "ALLOW_EMPTY_PASSWORD").as_deref(), Some("yes"));
    assert!(env(c, "REDIS_PASSWORD").is_none());
}

#[test]
fn store_images_take_a_registry_and_kafka_its_cluster_id() {
    let ms = render_yaml(
        "redis:\n  image:\n    registry: mirror.example.com\nkafka:\n  kraft:\n    clusterId: my-cluster-id\n",
    );
    let image = main_container(&ms, "wandb-redis-master").image.clone();
    assert!(
        image
            .as_deref()
            .is_some_and(|i| i.starts_with("mirror.example.com/bitnamilegacy/redis:")),
        "{image:?}"
    );
    // Read from a Secret of its own, as Bitnami's chart does.
    let kafka = main_container(&ms, "wandb-kafka-controller");
    let from = env(kafka, "KAFKA_KRAFT_CLUSTER_ID")
        .and_then(|e| e.value_from.as_ref())
        .and_then(|f| f.secret_key_ref.as_ref())
        .map(|s| (s.name.as_str(), s.key.as_str()));
    assert_eq!(
        from,
        Some(("wandb-kafka-kraft-cluster-id", "kraft-cluster-id"))
    );
    let Some(Object::Secret(secret)) = find(&ms, "Secret", "wandb-kafka-kraft-cluster-id") else {
        panic!("no Secret/wandb-kafka-kraft-cluster-id");
    };
    let data = secret.data.clone().unwrap_or_default();
    assert_eq!(data["kraft-cluster-id"].0, b"my-cluster-id");
}

#[test]
fn clickhouse_shards_and_replicas_form_one_cluster() {
    let single = render_yaml("");
    assert!(find(&single, "StatefulSet", "wandb-clickhouse-shard1").is_none());
    let ms = render_yaml("clickhouse:\n  shards: 2\n  replicaCount: 2\n");
    for shard in ["wandb-clickhouse-shard0", "wandb-clickhouse-shard1"] {
        assert!(find(&ms, "PodDisruptionBudget", shard).is_some(), "{shard}");
        assert_eq!(
            sts(&ms, shard).spec.as_ref().and_then(|s| s.replicas),
            Some(2)
        );
    }
    let c = main_container(&ms, "wandb-clickhouse-shard1");
    assert_eq!(
        env_value(c, "CLICKHOUSE_SHARD_ID").as_deref(),
        Some("shard1")
    );
    assert!(env(c, "CLICKHOUSE_ADMIN_PASSWORD").is_some());
    let Some(Object::ConfigMap(ConfigMap { data: Some(d), .. })) =
        find(&ms, "ConfigMap", "wandb-clickhouse-configd")
    else {
        panic!("no configd");
    };
    let cluster = &d["04-cluster.xml"];
    assert!(cluster.contains(
        "<host>wandb-clickhouse-shard1-1.wandb-clickhouse-headless.default.svc.cluster.local</host>"
    ));
    assert_eq!(cluster.matches("<shard>").count(), 2);
}

#[test]
fn a_store_without_persistence_keeps_its_data_in_the_pod() {
    let ms = render_yaml("clickhouse:\n  persistence:\n    enabled: false\n");
    let s = sts(&ms, "wandb-clickhouse-shard0")
        .spec
        .as_ref()
        .expect("spec");
    assert!(s.volume_claim_templates.is_none());
    assert!(s.persistent_volume_claim_retention_policy.is_none());
    let data = pod(&ms, "wandb-clickhouse-shard0")
        .volumes
        .iter()
        .flatten()
        .find(|v| v.name == "data");
    assert!(data.is_some_and(|v| v.empty_dir.is_some()));
    let keeper = sts(&ms, "wandb-clickhouse-keeper")
        .spec
        .as_ref()
        .expect("spec");
    let policy = keeper.persistent_volume_claim_retention_policy.as_ref();
    assert_eq!(
        policy.and_then(|p| p.when_deleted.as_deref()),
        Some("Retain")
    );
}
