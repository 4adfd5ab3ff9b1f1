//! An S3-compatible object store (MinIO) and the Job that creates its bucket.

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{Container, HTTPGetAction, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use wandb_values::Image;

use crate::context::{Ctx, OBJECT_STORE_BUCKET, OBJECT_STORE_PORT};
use crate::env::{literal, secret_ref};
use crate::k8s::{empty_dir, mount};
use crate::objects::{Manifest, Object};
use crate::workload::container_security_context;

use super::common::{
    StoreSpec, claim_template, manifests, meta, network_policy, pod_security, pod_template, port,
    resources, selector, service, service_port, stateful_set, store_container,
};

pub(super) fn build(ctx: &Ctx) -> Vec<Manifest> {
    let v = &ctx.values.object_store;
    let name = ctx.name("minio");
    let sel = selector(ctx, "minio", None);
    let b = ctx.bucket();
    let credentials = [
        secret_ref("MINIO_ROOT_USER", &b.secret_name, &b.access_key_name, false),
        secret_ref(
            "MINIO_ROOT_PASSWORD",
            &b.secret_name,
            &b.secret_key_name,
            false,
        ),
    ];
    let mut spec = StoreSpec {
        component: "objectStore",
        name: name.clone(),
        selector: sel.clone(),
        values: v,
        default_registry: "quay.io",
        containers: vec![],
        volumes: vec![],
        pod_security: pod_security(1000, 1000),
        service_account: None,
        api_access: false,
    };
    let mut c = store_container(ctx, "minio", &spec, resources("250m", "512Mi", None, "2Gi"));
    c.args = Some(vec![
        "server".into(),
        "/data".into(),
        "--address".into(),
        format!(":{OBJECT_STORE_PORT}"),
        "--console-address".into(),
        ":9001".into(),
    ]);
    c.env = Some(credentials.to_vec());
    c.ports = Some(vec![port("s3", OBJECT_STORE_PORT), port("console", 9001)]);
    let health = |path: &str| Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.into()),
            port: IntOrString::Int(OBJECT_STORE_PORT),
            ..Default::default()
        }),
        period_seconds: Some(10),
        ..Default::default()
    };
    c.liveness_probe = Some(health("/minio/health/live"));
    c.readiness_probe = Some(health("/minio/health/ready"));
    c.volume_mounts = Some(vec![mount("data", "/data", None)]);
    spec.containers = vec![c];

    // Creates the bucket once the server answers; idempotent.
    let endpoint = format!("http://{name}:{OBJECT_STORE_PORT}");
    let mc = Image {
        repository: "minio/mc".into(),
        tag: "RELEASE.2025-04-16T18-13-26Z".into(),
        ..Default::default()
    };
    let mut job_container = Container {
        name: "make-bucket".into(),
        image: Some(ctx.store_image(&mc, "quay.io")),
        image_pull_policy: Some("IfNotPresent".into()),
        command: Some(vec!["sh".into(), "-ec".into()]),
        args: Some(vec![format!(
            "until mc alias set local {endpoint} \"$MINIO_ROOT_USER\" \"$MINIO_ROOT_PASSWORD\"; do sleep 2; done\n\
             mc mb --ignore-existing local/{OBJECT_STORE_BUCKET}\n"
        )]),
        env: Some(credentials.to_vec()),
        security_context: Some(container_security_context()),
        resources: Some(resources("50m", "64Mi", None, "256Mi")),
        ..Default::default()
    };
    job_container
        .env
        .get_or_insert_with(Vec::new)
        .push(literal("MC_CONFIG_DIR", "/tmp/.mc"));
    job_container.volume_mounts = Some(vec![mount("tmp", "/tmp", None)]);
    let job_spec = StoreSpec {
        containers: vec![job_container],
        volumes: vec![empty_dir("tmp")],
        service_account: None,
        selector: selector(ctx, "minio", Some("make-bucket")),
        ..spec.clone_shallow()
    };
    let mut template = pod_template(ctx, &job_spec);
    if let Some(s) = template.spec.as_mut() {
        s.restart_policy = Some("OnFailure".into());
    }
    let job = Object::Job(Job {
        metadata: meta(
            ctx,
            &ctx.name("minio-make-bucket"),
            "objectStore",
            &BTreeMap::new(),
        ),
        spec: Some(JobSpec {
            backoff_limit: Some(20),
            template,
            ..Default::default()
        }),
        status: None,
    });
    let mut out = manifests(
        "objectStore",
        vec![
            service(
                ctx,
                "objectStore",
                &name,
                &sel,
                vec![service_port("s3", OBJECT_STORE_PORT, "s3")],
                false,
            ),
            stateful_set(
                ctx,
                &spec,
                1,
                &name,
                vec![claim_template(ctx, "data", v, "50Gi", &sel)],
            ),
            job,
        ],
    );
    out.extend(network_policy(
        ctx,
        "objectStore",
        &name,
        &sel,
        &[OBJECT_STORE_PORT],
    ));
    out
}
