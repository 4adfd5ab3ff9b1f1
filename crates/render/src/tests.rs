//! Test pods, run by `helm test` (or `wandb-operator check`), never applied
//! with the install: each passes only when what it checks answers.

use k8s_openapi::api::core::v1::{
    ConfigMapVolumeSource, Container, EnvVar, Pod, PodSecurityContext, PodSpec, SeccompProfile,
    Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use wandb_values::Image;

use crate::config::{config_map_named, meta};
use crate::context::{Ctx, truncate_name};
use crate::objects::{Manifest, Object};
use crate::workload::container_security_context;

/// `{release}-operator-wandb`, the name the upstream chart gives itself.
pub fn chart_fullname(ctx: &Ctx) -> String {
    let v = ctx.values;
    if !v.fullname_override.is_empty() {
        return truncate_name(&v.fullname_override);
    }
    let name = if v.name_override.is_empty() {
        "operator-wandb"
    } else {
        v.name_override.as_str()
    };
    if ctx.release.name.contains(name) {
        truncate_name(&ctx.release.name)
    } else {
        truncate_name(&ctx.name(name))
    }
}

pub fn build(ctx: &Ctx) -> Vec<Manifest> {
    let v = ctx.values;
    let base = chart_fullname(ctx);
    let front = if v.nginx.base.install == Some(true) {
        format!("http://{}:8080", ctx.name("nginx"))
    } else {
        format!("http://{}:8080", ctx.name("app"))
    };
    let mut out = vec![pod(
        ctx,
        &format!("{base}-test-connection"),
        "wandb-verify",
        &format!("wget -q -O /dev/null {front}/ready && echo W&B answers at {front}"),
        vec![],
        None,
    )];
    if v.mcp_server.base.install == Some(true) {
        out.push(pod(
            ctx,
            &format!("{base}-test-mcp"),
            "mcp-health",
            &format!(
                "wget -q -O /dev/null http://{}:8080/mcp/health",
                ctx.name("mcp-server")
            ),
            vec![],
            None,
        ));
    }
    if v.weave_trace.install == Some(true) {
        let script = format!(
            "#!/bin/sh\n# Healthy when weave-trace answers through the front door.\nwget -q -O /dev/null {front}/traces/health\n"
        );
        let cm = format!("{base}-test-weave");
        out.push(config_map_named(ctx, "tests", &cm, vec![("test.sh", script)]).for_test());
        out.push(pod(
            ctx,
            &cm,
            "weave-verify",
            "sh /tests/test.sh",
            vec![],
            Some(&cm),
        ));
    }
    // The OLAP features' env groups give nothing while a feature is off.
    for feature in ["registrySearch", "runStoreAccelerator", "history"] {
        let env = ctx.group_env(feature);
        if env.is_empty() {
            continue;
        }
        let names: Vec<&str> = env.iter().map(|e| e.name.as_str()).collect();
        let script = format!(
            "fail=0\nfor var in {}; do\n  if [ -z \"$(printenv \"$var\")\" ]; then echo \"FAIL: $var is not set\"; fail=1; else echo \"OK: $var\"; fi\ndone\nexit $fail\n",
            names.join(" ")
        );
        let kebab = crate::workload::kebab(feature);
        out.push(pod(
            ctx,
            &format!("{base}-test-olap-{kebab}"),
            "test-olap-envs",
            &script,
            env,
            None,
        ));
    }
    out
}

fn pod(
    ctx: &Ctx,
    name: &str,
    container: &str,
    script: &str,
    env: Vec<EnvVar>,
    config: Option<&str>,
) -> Manifest {
    let busybox = Image {
        repository: "busybox".into(),
        tag: "1.36".into(),
        ..Default::default()
    };
    let mut metadata: ObjectMeta = meta(ctx, name, "tests");
    metadata
        .annotations
        .get_or_insert_with(Default::default)
        .insert("helm.sh/hook".into(), "test".into());
    let (volumes, mounts) = match config {
        Some(cm) => (
            Some(vec![Volume {
                name: "tests".into(),
                config_map: Some(ConfigMapVolumeSource {
                    name: cm.into(),
                    ..Default::default()
                }),
                ..Default::default()
            }]),
            Some(vec![VolumeMount {
                name: "tests".into(),
                mount_path: "/tests".into(),
                ..Default::default()
            }]),
        ),
        None => (None, None),
    };
    Manifest::new(
        "tests",
        Object::Pod(Pod {
            metadata,
            spec: Some(PodSpec {
                containers: vec![Container {
                    name: container.into(),
                    image: Some(ctx.store_image(&busybox, "")),
                    command: Some(vec!["sh".into(), "-c".into(), script.into()]),
                    env: (!env.is_empty()).then_some(env),
                    security_context: Some(container_security_context()),
                    volume_mounts: mounts,
                    ..Default::default()
                }],
                volumes,
                restart_policy: Some("Never".into()),
                security_context: Some(PodSecurityContext {
                    run_as_non_root: Some(true),
                    run_as_user: Some(65534),
                    seccomp_profile: Some(SeccompProfile {
                        type_: "RuntimeDefault".into(),
                        localhost_profile: None,
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            status: None,
        }),
    )
    .for_test()
}
