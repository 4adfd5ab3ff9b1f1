//! A small server manifest in W&B's v2 format, written for these tests: one
//! application (the API, which the chart calls `app`) and one migration,
//! at the version given.

pub fn manifest(version: &str) -> String {
    format!(
        r#"# Written for the operator's engine tests.
applications:
  api:
    name: api
    legacyKey: app
    image: {{repository: example.com/wandb/megabinary, tag: "{version}"}}
    args: [api]
    containers:
      - name: api
        ports:
          - {{name: http, containerPort: 8081}}
    service:
      ports:
        - {{name: http, port: 8081}}
    env:
      - name: GORILLA_LICENSE
        sources:
          - {{name: license, type: custom-resource, field: spec.wandb.license}}
migrations:
  gorilla:
    image: {{repository: example.com/wandb/megabinary, tag: "{version}"}}
    args: [migrate]
"#
    )
}

pub const SIZING: &str = "applications:\n  api:\n    sizing:\n      small: {replicas: 1}\n";

/// The files as a ConfigMap or an artifact holds them.
pub fn files(version: &str) -> Vec<(&'static str, String)> {
    vec![
        ("manifest.yaml", manifest(version)),
        ("sizing.yaml", SIZING.into()),
    ]
}
