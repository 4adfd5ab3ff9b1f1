//! `backup`: the MySQL backup CronJob, its target bucket and the checks of
//! its values.

use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::core::v1::{Container, PodSpec};
use wandb_render::builtin::load;
use wandb_render::builtin::render;
use wandb_render::{Manifest, Object, Release};
use wandb_values::{NoFiles, Problem, Source};

fn loaded(yaml: &str) -> Result<Vec<Manifest>, Vec<Problem>> {
    loaded_global("", yaml)
}

/// `global` (lines indented by two) and the rest of the values.
fn loaded_global(global: &str, yaml: &str) -> Result<Vec<Manifest>, Vec<Problem>> {
    let source = Source::Inline {
        name: "test.yaml".into(),
        yaml: format!("global:\n  host: https://wandb.example.com\n  license: l\n{global}{yaml}"),
    };
    load(&[source], &mut NoFiles).map(|l| render(&l.values, &Release::new("wandb", "wandb")))
}

fn cron(ms: &[Manifest]) -> Option<&CronJob> {
    ms.iter().find_map(|m| match &m.object {
        Object::CronJob(c) if m.object.name() == "wandb-mysql-backup" => Some(c),
        _ => None,
    })
}

fn pod(c: &CronJob) -> &PodSpec {
    c.spec
        .as_ref()
        .and_then(|s| s.job_template.spec.as_ref())
        .and_then(|j| j.template.spec.as_ref())
        .expect("a pod")
}

fn env(c: &Container, name: &str) -> Option<String> {
    let e = c.env.iter().flatten().find(|e| e.name == name)?;
    Some(e.value.clone().unwrap_or_else(|| {
        let r = e
            .value_from
            .as_ref()
            .and_then(|f| f.secret_key_ref.as_ref())
            .expect("a value or a secret");
        format!("secret {}/{}", r.name, r.key)
    }))
}

#[test]
fn off_by_default() {
    let ms = loaded("").expect("valid");
    assert!(cron(&ms).is_none());
    assert!(
        ms.iter()
            .all(|m| m.object.name() != "wandb-mysql-backup-script")
    );
}

#[test]
fn the_cronjob_dumps_then_uploads_to_the_in_cluster_bucket() {
    let ms =
        loaded("backup:\n  install: true\n  retention: 3\n  nodeSelector:\n    pool: backups\n")
            .expect("valid");
    let c = cron(&ms).expect("the backup CronJob");
    let spec = c.spec.as_ref().expect("a spec");
    assert_eq!(spec.schedule, "0 3 * * *");
    assert_eq!(spec.concurrency_policy.as_deref(), Some("Forbid"));
    let pod = pod(c);
    let dump = &pod.init_containers.as_ref().expect("init containers")[0];
    let upload = &pod.containers[0];
    assert_eq!(
        (dump.name.as_str(), upload.name.as_str()),
        ("dump", "upload")
    );
    assert_eq!(dump.image.as_deref(), Some("docker.io/mysql:8.0"));
    assert_eq!(env(dump, "MYSQL_HOST").as_deref(), Some("wandb-mysql"));
    assert_eq!(env(dump, "MYSQL_PWD").as_deref(), Some("$(MYSQL_PASSWORD)"));
    assert_eq!(
        env(upload, "S3_ENDPOINT").as_deref(),
        Some("http://wandb-minio:9000")
    );
    assert_eq!(env(upload, "BACKUP_BUCKET").as_deref(), Some("wandb"));
    assert_eq!(env(upload, "BACKUP_RETENTION").as_deref(), Some("3"));
    assert_eq!(
        env(upload, "AWS_ACCESS_KEY_ID").as_deref(),
        Some("secret wandb-bucket/ACCESS_KEY")
    );
    // Each container gets what it needs, and no more.
    assert_eq!(env(dump, "AWS_SECRET_ACCESS_KEY"), None);
    assert_eq!(env(upload, "MYSQL_PASSWORD"), None);
    assert_eq!(
        pod.node_selector
            .as_ref()
            .and_then(|n| n.get("pool"))
            .map(String::as_str),
        Some("backups")
    );
    assert_eq!(
        pod.security_context
            .as_ref()
            .and_then(|s| s.run_as_non_root),
        Some(true)
    );
    let script = ms
        .iter()
        .find_map(|m| match &m.object {
            Object::ConfigMap(cm) if m.object.name() == "wandb-mysql-backup-script" => {
                cm.data.as_ref()?.get("mysql-backup.sh").cloned()
            }
            _ => None,
        })
        .expect("the script's ConfigMap");
    assert!(script.contains("--single-transaction"));
}

#[test]
fn an_external_s3_bucket_and_another_bucket_are_targets() {
    let ms = loaded_global(
        "  bucket:\n    provider: s3\n    name: acme-wandb\n    region: eu-west-1\n    path: prod\n    \
         secret:\n      secretName: acme-bucket\n",
        "backup:\n  install: true\n",
    )
    .expect("valid");
    let upload = &pod(cron(&ms).expect("a CronJob")).containers[0];
    assert_eq!(
        env(upload, "S3_ENDPOINT").as_deref(),
        Some("https://s3.eu-west-1.amazonaws.com")
    );
    assert_eq!(env(upload, "BACKUP_BUCKET").as_deref(), Some("acme-wandb"));
    assert_eq!(
        env(upload, "BACKUP_PREFIX").as_deref(),
        Some("prod/backups/mysql/")
    );
    assert!(
        env(upload, "AWS_ACCESS_KEY_ID").is_some_and(|k| k.starts_with("secret acme-bucket/")),
        "{:?}",
        env(upload, "AWS_ACCESS_KEY_ID")
    );

    let ms = loaded(
        "backup:\n  install: true\n  bucket:\n    endpoint: https://backups.example.com\n    name: db-backups\n    \
         region: us-west-2\n    secretName: backup-keys\n",
    )
    .expect("valid");
    let upload = &pod(cron(&ms).expect("a CronJob")).containers[0];
    assert_eq!(
        env(upload, "S3_ENDPOINT").as_deref(),
        Some("https://backups.example.com")
    );
    assert_eq!(env(upload, "BACKUP_BUCKET").as_deref(), Some("db-backups"));
    assert_eq!(
        env(upload, "AWS_SECRET_ACCESS_KEY").as_deref(),
        Some("secret backup-keys/AWS_SECRET_ACCESS_KEY")
    );
}

fn problems(yaml: &str) -> Vec<String> {
    match loaded(yaml) {
        Ok(_) => vec![],
        Err(ps) => ps
            .iter()
            .map(|p| format!("{}: {}", p.path, p.message))
            .collect(),
    }
}

#[test]
fn bad_backup_values_are_refused_naming_the_key() {
    let ps = problems("backup:\n  install: true\n  retention: 0\n  schedule: daily\n");
    assert!(
        ps.iter()
            .any(|p| p.starts_with("backup.retention: must be 1 or more")),
        "{ps:?}"
    );
    assert!(
        ps.iter()
            .any(|p| p.starts_with("backup.schedule: expected a CronJob schedule")),
        "{ps:?}"
    );
    let ps = problems(
        "backup:\n  install: true\n  bucket:\n    name: b\n    endpoint: s3.example.com\n",
    );
    assert!(
        ps.iter().any(|p| p.starts_with("backup.bucket.secretName")),
        "{ps:?}"
    );
    assert!(
        ps.iter().any(|p| p.starts_with("backup.bucket.endpoint")),
        "{ps:?}"
    );
    // The install's bucket on Google Cloud Storage: backups need an S3 one.
    let ps = match loaded_global(
        "  bucket:\n    provider: gcs\n    name: acme\n",
        "backup:\n  install: true\n",
    ) {
        Ok(_) => vec![],
        Err(ps) => ps
            .iter()
            .map(|p| format!("{}: {}", p.path, p.message))
            .collect(),
    };
    assert!(
        ps.iter()
            .any(|p| p.starts_with("backup.bucket: the install's bucket is of provider \"gcs\"")),
        "{ps:?}"
    );
}
