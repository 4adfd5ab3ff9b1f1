//! The MySQL backup CronJob (`backup.install`): a `dump` init container (the
//! MySQL client image) writes a gzipped dump made in one transaction to an
//! emptyDir, and an `upload` container (curl) sends it to the bucket and
//! deletes the backups beyond `backup.retention`. Both run the project's
//! own script (files/mysql-backup.sh), from a ConfigMap.

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec, JobSpec, JobTemplateSpec};
use k8s_openapi::api::core::v1::{Container, EnvVar};

use wandb_values::StoreKind;

use crate::context::{Ctx, OBJECT_STORE_BUCKET, OBJECT_STORE_PORT};
use crate::env::{literal, secret_ref};
use crate::k8s::{config_map_volume, empty_dir, mount};
use crate::objects::{Manifest, Object};
use crate::workload::container_security_context;

use super::common::{StoreSpec, image, meta, pod_security, pod_template, resources, selector};

/// The script, as the ConfigMap holds it.
pub const SCRIPT: &str = include_str!("../../files/mysql-backup.sh");
const COMPONENT: &str = "mysqlBackup";

/// Where the backups go: (endpoint, bucket, region, prefix, secret, access
/// key's key, secret key's key).
struct Target {
    endpoint: String,
    bucket: String,
    region: String,
    prefix: String,
    secret: String,
    access_key: String,
    secret_key: String,
}

fn target(ctx: &Ctx) -> Target {
    let b = &ctx.values.backup;
    if b.bucket.is_set() {
        return Target {
            endpoint: b.bucket.endpoint.clone(),
            bucket: b.bucket.name.clone(),
            region: b.bucket.region.clone(),
            prefix: b.prefix.clone(),
            secret: b.bucket.secret_name.clone(),
            access_key: b.bucket.access_key_name.clone(),
            secret_key: b.bucket.secret_key_name.clone(),
        };
    }
    let install = ctx.bucket();
    let (endpoint, bucket) = if ctx.in_cluster(StoreKind::ObjectStore) {
        (
            format!("http://{}:{OBJECT_STORE_PORT}", ctx.name("minio")),
            OBJECT_STORE_BUCKET.to_string(),
        )
    } else if let Some((host, bucket)) = install.name.split_once('/') {
        // An S3-compatible server named in the bucket: `host:port/bucket`.
        (format!("https://{host}"), bucket.to_string())
    } else if install.region.is_empty() {
        ("https://s3.amazonaws.com".into(), install.name.clone())
    } else {
        (
            format!("https://s3.{}.amazonaws.com", install.region),
            install.name.clone(),
        )
    };
    let prefix = match install.path.trim_matches('/') {
        "" => b.prefix.clone(),
        path => format!("{path}/{}", b.prefix),
    };
    Target {
        endpoint,
        bucket,
        region: install.region.clone(),
        prefix,
        secret: install.secret_name.clone(),
        access_key: install.access_key_name.clone(),
        secret_key: install.secret_key_name.clone(),
    }
}

/// The dump's env: the MySQL connection only.
fn mysql_env(ctx: &Ctx) -> Vec<EnvVar> {
    let mut env = ctx.group_env("mysqlConfig");
    // The clients' own variable: never on a command line.
    env.push(literal("MYSQL_PWD", "$(MYSQL_PASSWORD)"));
    env.push(literal("HOME", "/tmp"));
    env
}

/// The upload's env: the bucket only.
fn bucket_env(ctx: &Ctx, t: &Target) -> Vec<EnvVar> {
    vec![
        literal("S3_ENDPOINT", &t.endpoint),
        literal(
            "S3_REGION",
            if t.region.is_empty() {
                "us-east-1"
            } else {
                &t.region
            },
        ),
        literal("BACKUP_BUCKET", &t.bucket),
        literal("BACKUP_PREFIX", &t.prefix),
        literal("BACKUP_RETENTION", ctx.values.backup.retention.to_string()),
        secret_ref("AWS_ACCESS_KEY_ID", &t.secret, &t.access_key, false),
        secret_ref("AWS_SECRET_ACCESS_KEY", &t.secret, &t.secret_key, false),
        literal("HOME", "/tmp"),
    ]
}

pub(super) fn build(ctx: &Ctx) -> Vec<Manifest> {
    let v = &ctx.values.backup;
    let name = ctx.name("mysql-backup");
    let script_map = ctx.name("mysql-backup-script");
    let t = target(ctx);
    let mounts = vec![
        mount("script", "/scripts", None),
        mount("backup", "/backup", None),
        mount("tmp", "/tmp", None),
    ];
    let container = |name: &str, image: String, env: Vec<EnvVar>, script: &str| Container {
        name: name.into(),
        image: Some(image),
        image_pull_policy: Some("IfNotPresent".into()),
        command: Some(vec!["sh".into(), "-ec".into(), script.into()]),
        env: Some(env),
        volume_mounts: Some(mounts.clone()),
        security_context: Some(container_security_context()),
        resources: Some(resources("100m", "128Mi", None, "512Mi")),
        ..Default::default()
    };
    let dump = container(
        "dump",
        image(ctx, &v.base, "docker.io"),
        mysql_env(ctx),
        "sh /scripts/mysql-backup.sh dump \"/backup/wandb-mysql-$(date -u +%Y%m%dT%H%M%SZ).sql.gz\"",
    );
    let upload = container(
        "upload",
        ctx.store_image(
            &v.uploader.image.base,
            if v.uploader.image.registry.is_empty() {
                "docker.io"
            } else {
                &v.uploader.image.registry
            },
        ),
        bucket_env(ctx, &t),
        "for f in /backup/wandb-mysql-*.sql.gz; do sh /scripts/mysql-backup.sh upload \"$f\"; done\n\
         sh /scripts/mysql-backup.sh prune",
    );
    let spec = StoreSpec {
        component: COMPONENT,
        name: name.clone(),
        selector: selector(ctx, "mysql-backup", None),
        values: &v.base,
        default_registry: "docker.io",
        containers: vec![upload],
        volumes: vec![
            config_map_volume("script", &script_map, Some(0o555), false),
            empty_dir("backup"),
            empty_dir("tmp"),
        ],
        pod_security: pod_security(1000, 1000),
        service_account: None,
        api_access: false,
    };
    let mut template = pod_template(ctx, &spec);
    if let Some(pod) = template.spec.as_mut() {
        pod.init_containers = Some(vec![dump]);
        pod.restart_policy = Some("Never".into());
    }
    let cron = Object::CronJob(CronJob {
        metadata: meta(ctx, &name, COMPONENT, &BTreeMap::new()),
        spec: Some(CronJobSpec {
            schedule: v.schedule.clone(),
            time_zone: Some("Etc/UTC".into()),
            // A backup still running when the next is due: the next waits.
            concurrency_policy: Some("Forbid".into()),
            successful_jobs_history_limit: Some(3),
            failed_jobs_history_limit: Some(3),
            job_template: JobTemplateSpec {
                metadata: None,
                spec: Some(JobSpec {
                    backoff_limit: Some(2),
                    template,
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        status: None,
    });
    vec![
        crate::config::config_map_named(
            ctx,
            COMPONENT,
            &script_map,
            vec![("mysql-backup.sh", SCRIPT.to_string())],
        ),
        Manifest::new(COMPONENT, cron),
    ]
}
