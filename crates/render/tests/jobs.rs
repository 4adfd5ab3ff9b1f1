//! The user's settings of jobs, cron jobs, hooks and init containers lay
//! over the catalog's, as the upstream chart's values do.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Container, PodSpec};
use wandb_render::builtin::load;
use wandb_render::builtin::render;
use wandb_render::{Manifest, Object, Phase, Release};
use wandb_values::{NoFiles, SetKind, Source};

fn render_with(sets: &[&str]) -> Vec<Manifest> {
    let sources: Vec<Source> = sets
        .iter()
        .map(|s| Source::Set(SetKind::Json, s.to_string()))
        .collect();
    let values = load(&sources, &mut NoFiles)
        .unwrap_or_else(|e| panic!("{e:?}"))
        .values;
    render(&values, &Release::new("wandb", "default"))
}

fn manifest<'a>(ms: &'a [Manifest], kind: &str, name: &str) -> &'a Manifest {
    ms.iter()
        .find(|m| m.object.kind() == kind && m.object.name() == name)
        .unwrap_or_else(|| panic!("{kind}/{name} missing"))
}

fn job<'a>(ms: &'a [Manifest], name: &str) -> &'a Job {
    match &manifest(ms, "Job", name).object {
        Object::Job(j) => j,
        _ => unreachable!(),
    }
}

fn cron_job<'a>(ms: &'a [Manifest], name: &str) -> &'a CronJob {
    match &manifest(ms, "CronJob", name).object {
        Object::CronJob(c) => c,
        _ => unreachable!(),
    }
}

fn deployment<'a>(ms: &'a [Manifest], name: &str) -> &'a Deployment {
    match &manifest(ms, "Deployment", name).object {
        Object::Deployment(d) => d,
        _ => unreachable!(),
    }
}

fn job_pod(j: &Job) -> &PodSpec {
    j.spec.as_ref().unwrap().template.spec.as_ref().unwrap()
}

fn cron_pod(c: &CronJob) -> &PodSpec {
    let job = c.spec.as_ref().unwrap().job_template.spec.as_ref().unwrap();
    job.template.spec.as_ref().unwrap()
}

fn deployment_pod(d: &Deployment) -> &PodSpec {
    d.spec.as_ref().unwrap().template.spec.as_ref().unwrap()
}

fn init_names(pod: &PodSpec) -> Vec<&str> {
    pod.init_containers
        .iter()
        .flatten()
        .map(|c| c.name.as_str())
        .collect()
}

fn init<'a>(pod: &'a PodSpec, name: &str) -> &'a Container {
    pod.init_containers
        .iter()
        .flatten()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("init container {name} missing"))
}

fn env_json(c: &Container, name: &str) -> serde_json::Value {
    let var = c.env.iter().flatten().find(|e| e.name == name);
    serde_json::to_value(var).unwrap()
}

fn strings(items: &[&str]) -> Option<Vec<String>> {
    Some(items.iter().map(|s| s.to_string()).collect())
}

#[test]
fn a_jobs_settings_and_container_lay_over_the_catalogs() {
    let smj = "settingsMigrationJob.jobs.smj";
    let ms = render_with(&[
        "settingsMigrationJob.install=true",
        &format!("{smj}.backoffLimit=4"),
        &format!("{smj}.ttlSecondsAfterFinished=0"),
        &format!("{smj}.activeDeadlineSeconds=600"),
        &format!("{smj}.restartPolicy=\"OnFailure\""),
        &format!("{smj}.containers.smj.image.tag=\"1.2.3\""),
        &format!("{smj}.containers.smj.args=[\"settings-migration-job\",\"--debug\"]"),
        &format!("{smj}.containers.smj.command=[\"/megabinary\"]"),
        &format!("{smj}.containers.smj.env.SMJ_K8S_USER_SPEC_SECRET_NAME=\"mine\""),
        &format!("{smj}.containers.smj.resources={{\"limits\":{{\"cpu\":\"2\"}}}}"),
        // The catalog's Secret, as a ConfigMap now; the name is expanded.
        &format!(
            "{smj}.containers.smj.envFrom={{\"{{{{ .Release.Name }}}}-smj-secret\":\"configMapRef\",\"extra\":\"secretRef\"}}"
        ),
    ]);
    let j = job(&ms, "wandb-smj");
    let spec = j.spec.as_ref().unwrap();
    assert_eq!(spec.backoff_limit, Some(4));
    assert_eq!(spec.ttl_seconds_after_finished, Some(0), "0 is kept");
    assert_eq!(spec.active_deadline_seconds, Some(600));
    let pod = job_pod(j);
    assert_eq!(pod.restart_policy.as_deref(), Some("OnFailure"));
    let c = &pod.containers[0];
    assert_eq!(
        c.image.as_deref(),
        Some("wandb/megabinary:1.2.3"),
        "the tag over the catalog's image"
    );
    assert_eq!(c.args, strings(&["settings-migration-job", "--debug"]));
    assert_eq!(c.command, strings(&["/megabinary"]));
    assert_eq!(
        env_json(c, "SMJ_K8S_USER_SPEC_SECRET_NAME")["value"],
        "mine"
    );
    let r = serde_json::to_value(&c.resources).unwrap();
    assert_eq!(r["limits"]["cpu"], "2");
    let env_from = serde_json::to_value(&c.env_from).unwrap();
    assert!(
        env_from
            .as_array()
            .unwrap()
            .contains(&serde_json::json!({"configMapRef": {"name": "wandb-smj-secret"}})),
        "{env_from}"
    );
    assert!(
        !env_from
            .to_string()
            .contains(r#""secretRef":{"name":"wandb-smj-secret"}"#),
        "{env_from}"
    );
    assert!(
        env_from
            .as_array()
            .unwrap()
            .contains(&serde_json::json!({"secretRef": {"name": "extra"}})),
        "{env_from}"
    );
}

#[test]
fn a_jobs_unset_settings_keep_the_catalogs() {
    let ms = render_with(&["settingsMigrationJob.install=true"]);
    let j = job(&ms, "wandb-smj");
    let spec = j.spec.as_ref().unwrap();
    assert_eq!(spec.backoff_limit, Some(1));
    assert_eq!(spec.ttl_seconds_after_finished, Some(60));
    let c = &job_pod(j).containers[0];
    assert_eq!(c.image.as_deref(), Some("wandb/megabinary:latest"));
    assert_eq!(c.args, strings(&["settings-migration-job"]));
}

#[test]
fn a_service_containers_block_does_not_reach_its_jobs() {
    let ms = render_with(&[
        "settingsMigrationJob.install=true",
        "settingsMigrationJob.containers.smj.args=[\"other\"]",
    ]);
    let c = &job_pod(job(&ms, "wandb-smj")).containers[0];
    assert_eq!(c.args, strings(&["settings-migration-job"]));
}

#[test]
fn a_cron_jobs_settings_and_container_lay_over_the_catalogs() {
    let cron = "lumen-agent.cronJobs.lumen-agent";
    let ms = render_with(&[
        "lumen-agent.install=true",
        &format!("{cron}.concurrencyPolicy=\"Replace\""),
        &format!("{cron}.failedJobsHistoryLimit=0"),
        &format!("{cron}.successfulJobsHistoryLimit=1"),
        &format!("{cron}.startingDeadlineSeconds=60"),
        &format!("{cron}.backoffLimit=0"),
        &format!("{cron}.ttlSecondsAfterFinished=3600"),
        &format!("{cron}.restartPolicy=\"Never\""),
        &format!("{cron}.containers.collector.resources.limits.cpu=3"),
        &format!("{cron}.containers.collector.command=[\"/app/other\"]"),
        &format!("{cron}.containers.collector.args=[\"--once\"]"),
        &format!(
            "{cron}.containers.collector.env.GOMAXPROCS.valueFrom.resourceFieldRef.resource=\"requests.cpu\""
        ),
    ]);
    let c = cron_job(&ms, "wandb-lumen-agent");
    let spec = c.spec.as_ref().unwrap();
    assert_eq!(spec.concurrency_policy.as_deref(), Some("Replace"));
    assert_eq!(spec.failed_jobs_history_limit, Some(0), "0 is kept");
    assert_eq!(spec.successful_jobs_history_limit, Some(1));
    assert_eq!(spec.starting_deadline_seconds, Some(60));
    let job_spec = spec.job_template.spec.as_ref().unwrap();
    assert_eq!(job_spec.backoff_limit, Some(0), "0 is kept");
    assert_eq!(job_spec.ttl_seconds_after_finished, Some(3600));
    let pod = cron_pod(c);
    assert_eq!(pod.restart_policy.as_deref(), Some("Never"));
    let collector = &pod.containers[0];
    let r = serde_json::to_value(&collector.resources).unwrap();
    assert_eq!(r["limits"]["cpu"], "3");
    assert_eq!(
        r["limits"]["memory"], "4Gi",
        "the other limits are the catalog's"
    );
    assert_eq!(collector.command, strings(&["/app/other"]));
    assert_eq!(collector.args, strings(&["--once"]));
    assert_eq!(
        env_json(collector, "GOMAXPROCS")["valueFrom"]["resourceFieldRef"]["resource"],
        "requests.cpu"
    );
}

#[test]
fn a_cron_jobs_container_env_and_env_from_lay_over_the_catalogs() {
    let cron = "parquet.cronJobs.parquet-backfill";
    let before = render_with(&[]);
    let before = &cron_pod(cron_job(&before, "wandb-parquet-backfill")).containers[0];
    let ms = render_with(&[
        &format!("{cron}.containers.backfill-job.env.GORILLA_GLUE_EXECUTE_TASK_NAME=\"OTHER\""),
        &format!(
            "{cron}.containers.backfill-job.envFrom={{\"{{{{ .Release.Name }}}}-glue-configmap\":\"secretRef\"}}"
        ),
    ]);
    let c = &cron_pod(cron_job(&ms, "wandb-parquet-backfill")).containers[0];
    assert_eq!(
        env_json(c, "GORILLA_GLUE_EXECUTE_TASK_NAME")["value"],
        "OTHER"
    );
    let names =
        |c: &Container| -> Vec<String> { c.env.iter().flatten().map(|e| e.name.clone()).collect() };
    assert_eq!(names(c), names(before), "the var keeps its place");
    let env_from = serde_json::to_value(&c.env_from).unwrap();
    assert!(
        env_from
            .as_array()
            .unwrap()
            .contains(&serde_json::json!({"secretRef": {"name": "wandb-glue-configmap"}})),
        "{env_from}"
    );
}

fn annotations(m: &Manifest) -> std::collections::BTreeMap<String, String> {
    m.object.metadata().annotations.clone().unwrap_or_default()
}

#[test]
fn helm_hook_turns_a_hook_off_or_names_another() {
    let ms = render_with(&[]);
    let post = manifest(&ms, "Job", "wandb-app-rename-post-hook");
    assert_eq!(post.phase, Phase::PostInstall);
    assert_eq!(annotations(post)["helm.sh/hook"], "post-upgrade");

    let ms = render_with(&["appRenamePostHook.helmHook.enabled=false"]);
    for kind in ["Job", "ServiceAccount", "Role", "RoleBinding"] {
        let m = manifest(&ms, kind, "wandb-app-rename-post-hook");
        assert_eq!(m.phase, Phase::Main, "{kind}");
        assert!(!annotations(m).contains_key("helm.sh/hook"), "{kind}");
    }

    let ms = render_with(&[
        "appRenamePostHook.helmHook.hook=\"pre-install,pre-upgrade\"",
        "appRenamePostHook.helmHook.hookWeight=\"-5\"",
        "appRenamePostHook.helmHook.hookDeletePolicy=\"\"",
    ]);
    for kind in ["Job", "ServiceAccount", "Role", "RoleBinding"] {
        let m = manifest(&ms, kind, "wandb-app-rename-post-hook");
        assert_eq!(m.phase, Phase::PreInstall, "{kind}");
        let a = annotations(m);
        assert_eq!(a["helm.sh/hook"], "pre-install,pre-upgrade", "{kind}");
        assert_eq!(a["helm.sh/hook-weight"], "-5", "{kind}");
        assert!(
            !a.contains_key("helm.sh/hook-delete-policy"),
            "an empty policy is left out: {kind}"
        );
    }
}

#[test]
fn helm_hook_makes_a_job_a_hook() {
    let ms = render_with(&[
        "settingsMigrationJob.install=true",
        "settingsMigrationJob.helmHook.enabled=true",
        "settingsMigrationJob.helmHook.hook=\"post-install\"",
    ]);
    let m = manifest(&ms, "Job", "wandb-smj");
    assert_eq!(m.phase, Phase::PostInstall);
    assert_eq!(annotations(m)["helm.sh/hook"], "post-install");
    assert_eq!(annotations(m)["helm.sh/hook-weight"], "0");

    // A hook named but not enabled is no hook, as upstream.
    let ms = render_with(&[
        "settingsMigrationJob.install=true",
        "settingsMigrationJob.helmHook.hook=\"post-install\"",
    ]);
    let m = manifest(&ms, "Job", "wandb-smj");
    assert_eq!(m.phase, Phase::Main);
    assert!(!annotations(m).contains_key("helm.sh/hook"));
}

fn volume_names(pod: &PodSpec) -> Vec<&str> {
    pod.volumes
        .iter()
        .flatten()
        .map(|v| v.name.as_str())
        .collect()
}

#[test]
fn global_opt_out_volumes_decides_on_the_ca_certificates() {
    let ms = render_with(&["lumen-agent.install=true"]);
    let pod = job_pod(job(&ms, "wandb-app-rename-pre-hook"));
    assert!(!volume_names(pod).contains(&"wandb-ca-certs"));
    assert!(
        !volume_names(cron_pod(cron_job(&ms, "wandb-lumen-agent"))).contains(&"wandb-ca-certs")
    );

    let ms = render_with(&[
        "lumen-agent.install=true",
        "lumen-agent.globalOptOut.volumes=false",
        "appRenamePreHook.globalOptOut.volumes=false",
        "app.globalOptOut.volumes=true",
    ]);
    for pod in [
        job_pod(job(&ms, "wandb-app-rename-pre-hook")),
        cron_pod(cron_job(&ms, "wandb-lumen-agent")),
    ] {
        assert!(volume_names(pod).contains(&"wandb-ca-certs"));
        let mounts: Vec<&str> = pod.containers[0]
            .volume_mounts
            .iter()
            .flatten()
            .map(|m| m.name.as_str())
            .collect();
        assert!(mounts.contains(&"wandb-ca-certs"), "{mounts:?}");
    }
    let app = deployment_pod(deployment(&ms, "wandb-app-bc"));
    assert!(!volume_names(app).contains(&"wandb-ca-certs"));
    assert!(
        app.containers[0]
            .volume_mounts
            .iter()
            .flatten()
            .all(|m| m.name != "wandb-ca-certs")
    );
}

#[test]
fn a_deployments_init_containers_take_enabled_command_and_args() {
    let ms = render_with(&[]);
    assert_eq!(
        init_names(deployment_pod(deployment(&ms, "wandb-app-bc"))),
        ["init-db"]
    );

    let ms = render_with(&[
        "app.initContainers.init-db.enabled=false",
        "global.api.enabled=true",
        "api.initContainers.migrate-db.command=[\"./megabinary\",\"migrate\"]",
        "api.initContainers.migrate-db.args=[\"--verbose\"]",
        "weave-trace.install=true",
        "weave-trace.initContainers.weave-trace-migrate.args=[\"python\",\"other.py\"]",
    ]);
    assert!(init_names(deployment_pod(deployment(&ms, "wandb-app-bc"))).is_empty());
    let migrate = init(deployment_pod(deployment(&ms, "wandb-api")), "migrate-db");
    assert_eq!(migrate.command, strings(&["./megabinary", "migrate"]));
    assert_eq!(migrate.args, strings(&["--verbose"]));
    let api = &deployment_pod(deployment(&ms, "wandb-api")).containers[0];
    assert_eq!(
        api.args,
        strings(&["gorilla"]),
        "the main container is untouched"
    );
    let weave = init(
        deployment_pod(deployment(&ms, "wandb-weave-trace-bc")),
        "weave-trace-migrate",
    );
    assert_eq!(weave.args, strings(&["python", "other.py"]));
}

#[test]
fn an_init_containers_enabled_beats_the_catalogs_condition() {
    // glue migrates the database only while api is off...
    let on = ["global.glue.enabled=true", "global.api.enabled=true"];
    let ms = render_with(&on);
    assert!(
        init_names(deployment_pod(deployment(&ms, "wandb-glue")))
            .iter()
            .all(|n| *n != "migrate-db")
    );
    // ... unless the user says otherwise.
    let ms = render_with(&[on[0], on[1], "glue.initContainers.migrate-db.enabled=true"]);
    init(deployment_pod(deployment(&ms, "wandb-glue")), "migrate-db");
}

#[test]
fn the_containers_block_does_not_reach_init_containers() {
    let ms = render_with(&["app.containers.init-db.command=[\"true\"]"]);
    let db = init(deployment_pod(deployment(&ms, "wandb-app-bc")), "init-db");
    assert_ne!(db.command, strings(&["true"]));
}

#[test]
fn a_jobs_init_container_and_enabled_lay_over_the_catalogs() {
    let ch = "clickhouseMigrationJob.jobs.ch-migrate";
    let olap_off = render_with(&["clickhouseMigrationJob.install=true"]);
    assert!(
        !olap_off
            .iter()
            .any(|m| m.object.kind() == "Job" && m.object.name() == "wandb-ch-migrate"),
        "no OLAP feature, no job"
    );
    let ms = render_with(&[
        "clickhouseMigrationJob.install=true",
        &format!("{ch}.enabled=true"),
        &format!("{ch}.initContainers.wait-for-clickhouse.command=[\"sleep\",\"1\"]"),
        &format!("{ch}.containers.ch-migrate.command=[\"./megabinary\",\"migrate\"]"),
    ]);
    let pod = job_pod(job(&ms, "wandb-ch-migrate"));
    assert_eq!(
        init(pod, "wait-for-clickhouse").command,
        strings(&["sleep", "1"])
    );
    assert_eq!(
        pod.containers[0].command,
        strings(&["./megabinary", "migrate"])
    );

    let ms = render_with(&[
        "clickhouseMigrationJob.install=true",
        "global.olap.history.enabled=true",
        &format!("{ch}.initContainers.wait-for-clickhouse.enabled=false"),
    ]);
    assert!(init_names(job_pod(job(&ms, "wandb-ch-migrate"))).is_empty());
}

#[test]
fn an_active_deadline_of_0_is_no_deadline() {
    let on = [
        "clickhouseMigrationJob.install=true",
        "global.olap.history.enabled=true",
    ];
    let deadline = |ms: &[Manifest]| {
        job(ms, "wandb-ch-migrate")
            .spec
            .as_ref()
            .unwrap()
            .active_deadline_seconds
    };
    assert_eq!(deadline(&render_with(&on)), Some(900));
    let ms = render_with(&[
        on[0],
        on[1],
        "clickhouseMigrationJob.jobs.ch-migrate.activeDeadlineSeconds=0",
    ]);
    assert_eq!(deadline(&ms), None);
}

#[test]
fn a_jobs_volumes_replace_the_catalogs() {
    let names = |pod: &PodSpec| -> Vec<String> {
        pod.volumes
            .iter()
            .flatten()
            .map(|v| v.name.clone())
            .collect()
    };
    let hook = "appRenamePreHook.jobs.app-rename-pre-hook";
    let before = names(job_pod(job(&render_with(&[]), "wandb-app-rename-pre-hook")));
    let ms = render_with(&[
        &format!(r#"{hook}.volumes=[{{"name":"scratch","emptyDir":{{}}}}]"#),
        &format!(
            r#"{hook}.containers.app-rename-pre-hook.volumeMounts=[{{"name":"scratch","mountPath":"/scratch"}}]"#
        ),
    ]);
    let pod = job_pod(job(&ms, "wandb-app-rename-pre-hook"));
    let after = names(pod);
    assert!(after.contains(&"scratch".to_string()), "{after:?}");
    for catalog_only in before
        .iter()
        .filter(|n| !n.starts_with("wandb-ca") && *n != "redis-ca")
    {
        assert!(
            !after.contains(catalog_only),
            "{catalog_only} kept: {after:?}"
        );
    }
    let mounts: Vec<_> = pod.containers[0]
        .volume_mounts
        .iter()
        .flatten()
        .map(|m| m.mount_path.as_str())
        .collect();
    assert!(mounts.contains(&"/scratch"), "{mounts:?}");
}
