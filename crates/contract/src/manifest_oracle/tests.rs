//! One small manifest per v2 rule.

use super::*;

fn manifest(yaml: &str) -> ServerManifest {
    ServerManifest::from_yaml(yaml).unwrap_or_else(|e| panic!("{e}"))
}

/// The env of application `app` of a manifest whose `app` has `env`.
fn env_of(yaml: &str, settings: &Settings) -> Vec<EnvEntry> {
    let all = expected_env(&manifest(yaml), settings);
    all.get("app").map(|a| a.env.clone()).unwrap_or_default()
}

fn entry(name: &str, kind: Kind) -> EnvEntry {
    EnvEntry::new(name, kind)
}

fn resolved(sources: &[SourceType], form: Form) -> Kind {
    let sources = sources.to_vec();
    Kind::Resolved { sources, form }
}

/// An application `app` whose env is the given YAML list.
fn app_with_env(env: &str) -> String {
    format!(
        "applications:\n  app:\n    env:\n{}\n  other:\n    service:\n      ports:\n        - name: http\n          port: 8080\n",
        indent(env, 6)
    )
}

fn indent(text: &str, by: usize) -> String {
    let pad = " ".repeat(by);
    text.lines().map(|l| format!("{pad}{l}\n")).collect()
}

fn one_source(kind: &str, extra: &str) -> String {
    app_with_env(&format!(
        "- name: X\n  sources:\n    - type: {kind}\n{}",
        indent(extra, 6)
    ))
}

#[test]
fn a_value_is_given_as_it_is() {
    let env = env_of(
        &app_with_env("- name: A\n  value: \"1\""),
        &Settings::default(),
    );
    assert_eq!(env, vec![entry("A", Kind::Value("1".into()))]);
}

#[test]
fn a_value_from_is_passed_through() {
    let yaml = "- name: NS\n  valueFrom:\n    fieldRef:\n      fieldPath: metadata.namespace";
    let env = env_of(&app_with_env(yaml), &Settings::default());
    assert_eq!(env, vec![entry("NS", Kind::ValueFrom)]);
}

#[test]
fn an_empty_value_counts_as_none() {
    let env = env_of(
        &app_with_env("- name: A\n  value: \"\""),
        &Settings::default(),
    );
    assert_eq!(env, vec![]);
}

#[test]
fn the_stores_resolve_to_secret_refs() {
    for (kind, source) in [
        ("mysql", SourceType::Mysql),
        ("redis", SourceType::Redis),
        ("bucket", SourceType::Bucket),
        ("kafka", SourceType::Kafka),
    ] {
        // A named instance v2 does not have falls back to `default`.
        let env = env_of(&one_source(kind, "name: runs"), &Settings::default());
        assert_eq!(
            env,
            vec![entry("X", resolved(&[source], Form::SecretRef))],
            "{kind}"
        );
    }
}

#[test]
fn clickhouse_resolves_only_fields_v2_knows() {
    let known = env_of(
        &one_source("clickhouse", "field: http-port"),
        &Settings::default(),
    );
    let x = resolved(&[SourceType::Clickhouse], Form::SecretRef);
    assert_eq!(known, vec![entry("X", x)]);
    let unknown = env_of(
        &one_source("clickhouse", "field: port"),
        &Settings::default(),
    );
    assert_eq!(unknown, vec![]);
}

#[test]
fn a_generated_secret_resolves_when_the_manifest_declares_it() {
    let yaml = format!(
        "generatedSecrets:\n  - name: key\n{}",
        one_source("generatedSecret", "name: key")
    );
    let x = resolved(&[SourceType::GeneratedSecret], Form::SecretRef);
    assert_eq!(env_of(&yaml, &Settings::default()), vec![entry("X", x)]);
    let undeclared = one_source("generatedSecret", "name: key");
    assert_eq!(env_of(&undeclared, &Settings::default()), vec![]);
}

#[test]
fn telemetry_resolves_when_on_or_named() {
    let off = Settings::default();
    let on = Settings {
        telemetry: true,
        ..Settings::default()
    };
    let x = resolved(&[SourceType::Telemetry], Form::SecretRef);
    let unnamed = one_source("telemetry", "field: protocol");
    assert_eq!(env_of(&unnamed, &off), vec![]);
    assert_eq!(env_of(&unnamed, &on), vec![entry("X", x.clone())]);
    let named = one_source("telemetry", "name: otel\nfield: OTEL_FOO");
    assert_eq!(env_of(&named, &off), vec![entry("X", x)]);
    let unknown_field = one_source("telemetry", "field: foo");
    assert_eq!(env_of(&unknown_field, &on), vec![]);
}

#[test]
fn a_service_resolves_from_the_manifest() {
    let x = resolved(&[SourceType::Service], Form::Literal);
    for found in [
        "name: other",
        "name: other\nport: http",
        "name: other\nport: \"9\"",
    ] {
        let env = env_of(&one_source("service", found), &Settings::default());
        assert_eq!(env, vec![entry("X", x.clone())], "{found}");
    }
    for missing in ["name: other\nport: grpc", "name: nobody", "port: \"9\""] {
        let env = env_of(&one_source("service", missing), &Settings::default());
        assert_eq!(env, vec![], "{missing}");
    }
}

#[test]
fn a_jwt_issuer_map_is_a_literal() {
    let env = env_of(
        &one_source("jwt-issuer-map", "name: internal"),
        &Settings::default(),
    );
    assert_eq!(
        env,
        vec![entry(
            "X",
            resolved(&[SourceType::JwtIssuerMap], Form::Literal)
        )]
    );
}

#[test]
fn custom_resource_fields_resolve_as_v2_marshals_them() {
    let set = Settings {
        host: Some("https://wandb.example.com".into()),
        license: Some("KEY".into()),
        oidc: Oidc {
            client_id: Some("id".into()),
            ..Oidc::default()
        },
        ..Settings::default()
    };
    let cr = |form| resolved(&[SourceType::CustomResource], form);
    let cases = [
        (
            "status.wandb.hostname",
            Some(cr(Form::Literal)),
            Some(cr(Form::Empty)),
        ),
        ("spec.wandb.license", Some(cr(Form::Literal)), None),
        (
            "spec.wandb.bucketProxy",
            Some(cr(Form::Literal)),
            Some(cr(Form::Literal)),
        ),
        ("spec.wandb.oidc.clientId", Some(cr(Form::SecretRef)), None),
        ("spec.wandb.oidc.clientSecret", None, None),
        ("spec.wandb.security.disableCodeSaving", None, None),
    ];
    for (field, when_set, when_unset) in cases {
        let yaml = one_source("custom-resource", &format!("field: {field}"));
        let given = |s| env_of(&yaml, s).into_iter().map(|e| e.kind).next();
        assert_eq!(given(&set), when_set, "{field} set");
        assert_eq!(given(&Settings::default()), when_unset, "{field} unset");
    }
}

#[test]
fn an_unknown_source_type_resolves_to_nothing() {
    assert_eq!(
        env_of(&one_source("vault", "name: x"), &Settings::default()),
        vec![]
    );
}

#[test]
fn unresolved_sources_take_the_default_or_leave_the_var_out() {
    let field = "field: spec.wandb.oidc.sessionLength";
    let without = one_source("custom-resource", field);
    assert_eq!(env_of(&without, &Settings::default()), vec![]);
    let with = app_with_env(&format!(
        "- name: X\n  defaultValue: 720h\n  sources:\n    - type: custom-resource\n      {field}"
    ));
    assert_eq!(
        env_of(&with, &Settings::default()),
        vec![entry("X", Kind::Default("720h".into()))]
    );
}

#[test]
fn a_secret_joined_with_more_gets_a_part_before_it() {
    let yaml = app_with_env(
        "- name: H\n  sources:\n    - {name: other, type: service}\n    - {name: default, type: mysql}",
    );
    let part = Kind::Part {
        of: "H".into(),
        source: SourceType::Mysql,
    };
    let both = resolved(&[SourceType::Service, SourceType::Mysql], Form::Literal);
    assert_eq!(
        env_of(&yaml, &Settings::default()),
        vec![entry("H_1", part), entry("H", both)]
    );
}

#[test]
fn a_feature_gates_an_application_not_a_migration() {
    let yaml = "features: {queue: false}\napplications:\n  app:\n    features: [queue]\n    env: [{name: A, value: \"1\"}]\nmigrations:\n  db:\n    env: [{name: B, value: \"2\"}]\n";
    let off = expected_env(&manifest(yaml), &Settings::default());
    assert_eq!(off.keys().collect::<Vec<_>>(), vec!["migration/db"]);
    let on = Settings {
        features: BTreeMap::from([("queue".to_string(), true)]),
        ..Settings::default()
    };
    let on = expected_env(&manifest(yaml), &on);
    assert_eq!(on.keys().collect::<Vec<_>>(), vec!["app", "migration/db"]);
}

#[test]
fn an_env_var_is_not_gated_by_features() {
    // v2's EnvVar has no `features`; a service source still resolves to a
    // gated-off application.
    let yaml = "features: {x: false}\napplications:\n  app:\n    env:\n      - {name: A, value: \"1\", features: [x]}\n      - name: B\n        sources: [{name: gated, type: service}]\n  gated:\n    features: [x]\n    service: {ports: [{name: http, port: 80}]}\n";
    let names: Vec<String> = env_of(yaml, &Settings::default())
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, vec!["A", "B"]);
}

#[test]
fn env_groups_come_in_order_and_own_env_beats_them() {
    let yaml = "commonEnvvars:\n  one: [{name: A, value: one}, {name: B, value: one}]\n  two: [{name: B, value: two}, {name: C, value: two}]\napplications:\n  app:\n    commonEnvs: [two, one, missing]\n    env: [{name: B, value: own}]\n";
    let env = env_of(yaml, &Settings::default());
    let given: Vec<(&str, &Kind)> = env.iter().map(|e| (e.name.as_str(), &e.kind)).collect();
    let value = |v: &str| Kind::Value(v.into());
    // Own B takes out the first B (group two's); group one's B stays.
    assert_eq!(
        given,
        vec![
            ("C", &value("two")),
            ("A", &value("one")),
            ("B", &value("one")),
            ("B", &value("own")),
        ]
    );
}

#[test]
fn all_containers_and_init_containers_but_migrate_share_the_env() {
    let yaml = "applications:\n  app:\n    containers: [{name: main}, {name: side}]\n    initContainers: [{name: wait}, {name: migrate}]\n  solo:\n    name: single\n";
    let all = expected_env(&manifest(yaml), &Settings::default());
    assert_eq!(all["app"].containers, vec!["main", "side"]);
    assert_eq!(all["app"].init_containers, vec!["wait"]);
    assert_eq!(all["single"].containers, vec!["single"]);
}

#[test]
fn telemetry_on_adds_the_workload_vars_and_the_service_name() {
    let yaml = "applications:\n  weave-trace:\n    env: [{name: OTEL_SERVICE_NAME, value: mine}]\n  anaconda2: {}\n  other: {}\n";
    let on = Settings {
        telemetry: true,
        ..Settings::default()
    };
    let all = expected_env(&manifest(yaml), &on);
    let weave = &all["weave-trace"];
    assert_eq!(weave.env.len(), 14, "{weave:#?}");
    assert_eq!(
        weave.env[0],
        entry("OTEL_SERVICE_NAME", Kind::Value("mine".into()))
    );
    let anaconda = &all["anaconda2"];
    let dd = anaconda.env.iter().find(|e| e.name == "DD_SERVICE");
    assert_eq!(dd.map(|e| &e.kind), Some(&Kind::Value("anaconda2".into())));
    assert!(all["other"].env.is_empty());
    // Off (v2's default): nothing is added.
    let off = expected_env(&manifest(yaml), &Settings::default());
    assert_eq!(off["weave-trace"].env.len(), 1);
}

#[test]
fn telemetry_env_in_the_manifest_gets_a_service_name() {
    let yaml =
        "applications:\n  app:\n    env:\n      - {name: GORILLA_TRACER, value: \"noop://\"}\n";
    let names: Vec<String> = env_of(yaml, &Settings::default())
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, vec!["GORILLA_TRACER", "OTEL_SERVICE_NAME"]);
}

#[test]
fn a_later_file_adds_sizing_not_env() {
    let mut merged = manifest(
        "generatedSecrets: [{name: a}]\napplications:\n  app:\n    commonEnvs: [one]\n    env: [{name: A, value: \"1\"}]\n",
    );
    merged.merge(manifest(
        "generatedSecrets: [{name: b}]\napplications:\n  app:\n    commonEnvs: [one, two]\n    env: [{name: Z, value: \"9\"}]\n    sizing: {small: {replicas: 2}}\n  new: {}\n",
    ));
    let app = &merged.applications["app"];
    assert_eq!(app.env.len(), 1);
    assert_eq!(app.common_envs, vec!["one", "two"]);
    assert!(app.sizing.contains_key("small"));
    assert!(merged.applications.contains_key("new"));
    assert_eq!(merged.generated_secrets[0].name, "a");
}

#[test]
fn a_null_key_counts_as_absent() {
    let yaml = "applications:\n  app:\n    commonEnvs:\n    env:\n      - {name: A, value: \"1\", defaultValue: ~}\n";
    let env = env_of(yaml, &Settings::default());
    assert_eq!(env, vec![entry("A", Kind::Value("1".into()))]);
}

#[test]
fn a_directory_merges_its_yaml_files_in_name_order() {
    let dir = std::env::temp_dir().join(format!("manifest-oracle-{}", std::process::id()));
    let write = |name: &str, text: &str| {
        std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(dir.join(name), text))
    };
    write(
        "sizing.yaml",
        "applications:\n  app:\n    env: [{name: LATE, value: \"2\"}]\n",
    )
    .and_then(|()| {
        write(
            "manifest.yaml",
            "applications:\n  app:\n    env: [{name: A, value: \"1\"}]\n",
        )
    })
    .and_then(|()| write("notes.txt", "not yaml"))
    .unwrap_or_else(|e| panic!("{e}"));
    let read = ServerManifest::read_dir(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    let names: Vec<String> = read.unwrap_or_else(|e| panic!("{e}")).applications["app"]
        .env
        .iter()
        .map(|v| v.name.clone())
        .collect();
    assert_eq!(names, vec!["A"]);
    let missing = ServerManifest::read_dir(&dir).map(|_| ());
    assert!(matches!(missing, Err(ManifestError::Io(..))), "{missing:?}");
}
