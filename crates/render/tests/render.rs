//! The render as a whole: snapshots of the README examples, determinism,
//! the store rules, sizing precedence and the restricted pod profile.

use proptest::prelude::*;
use wandb_render::builtin::load;
use wandb_render::builtin::{render, render_yaml};
use wandb_render::{Manifest, Object, Release};
use wandb_values::{SetKind, Source};

use wandb_values::NoFiles;

fn values(sets: &[&str]) -> wandb_values::Values {
    let sources: Vec<Source> = sets
        .iter()
        .map(|s| Source::Set(SetKind::Typed, s.to_string()))
        .collect();
    load(&sources, &mut NoFiles)
        .unwrap_or_else(|e| panic!("{e:?}"))
        .values
}

fn yaml_values(yaml: &str) -> wandb_values::Values {
    let source = Source::Inline {
        name: "test.yaml".into(),
        yaml: yaml.into(),
    };
    load(&[source], &mut NoFiles)
        .unwrap_or_else(|e| panic!("{e:?}"))
        .values
}

fn release() -> Release {
    Release::new("wandb", "default")
}

fn find<'a>(ms: &'a [Manifest], kind: &str, name: &str) -> Option<&'a Object> {
    ms.iter()
        .map(|m| &m.object)
        .find(|o| o.kind() == kind && o.name() == name)
}

const MINIMAL: &str = "global:\n  host: https://wandb.example.com\n  license: your-license-key\n";
const PRODUCTION: &str = "global:\n  host: https://wandb.example.com\n  license: your-license-key\n  \
mysql:\n    host: mysql.example.com\n    user: wandb\n    passwordSecret:\n      name: mysql-secret\n  \
redis:\n    host: redis.example.com\nredis:\n  install: false\n";

#[test]
fn snapshot_default_install() {
    insta::assert_snapshot!("default", render_yaml(&values(&[]), &release()));
}

#[test]
fn snapshot_readme_minimal_install() {
    insta::assert_snapshot!(
        "seed-minimal",
        render_yaml(&yaml_values(MINIMAL), &release())
    );
}

#[test]
fn snapshot_readme_production_install() {
    insta::assert_snapshot!(
        "seed-production",
        render_yaml(&yaml_values(PRODUCTION), &release())
    );
}

#[test]
fn the_render_is_byte_identical_across_runs() {
    let v = yaml_values(PRODUCTION);
    assert_eq!(render_yaml(&v, &release()), render_yaml(&v, &release()));
}

/// Settings that each touch a different key.
fn settings() -> Vec<&'static str> {
    vec![
        "global.host=https://w.example.com",
        "global.license=abc",
        "global.size=medium",
        "app.replicaCount=3",
        "console.image.tag=1.2.3",
        "global.mysql.host=db.example.com",
        // One flag: turning Redis off needs an endpoint to be valid.
        "redis.install=false,global.redis.host=r.example.com",
        "global.bucket.name=b",
        "global.bucket.provider=gcs",
        "parquet.resources.limits.cpu=3",
        "weave.install=false",
        "global.api.enabled=true",
        "global.common.labels.team=ml",
        "nginx.install=true",
        "global.extraEnv.FOO=bar",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Flags on different keys commute: their order changes nothing.
    #[test]
    fn set_flag_order_does_not_matter(picked in proptest::sample::subsequence(settings(), 1..10), seed in any::<u64>()) {
        let mut shuffled = picked.clone();
        // A deterministic shuffle from the seed.
        let mut state = seed;
        for i in (1..shuffled.len()).rev() {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            shuffled.swap(i, (state >> 33) as usize % (i + 1));
        }
        let a = render_yaml(&values(&picked), &release());
        let b = render_yaml(&values(&shuffled), &release());
        prop_assert_eq!(a, b);
    }
}

#[test]
fn stores_are_in_cluster_by_default() {
    let ms = render(&values(&[]), &release());
    for (kind, name) in [
        ("StatefulSet", "wandb-mysql"),
        ("PersistentVolumeClaim", "wandb-mysql-data"),
        ("StatefulSet", "wandb-redis-master"),
        ("StatefulSet", "wandb-clickhouse-shard0"),
        ("StatefulSet", "wandb-kafka-controller"),
        ("StatefulSet", "wandb-minio"),
    ] {
        assert!(find(&ms, kind, name).is_some(), "{kind}/{name} missing");
    }
}

#[test]
fn an_external_endpoint_replaces_the_in_cluster_store() {
    // global.mysql.host alone is enough; mysql.install=false is not needed.
    let ms = render(
        &values(&[
            "global.mysql.host=db.example.com",
            "global.redis.host=r.example.com",
            "global.bucket.name=my-bucket",
            "global.kafka.brokerHost=k.example.com",
            "global.clickhouse.host=ch.example.com",
        ]),
        &release(),
    );
    for (kind, name) in [
        ("StatefulSet", "wandb-mysql"),
        ("StatefulSet", "wandb-redis-master"),
        ("StatefulSet", "wandb-minio"),
        ("StatefulSet", "wandb-kafka-controller"),
        ("StatefulSet", "wandb-clickhouse-shard0"),
    ] {
        assert!(
            find(&ms, kind, name).is_none(),
            "{kind}/{name} should not be rendered"
        );
    }
}

#[test]
fn bufstream_and_etcd_replace_kafka_when_asked() {
    let ms = render(
        &values(&["bufstream.install=true", "global.bufstream.enabled=true"]),
        &release(),
    );
    assert!(find(&ms, "StatefulSet", "wandb-kafka-controller").is_none());
    assert!(find(&ms, "StatefulSet", "wandb-etcd").is_some());
    assert!(find(&ms, "StatefulSet", "bufstream").is_some());
}

fn deployment<'a>(ms: &'a [Manifest], name: &str) -> &'a k8s_openapi::api::apps::v1::Deployment {
    match find(ms, "Deployment", name) {
        Some(Object::Deployment(d)) => d,
        _ => panic!("Deployment/{name} missing"),
    }
}

fn main_container(
    d: &k8s_openapi::api::apps::v1::Deployment,
) -> &k8s_openapi::api::core::v1::Container {
    &d.spec
        .as_ref()
        .unwrap()
        .template
        .spec
        .as_ref()
        .unwrap()
        .containers[0]
}

fn main_resources(d: &k8s_openapi::api::apps::v1::Deployment) -> serde_json::Value {
    serde_json::to_value(&main_container(d).resources).unwrap()
}

#[test]
fn size_presets_set_resources_and_explicit_values_win() {
    let ms = render(&values(&["global.size=medium"]), &release());
    let r = main_resources(deployment(&ms, "wandb-app-bc"));
    assert_eq!(r["limits"]["cpu"], "4");
    assert_eq!(r["requests"]["memory"], "8Gi");

    let ms = render(
        &values(&["global.size=medium", "app.resources.limits.cpu=7"]),
        &release(),
    );
    let r = main_resources(deployment(&ms, "wandb-app-bc"));
    assert_eq!(r["limits"]["cpu"], "7", "explicit beats preset");
    assert_eq!(r["limits"]["memory"], "8Gi", "the rest of the preset stays");
}

#[test]
fn replicas_are_left_to_the_autoscaler_when_there_is_one() {
    let ms = render(&values(&["app.replicaCount=3"]), &release());
    assert_eq!(
        deployment(&ms, "wandb-app-bc")
            .spec
            .as_ref()
            .unwrap()
            .replicas,
        Some(3)
    );
    // parquet autoscales at size small.
    let parquet = deployment(&ms, "wandb-parquet-bc");
    assert_eq!(parquet.spec.as_ref().unwrap().replicas, None);
    assert!(find(&ms, "HorizontalPodAutoscaler", "wandb-parquet").is_some());
}

#[test]
fn generated_secrets_carry_no_value() {
    let ms = render(&values(&[]), &release());
    let m = ms
        .iter()
        .find(|m| m.object.kind() == "Secret" && m.object.name() == "wandb-mysql")
        .unwrap();
    let keys: Vec<&str> = m.generated.iter().map(|g| g.key.as_str()).collect();
    assert_eq!(keys, ["MYSQL_ROOT_PASSWORD", "MYSQL_PASSWORD"]);
    let Object::Secret(s) = &m.object else {
        unreachable!()
    };
    for k in keys {
        assert!(s.data.as_ref().unwrap()[k].0.is_empty());
    }
}

#[test]
fn every_pod_meets_the_restricted_profile() {
    let ms = render(
        &values(&[
            "global.api.enabled=true",
            "nginx.install=true",
            "frontend.install=true",
        ]),
        &release(),
    );
    let mut checked = 0;
    for m in &ms {
        let v = serde_json::to_value(&m.object).unwrap();
        let pod = match m.object.kind() {
            "Deployment" | "StatefulSet" | "DaemonSet" | "Job" => &v["spec"]["template"]["spec"],
            "CronJob" => &v["spec"]["jobTemplate"]["spec"]["template"]["spec"],
            "Pod" => &v["spec"],
            _ => continue,
        };
        let pod_non_root = pod["securityContext"]["runAsNonRoot"] == true;
        let pod_seccomp = pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault";
        assert!(
            pod["hostNetwork"].is_null() && pod["hostPID"].is_null(),
            "{}",
            m.object.name()
        );
        for volume in pod["volumes"].as_array().into_iter().flatten() {
            assert!(
                volume["hostPath"].is_null(),
                "{}: hostPath",
                m.object.name()
            );
        }
        let containers = pod["containers"]
            .as_array()
            .unwrap()
            .iter()
            .chain(pod["initContainers"].as_array().into_iter().flatten());
        for c in containers {
            let sc = &c["securityContext"];
            let name = format!("{}/{}[{}]", m.object.kind(), m.object.name(), c["name"]);
            assert_eq!(sc["allowPrivilegeEscalation"], false, "{name}");
            assert_eq!(
                sc["capabilities"]["drop"],
                serde_json::json!(["ALL"]),
                "{name}"
            );
            assert!(pod_non_root || sc["runAsNonRoot"] == true, "{name}");
            assert!(
                pod_seccomp || sc["seccompProfile"]["type"] == "RuntimeDefault",
                "{name}"
            );
            for p in c["ports"].as_array().into_iter().flatten() {
                assert!(p["hostPort"].is_null(), "{name}: hostPort");
            }
            checked += 1;
        }
    }
    assert!(checked > 20, "checked {checked} containers");
}

#[test]
fn every_generated_secret_is_at_least_32_characters() {
    let ms = render(&values(&[]), &release());
    let generated: Vec<_> = ms.iter().flat_map(|m| m.generated.iter()).collect();
    assert!(generated.len() >= 6, "{generated:?}");
    for g in generated {
        assert!(g.length >= 32, "{} is {} long", g.key, g.length);
    }
}

fn config_value(ms: &[Manifest], config_map: &str, key: &str) -> String {
    match find(ms, "ConfigMap", config_map) {
        Some(Object::ConfigMap(cm)) => cm
            .data
            .as_ref()
            .and_then(|d| d.get(key))
            .cloned()
            .unwrap_or_else(|| panic!("{config_map} has no {key}")),
        other => panic!("no ConfigMap {config_map}: {other:?}"),
    }
}

#[test]
fn the_internal_jwt_map_is_a_json_object() {
    let ms = render(
        &values(&[
            "global.weave-trace.enabled=true",
            "weave-trace.install=true",
        ]),
        &release(),
    );
    let map = config_value(
        &ms,
        "wandb-api-configmap",
        "GORILLA_INTERNAL_JWT_SUBJECTS_TO_ISSUERS",
    );
    let parsed: serde_json::Value =
        serde_json::from_str(&map).unwrap_or_else(|e| panic!("{map:?}: {e}"));
    assert_eq!(
        parsed["system:serviceaccount:default:wandb-weave-trace"],
        "https://kubernetes.default.svc.cluster.local"
    );
}

fn pod_labels(ms: &[Manifest], name: &str) -> std::collections::BTreeMap<String, String> {
    let d = deployment(ms, name);
    let template = d.spec.as_ref().map(|s| &s.template);
    template
        .and_then(|t| t.metadata.as_ref())
        .and_then(|m| m.labels.clone())
        .unwrap_or_default()
}

#[test]
fn the_users_pod_labels_win_over_the_catalogs_and_datadog_tags_follow_the_values() {
    let ms = render(&values(&["mcp-server.install=true"]), &release());
    let labels = pod_labels(&ms, "wandb-mcp-server");
    assert_eq!(labels["app.kubernetes.io/part-of"], "wandb-platform");
    assert_eq!(
        labels["tags.datadoghq.com/service"],
        "wandb-mcp-server-onprem"
    );
    assert_eq!(labels["tags.datadoghq.com/env"], "production");
    assert!(labels.contains_key("tags.datadoghq.com/version"));

    let ms = render(
        &values(&[
            "mcp-server.install=true",
            "mcp-server.podLabels.app\\.kubernetes\\.io/part-of=mine",
            "mcp-server.datadog.env=staging",
        ]),
        &release(),
    );
    let labels = pod_labels(&ms, "wandb-mcp-server");
    assert_eq!(labels["app.kubernetes.io/part-of"], "mine");
    assert_eq!(labels["tags.datadoghq.com/env"], "staging");
}

#[test]
fn a_containers_probe_and_args_merge_over_the_catalogs() {
    let probe = |ms: &[Manifest]| {
        main_container(deployment(ms, "wandb-app-bc"))
            .readiness_probe
            .clone()
            .expect("the app has a readiness probe")
    };
    let before = probe(&render(&values(&[]), &release()));
    let ms = render(
        &values(&[
            "app.containers.app.readinessProbe.initialDelaySeconds=120",
            "app.containers.app.args={--flag}",
        ]),
        &release(),
    );
    let after = probe(&ms);
    assert_eq!(after.initial_delay_seconds, Some(120));
    assert_eq!(
        after.http_get, before.http_get,
        "the handler is the catalog's"
    );
    let app = main_container(deployment(&ms, "wandb-app-bc"));
    assert_eq!(app.args.as_deref(), Some(&["--flag".to_string()][..]));
}
