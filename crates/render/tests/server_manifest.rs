//! A W&B server manifest that nobody tuned this operator for
//! (`tests/manifests/synthetic`, written for these tests in W&B's v2
//! format): a new application behind a feature, one whose feature is off, a
//! new migration, a new env var on an existing application, and the chart's
//! values on top, as a chart user expects.

use std::path::PathBuf;

use serde_json::Value;
use wandb_render::{Catalog, Manifest, Release, Stage, render};
use wandb_values::{NoFiles, SetKind, Source};

fn synthetic() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/manifests/synthetic")
}

fn catalog() -> Catalog {
    let manifest = wandb_render::manifest::read(&synthetic()).unwrap_or_else(|e| panic!("{e}"));
    let version = wandb_render::manifest::version(&manifest).expect("a version");
    assert_eq!(version, "9.9.0");
    let base = Catalog::builtin().unwrap();
    wandb_render::manifest::catalog(&manifest, &version, base).unwrap_or_else(|e| panic!("{e}"))
}

/// The render and its warnings, host and license set, `sets` on top.
fn render_with(sets: &[&str]) -> (Vec<Manifest>, Vec<String>) {
    let catalog = catalog();
    let mut all = vec![
        "global.host=https://wandb.example.com",
        "global.license=KEY",
    ];
    all.extend(sets);
    let sources: Vec<Source> = all
        .iter()
        .map(|s| Source::Set(SetKind::Typed, s.to_string()))
        .collect();
    let loaded = wandb_values::load(&sources, &mut NoFiles, catalog.additions())
        .unwrap_or_else(|e| panic!("{e:?}"));
    let warnings = loaded.warnings.iter().map(ToString::to_string).collect();
    let ms = render(&catalog, &loaded.values, &Release::new("wandb", "default"));
    (ms, warnings)
}

fn find<'a>(ms: &'a [Manifest], kind: &str, name: &str) -> Option<&'a Manifest> {
    ms.iter()
        .find(|m| m.object.kind() == kind && m.object.name() == name)
}

fn object(ms: &[Manifest], kind: &str, name: &str) -> Value {
    let m = find(ms, kind, name).unwrap_or_else(|| panic!("no {kind}/{name}"));
    serde_json::to_value(&m.object).unwrap()
}

fn container(o: &Value) -> &Value {
    &o["spec"]["template"]["spec"]["containers"][0]
}

/// A container's env var by name: its `value`, or its whole `valueFrom`.
fn env(o: &Value, name: &str) -> Option<Value> {
    let vars = container(o)["env"].as_array()?;
    let var = vars.iter().find(|e| e["name"] == name)?;
    Some(
        var.get("value")
            .cloned()
            .unwrap_or_else(|| var["valueFrom"].clone()),
    )
}

#[test]
fn a_new_application_behind_a_feature_renders_with_everything_it_asks_for() {
    let (ms, warnings) = render_with(&[]);
    assert!(warnings.is_empty(), "{warnings:?}");
    let reports = object(&ms, "Deployment", "wandb-reports");
    let c = container(&reports);
    assert_eq!(c["image"], "example.com/wandb/reports:9.9.0");
    assert_eq!(c["ports"][0]["containerPort"], 8087);
    // v2 takes a probe's port to be the container's first.
    assert_eq!(c["readinessProbe"]["httpGet"]["port"], "http");

    // Its own env group: the stores' URLs, with the vars they refer to.
    let db = env(&reports, "REPORTS_DB").unwrap();
    assert!(
        db.as_str()
            .unwrap()
            .starts_with("mysql://$(MYSQL_USER):$(MYSQL_PASSWORD)@")
    );
    assert_eq!(env(&reports, "MYSQL_HOST").unwrap(), "wandb-mysql");
    assert!(env(&reports, "REPORTS_REDIS").is_some());
    // A generated secret, a service source, a custom-resource source.
    assert_eq!(
        env(&reports, "REPORTS_SESSION_KEY").unwrap()["secretKeyRef"],
        serde_json::json!({"name": "wandb-reports-session", "key": "key"})
    );
    assert_eq!(
        env(&reports, "REPORTS_API_URL").unwrap(),
        "http://wandb-api.default.svc.cluster.local:8081/graphql"
    );
    assert_eq!(
        env(&reports, "REPORTS_HOST").unwrap(),
        "https://wandb.example.com"
    );
    // A field with no chart key: left out, or its default, as v2 does.
    assert_eq!(env(&reports, "REPORTS_NOT_BRIDGED"), None);
    assert_eq!(env(&reports, "REPORTS_WITH_DEFAULT").unwrap(), "fallback");

    // Its Service, its ingress path, its generated Secret.
    let service = object(&ms, "Service", "wandb-reports");
    assert_eq!(service["spec"]["ports"][0]["port"], 8087);
    let ingress = object(&ms, "Ingress", "wandb");
    let paths = &ingress["spec"]["rules"][0]["http"]["paths"];
    let route = paths
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["path"] == "/reports")
        .expect("the /reports path");
    assert_eq!(route["backend"]["service"]["name"], "wandb-reports");
    assert_eq!(route["backend"]["service"]["port"]["number"], 8087);
    let secret = find(&ms, "Secret", "wandb-reports-session").expect("the generated Secret");
    assert_eq!(secret.generated.len(), 1, "made once, never again");
}

#[test]
fn an_application_whose_feature_is_off_does_not_run_until_it_is_set() {
    let (ms, _) = render_with(&[]);
    assert!(find(&ms, "Deployment", "wandb-beta").is_none());
    let topics = object(&ms, "Job", "wandb-kafka-topics");
    assert_eq!(env(&topics, "WANDB_TOPIC_0").unwrap(), "reports.rendered:8");
    assert_eq!(
        env(&topics, "WANDB_TOPIC_1"),
        None,
        "beta's topic is off too"
    );

    let (ms, _) = render_with(&["serverManifest.features.beta=true"]);
    let beta = object(&ms, "Deployment", "wandb-beta");
    assert_eq!(container(&beta)["image"], "example.com/wandb/beta:9.9.0");
    let topics = object(&ms, "Job", "wandb-kafka-topics");
    assert_eq!(env(&topics, "WANDB_TOPIC_1").unwrap(), "beta.events:4");

    let (ms, _) = render_with(&["serverManifest.features.reports=false"]);
    assert!(find(&ms, "Deployment", "wandb-reports").is_none());
}

#[test]
fn a_new_migration_runs_in_the_migrations_stage_before_the_services() {
    let (ms, _) = render_with(&[]);
    let job = find(&ms, "Job", "wandb-migrate-reports").expect("the migration's Job");
    assert_eq!(job.stage, Stage::Migrations);
    let o = serde_json::to_value(&job.object).unwrap();
    assert_eq!(container(&o)["image"], "example.com/wandb/reports:9.9.0");
    assert_eq!(container(&o)["args"], serde_json::json!(["migrate"]));
    assert!(env(&o, "REPORTS_DB").is_some());
    let topics = find(&ms, "Job", "wandb-kafka-topics").unwrap();
    assert_eq!(topics.stage, Stage::Migrations);
    let reports = find(&ms, "Deployment", "wandb-reports").unwrap();
    assert!(reports.stage > Stage::Migrations);
}

#[test]
fn a_new_env_var_on_an_existing_application_is_there() {
    let (ms, _) = render_with(&[]);
    let api = object(&ms, "Deployment", "wandb-api");
    assert_eq!(
        container(&api)["image"],
        "example.com/wandb/megabinary:9.9.0"
    );
    assert_eq!(env(&api, "API_BRAND_NEW_FLAG").unwrap(), "on");
    assert_eq!(
        env(&api, "GORILLA_LICENSE").unwrap()["secretKeyRef"]["name"],
        "wandb-license"
    );
}

#[test]
fn the_manifests_sizing_follows_global_size() {
    let replicas_and_cpu = |size: &str| {
        let (ms, _) = render_with(&[&format!("global.size={size}")]);
        let reports = object(&ms, "Deployment", "wandb-reports");
        let cpu = container(&reports)["resources"]["requests"]["cpu"].clone();
        (reports["spec"]["replicas"].clone(), cpu)
    };
    assert_eq!(replicas_and_cpu("small"), (1.into(), "100m".into()));
    // A size only the manifest defines.
    assert_eq!(replicas_and_cpu("huge"), (5.into(), "4".into()));
}

#[test]
fn the_charts_values_apply_on_top_and_the_users_env_wins() {
    let (ms, warnings) = render_with(&[
        "reports.replicaCount=3",
        "reports.env.REPORTS_HOST=https://override.example.com",
        "reports.extraEnv.REPORTS_EXTRA=yes",
        "reports.resources.limits.memory=1Gi",
        "reports.nodeSelector.pool=reports",
        "reports.image.tag=9.9.1",
        "global.extraEnv.EVERYWHERE=1",
        "console.replicaCount=2",
    ]);
    let reports = object(&ms, "Deployment", "wandb-reports");
    let c = container(&reports);
    assert_eq!(reports["spec"]["replicas"], 3);
    assert_eq!(
        env(&reports, "REPORTS_HOST").unwrap(),
        "https://override.example.com"
    );
    assert_eq!(env(&reports, "REPORTS_EXTRA").unwrap(), "yes");
    assert_eq!(env(&reports, "EVERYWHERE").unwrap(), "1");
    assert_eq!(c["resources"]["limits"]["memory"], "1Gi");
    assert_eq!(c["image"], "example.com/wandb/reports:9.9.1");
    assert_eq!(
        reports["spec"]["template"]["spec"]["nodeSelector"]["pool"],
        "reports"
    );
    // The chart's console is not an application of this version: said once.
    assert_eq!(
        warnings,
        [
            "console: the block is not used: W&B Server 9.9.0 (its server manifest) has no application under this key"
        ]
    );
}

#[test]
fn a_v2_resource_field_with_no_chart_key_is_set_under_server_manifest_custom_resource() {
    let (ms, warnings) =
        render_with(&["serverManifest.customResource.spec.wandb.nothingHere=given"]);
    assert!(warnings.is_empty(), "{warnings:?}");
    let reports = object(&ms, "Deployment", "wandb-reports");
    assert_eq!(env(&reports, "REPORTS_NOT_BRIDGED").unwrap(), "given");
    assert_eq!(env(&reports, "REPORTS_WITH_DEFAULT").unwrap(), "given");
}

#[test]
fn a_manifest_that_cannot_be_read_is_an_error_naming_the_file_and_the_field() {
    let dir = std::env::temp_dir().join(format!("wandb-manifest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("manifest.yaml");
    std::fs::write(&file, "applications:\n  api:\n    env: 12\n").unwrap();
    let error = wandb_render::manifest::read(&dir).unwrap_err().to_string();
    assert!(error.contains("manifest.yaml"), "{error}");
    assert!(error.contains("applications.api.env"), "{error}");
    std::fs::write(&file, "applications: [\n").unwrap();
    let error = wandb_render::manifest::read(&file).unwrap_err().to_string();
    assert!(error.contains("invalid YAML"), "{error}");
    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let error = wandb_render::manifest::read(&empty)
        .unwrap_err()
        .to_string();
    assert!(error.contains("no manifest YAML files"), "{error}");
    std::fs::remove_dir_all(&dir).unwrap();
}
