//! Templates in the values (upstream's `{{ .Release.Name }}`, its helpers,
//! `envTpls`), evaluated before the render: they give what the render gives
//! without them, with the release's names.

use k8s_openapi::api::core::v1::{Container, PodSpec};
use wandb_render::builtin::load;
use wandb_render::builtin::{render, render_yaml};
use wandb_render::{Manifest, Object, Release};
use wandb_values::{NoFiles, Source, Values};

fn values(yaml: &str) -> Values {
    let sources = [
        Source::File(
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../fixtures/values/every-service.yaml"
            )
            .into(),
        ),
        Source::Inline {
            name: "test.yaml".into(),
            yaml: yaml.into(),
        },
    ];
    wandb_render::builtin::load(&sources, &mut wandb_values::Disk)
        .unwrap_or_else(|e| panic!("{e:?}"))
        .values
}

fn release() -> Release {
    Release::new("wandb", "default")
}

fn pod<'a>(ms: &'a [Manifest], kind: &str, name: &str) -> &'a PodSpec {
    let found = ms
        .iter()
        .map(|m| &m.object)
        .find(|o| o.kind() == kind && o.name() == name);
    let spec = match found {
        Some(Object::Deployment(d)) => d.spec.as_ref().and_then(|s| s.template.spec.as_ref()),
        Some(Object::Job(j)) => j.spec.as_ref().and_then(|s| s.template.spec.as_ref()),
        _ => None,
    };
    spec.unwrap_or_else(|| panic!("no {kind}/{name}"))
}

fn main_container<'a>(
    ms: &'a [Manifest],
    kind: &str,
    name: &str,
    container: &str,
) -> &'a Container {
    pod(ms, kind, name)
        .containers
        .iter()
        .find(|c| c.name == container)
        .unwrap_or_else(|| panic!("no container {container} in {name}"))
}

fn env_value(c: &Container, name: &str) -> Option<String> {
    c.env
        .iter()
        .flatten()
        .find(|e| e.name == name)
        .and_then(|e| e.value.clone())
}

#[test]
fn upstreams_templates_give_what_the_render_gives_without_them() {
    // Upstream's defaults of these keys are templates of its helpers: spelled
    // out, they change nothing.
    let spelled_out = values(
        r#"
executor:
  env:
    GORILLA_TASK_QUEUE:
      value: '{{ include "wandb.executor.taskQueue" . }}'
filestream:
  env:
    GORILLA_FILE_STREAM_WORKER_SOURCE_ADDRESS:
      value: '{{ include "wandb.fileStreamStoreConsumer" . }}'
metric-observer:
  env:
    GORILLA_RUN_UPDATE_SHADOW_QUEUE_SUBSCRIPTIONS_METRIC_OBSERVER:
      value: '{{ include "wandb.runUpdateShadowQueue" . }}'
    GORILLA_METRIC_OBSERVER_STORE:
      value: '{{ include "wandb.redis.connectionString" . | trim }}'
settingsMigrationJob:
  env:
    SMJ_FILE_STORE:
      value: '{{ (include "wandb.bucket" . | fromYaml).url }}'
clickhouseMigrationJob:
  jobs:
    ch-migrate:
      enabled: '{{ include "wandb.olapAnyFeatureEnabled" . }}'
  envTpls:
    - '{{ include "wandb.sslCertEnvs" . }}'
    - '{{ include "wandb.historyEnvs" . }}'
    - '{{ include "wandb.registrySearchEnvs" . }}'
    - '{{ include "wandb.runStoreAcceleratorEnvs" . }}'
weave-trace-worker:
  envTpls:
    - '{{ include "wandb.clickhouseConfigEnvs" . }}'
    - '{{ include "wandb.sslCertEnvs" . }}'
mcp-server:
  podLabels:
    tags.datadoghq.com/service: '{{ include `wandb.mcpDDService` . }}'
    tags.datadoghq.com/env: '{{ include `wandb.mcpDDEnv` . }}'
app:
  envFrom:
    "{{ .Release.Name }}-global-secret": "secretRef"
  internalJWTMap:
    - subject: "system:serviceaccount:{{ .Release.Namespace }}:{{ .Release.Name }}-weave-trace"
      issuer: "https://kubernetes.default.svc.cluster.local"
    - subject: "system:serviceaccount:{{ .Release.Namespace }}:{{ .Release.Name }}-weave-trace-worker"
      issuer: "https://kubernetes.default.svc.cluster.local"
"#,
    );
    let plain = values("");
    for release in [release(), Release::new("prod", "wandb-prod")] {
        assert_eq!(
            render_yaml(&spelled_out, &release),
            render_yaml(&plain, &release),
            "release {release:?}"
        );
    }
}

#[test]
fn release_templates_name_the_release() {
    let v = values(
        r#"
app:
  env:
    WHERE: "{{ .Release.Namespace }}/{{ .Release.Name }}"
    TRIMMED: "a  {{- .Release.Name -}}  b"
  envFrom:
    "{{ .Release.Name }}-extra": configMapRef
"#,
    );
    let ms = render(&v, &Release::new("prod", "wandb-prod"));
    let app = main_container(&ms, "Deployment", "prod-app-bc", "app");
    assert_eq!(env_value(app, "WHERE").as_deref(), Some("wandb-prod/prod"));
    assert_eq!(env_value(app, "TRIMMED").as_deref(), Some("aprodb"));
    let sources: Vec<String> = app
        .env_from
        .iter()
        .flatten()
        .filter_map(|e| e.config_map_ref.as_ref().map(|c| c.name.clone()))
        .collect();
    assert!(sources.contains(&"prod-extra".to_string()), "{sources:?}");
}

#[test]
fn a_helper_anywhere_gives_its_value() {
    let v = values(
        r#"
app:
  env:
    MY_REDIS: '{{ include "wandb.redis.connectionString" . }}'
    MY_BUCKET: '{{ (include "wandb.bucket" . | fromYaml).provider }}'
    API_OFF: '{{ not .Values.global.api.enabled }}'
    QUOTED: '{{ .Release.Name | quote }}'
mcp-server:
  image:
    tag: "9.9.9"
  podLabels:
    version-of-mcp: "{{ .Values.image.tag }}"
"#,
    );
    let ms = render(&v, &release());
    let app = main_container(&ms, "Deployment", "wandb-app-bc", "app");
    assert_eq!(
        env_value(app, "MY_REDIS").as_deref(),
        Some("redis://$(REDIS_HOST):$(REDIS_PORT)$(REDIS_PARAMS)")
    );
    assert_eq!(env_value(app, "MY_BUCKET").as_deref(), Some("s3"));
    assert_eq!(env_value(app, "API_OFF").as_deref(), Some("false"));
    assert_eq!(env_value(app, "QUOTED").as_deref(), Some("\"wandb\""));
    // `.Values` in a service's block is that service's values, as in its subchart.
    let labels = ms
        .iter()
        .find_map(|m| match &m.object {
            Object::Deployment(d) if m.object.name() == "wandb-mcp-server" => d
                .spec
                .as_ref()
                .and_then(|s| s.template.metadata.as_ref())
                .and_then(|m| m.labels.clone()),
            _ => None,
        })
        .unwrap_or_default();
    assert_eq!(
        labels.get("version-of-mcp").map(String::as_str),
        Some("9.9.9")
    );
}

#[test]
fn env_tpls_choose_the_env_groups() {
    let only_certs = values("app:\n  envTpls:\n    - '{{ include \"wandb.sslCertEnvs\" . }}'\n");
    let ms = render(&only_certs, &release());
    let app = main_container(&ms, "Deployment", "wandb-app-bc", "app");
    assert!(env_value(app, "SSL_CERT_FILE").is_some());
    assert!(!app.env.iter().flatten().any(|e| e.name == "MYSQL_HOST"));
    let ms = render(&values(""), &release());
    let app = main_container(&ms, "Deployment", "wandb-app-bc", "app");
    assert!(app.env.iter().flatten().any(|e| e.name == "MYSQL_HOST"));
}

#[test]
fn a_jobs_switch_may_be_a_template() {
    let on = r#"
clickhouseMigrationJob:
  jobs:
    ch-migrate:
      enabled: '{{ include "wandb.olapAnyFeatureEnabled" . }}'
"#;
    let jobs = |v: &Values| -> bool {
        render(v, &release())
            .iter()
            .any(|m| m.object.kind() == "Job" && m.object.name() == "wandb-ch-migrate")
    };
    assert!(jobs(&values(on)));
    let off = format!(
        "{on}global:\n  olap:\n    registrySearch: {{enabled: false}}\n    \
         runStoreAccelerator: {{enabled: false}}\n    history: {{enabled: false}}\n"
    );
    assert!(!jobs(&values(&off)));
    let never = "clickhouseMigrationJob:\n  jobs:\n    ch-migrate:\n      enabled: 'false'\n";
    assert!(!jobs(&values(never)));
}

#[test]
fn values_without_templates_are_not_copied() {
    // The default values carry upstream's templates (the ClickHouse host);
    // once evaluated, nothing is left to evaluate.
    let v = load(&[], &mut NoFiles).unwrap().values;
    let evaluated =
        wandb_render::template::evaluate(wandb_render::Catalog::builtin().unwrap(), &v, &release());
    assert_eq!(
        evaluated.global.clickhouse.host.text(),
        "wandb-clickhouse-headless"
    );
    let again = wandb_render::template::evaluate(
        wandb_render::Catalog::builtin().unwrap(),
        &evaluated,
        &release(),
    );
    assert!(matches!(again, std::borrow::Cow::Borrowed(_)));
}

#[test]
fn values_survive_the_round_trip_of_the_evaluation() {
    // The evaluation types the values again from their tree: nothing may be
    // lost on the way.
    let v = values(
        "app:\n  env:\n    A: '1'\n    B: {value: x}\n  envTpls:\n    - '{{ include \"wandb.mysqlEnvs\" . }}'\n",
    );
    let mut back: Values = serde_json::from_value((*v.tree).clone()).unwrap();
    back.tree = v.tree.clone();
    back.user_templates = v.user_templates;
    assert_eq!(back, v);
}

#[test]
fn the_defaults_hold_templates_only_where_they_are_evaluated_in_place() {
    // Values without templates of the user's skip the JSON round trip: the
    // defaults' own templates are evaluated at these keys alone.
    fn walk(node: &serde_json::Value, at: &str, out: &mut Vec<String>) {
        match node {
            serde_json::Value::String(s) if s.contains("{{") => out.push(at.to_string()),
            serde_json::Value::Array(items) => {
                for item in items {
                    walk(item, &format!("{at}[]"), out);
                }
            }
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    walk(v, &format!("{at}.{k}"), out);
                }
            }
            _ => {}
        }
    }
    let mut found = Vec::new();
    walk(&wandb_values::load::defaults(), "", &mut found);
    walk(&wandb_render::builtin::additions().defaults, "", &mut found);
    found.sort();
    found.dedup();
    assert_eq!(
        found,
        [".app.internalJWTMap[].subject", ".global.clickhouse.host"]
    );
}
