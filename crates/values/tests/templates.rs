//! Values shaped like the upstream chart's values.yaml, templates included:
//! they load as they are (the render evaluates them), and a template this
//! operator cannot evaluate is an error naming the key and the template.

use wandb_render::builtin::load;
use wandb_values::template::EnvHelper;
use wandb_values::{Flag, Loaded, NoFiles, Problem, Source};

fn load_yaml(yaml: &str) -> Result<Loaded, Vec<Problem>> {
    let source = Source::Inline {
        name: "values.yaml".into(),
        yaml: yaml.into(),
    };
    load(&[source], &mut NoFiles)
}

fn errors(yaml: &str) -> Vec<String> {
    match load_yaml(yaml) {
        Ok(_) => panic!("{yaml} loaded"),
        Err(problems) => problems.iter().map(ToString::to_string).collect(),
    }
}

/// A piece of upstream's values.yaml: each kind of template it holds.
const UPSTREAM_SHAPED: &str = r#"
global:
  clickhouse:
    host: '{{ .Release.Name }}-clickhouse-headless'
app:
  internalJWTMap:
    - subject: "system:serviceaccount:{{ .Release.Namespace }}:{{ .Release.Name }}-weave-trace"
      issuer: "https://kubernetes.default.svc.cluster.local"
  envTpls:
    - '{{ include "wandb.downwardEnvs" . }}'
    - '{{ include "wandb.mysqlEnvs" . }}'
    - '{{ include "wandb.lumen.gorillaEnvs" .}}'
  envFrom:
    "{{ .Release.Name }}-global-secret": "secretRef"
executor:
  env:
    GORILLA_TASK_QUEUE:
      value: '{{ include "wandb.executor.taskQueue" . }}'
metric-observer:
  env:
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
mcp-server:
  podLabels:
    tags.datadoghq.com/service: '{{ include `wandb.mcpDDService` . }}'
    tags.datadoghq.com/version: "{{ .Values.image.tag }}"
bufstream:
  storage:
    use: '{{ (include "wandb.bucket" . | fromYaml).provider }}'
    s3:
      endpoint: '{{ include "wandb.bufstream.bucket.endpoint" . }}'
redis:
  auth:
    existingSecret: '{{ include "wandb.redis.passwordSecret" . }}'
    existingSecretPasswordKey: '{{ .Values.global.redis.secret.secretKey }}'
clickhouse:
  auth:
    existingSecretKey: '{{- .Values.global.clickhouse.passwordSecret.passwordKey -}}'
"#;

#[test]
fn upstreams_templates_load_as_they_are() {
    let loaded = load_yaml(UPSTREAM_SHAPED).unwrap_or_else(|e| panic!("{e:?}"));
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let v = &loaded.values;
    // Kept for the render, which knows the release and evaluates them.
    assert_eq!(
        v.global.clickhouse.host.text(),
        "{{ .Release.Name }}-clickhouse-headless"
    );
    assert!(
        v.app
            .base
            .env_from
            .contains_key("{{ .Release.Name }}-global-secret")
    );
    let ch = &v.clickhouse_migration_job.jobs["ch-migrate"];
    assert!(matches!(&ch.enabled, Some(Flag::Text(t)) if t.contains("olapAnyFeatureEnabled")));
    // An `envTpls` entry is read as the env helper it includes.
    let tpls: Vec<EnvHelper> = v.app.base.env_tpls.iter().flatten().map(|t| t.0).collect();
    assert_eq!(
        tpls,
        [EnvHelper::Downward, EnvHelper::Mysql, EnvHelper::Lumen]
    );
}

#[test]
fn a_template_that_cannot_be_evaluated_names_the_key_and_the_template() {
    let got = errors(
        "app:\n  env:\n    A: '{{ include \"wandb.nothing\" . }}'\n    B: '{{ .Chart.Version }}'\n    \
         C: '{{ .Values.noSuchKey }}'\n    D: '{{ include \"wandb.bucketEnvs\" . }}'\n  \
         envTpls:\n    - '{{ include \"wandb.executor.taskQueue\" . }}'\n    - 'name: A'\n",
    );
    let expect = [
        "app.env.A: cannot evaluate `{{ include \"wandb.nothing\" . }}`: wandb.nothing is not a helper",
        "app.env.B: cannot evaluate `{{ .Chart.Version }}`: `.Chart.Version` is not a form",
        "app.env.C: cannot evaluate `{{ .Values.noSuchKey }}`: `.Values.noSuchKey` (app.noSuchKey) is not a key",
        "app.env.D: cannot evaluate `{{ include \"wandb.bucketEnvs\" . }}`: wandb.bucketEnvs gives a list",
        "app.envTpls[0]: cannot evaluate `{{ include \"wandb.executor.taskQueue\" . }}`: wandb.executor.taskQueue gives a value, not environment variables",
    ];
    for e in expect {
        assert!(got.iter().any(|g| g.starts_with(e)), "{e}\nin {got:#?}");
    }
    // A plain entry of `envTpls` is not a template at all.
    assert!(
        got.iter().any(|g| g.starts_with("app.envTpls[1]:")),
        "{got:#?}"
    );
}

#[test]
fn a_template_where_text_cannot_go_is_not_a_type_error() {
    let got = errors("app:\n  replicaCount: '{{ .Release.Name }}'\n");
    assert_eq!(
        got,
        [
            "app.replicaCount: cannot evaluate `{{ .Release.Name }}` here: a template gives text, \
          and this key takes an integer"
        ]
    );
    // A job's switch takes a template that gives true or false, or those words.
    let got = errors("clickhouseMigrationJob:\n  jobs:\n    ch-migrate:\n      enabled: 'yes'\n");
    assert_eq!(
        got,
        [
            "clickhouseMigrationJob.jobs.ch-migrate.enabled: expected true or false \
          (or a template that gives one), found \"yes\""
        ]
    );
}

#[test]
fn free_form_values_keep_their_braces() {
    // Upstream writes a banner into the console's config as it is.
    let loaded = load_yaml("global:\n  banners:\n    b:\n      message: 'see {{ the docs }}'\n")
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
}

#[test]
fn upstreams_unused_keys_warn_only_when_changed() {
    let loaded = load_yaml(
        "redis:\n  architecture: standalone\n  metrics:\n    enabled: false\n\
         kafka:\n  sasl:\n    existingSecret: ''\n",
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let loaded = load_yaml("redis:\n  architecture: replication\n").unwrap();
    let shown: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "redis.architecture: is a key of the upstream chart that has no effect here; \
          only its default is supported (see docs/compatibility.md)"
        ]
    );
}
