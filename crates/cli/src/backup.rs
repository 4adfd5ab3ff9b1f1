//! `wandb-operator backup now|list|restore`: the MySQL backups that the
//! `backup` values schedule. Every step runs in the cluster as a Job made
//! from the backup CronJob's own pod (its images, env and Secrets), so the
//! bucket and the database need not be reachable from here.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Container, EnvVar, PodSpec, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::{Resource, ResourceExt};
use serde_json::json;
use wandb_operator_core::conditions::{reasons, types};
use wandb_operator_core::crd::WeightsAndBiases;

#[derive(Args, Debug)]
#[command(after_help = "Examples:\n  \
    wandb-operator backup now --wait\n  \
    wandb-operator backup list\n  \
    wandb-operator backup restore wandb-mysql-20261202T030000Z.sql.gz --force")]
pub struct BackupArgs {
    /// Name of the WeightsAndBiases resource.
    #[arg(long, default_value = "wandb", global = true)]
    pub name: String,
    /// Namespace of the install (default: the kubeconfig's).
    #[arg(short = 'n', long, global = true)]
    pub namespace: Option<String>,
    /// How long to wait for a step (e.g. 90s, 10m).
    #[arg(long, default_value = "30m", value_parser = crate::apply::parse_duration, global = true)]
    pub timeout: Duration,
    #[command(subcommand)]
    pub action: Action,
}

#[derive(Subcommand, Debug)]
pub enum Action {
    /// Start a backup now, as the schedule would.
    Now {
        /// Wait until it has completed.
        #[arg(long)]
        wait: bool,
    },
    /// List the backups in the bucket, oldest first.
    List,
    /// Restore a backup into the install's database: the W&B services are
    /// stopped (spec.stopped) meanwhile and started again once it succeeded.
    Restore {
        /// The backup's name, as `list` prints it.
        backup: String,
        /// Restore into a database that has tables (the install's own,
        /// usually): the backup's tables replace theirs.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Kube(#[from] kube::Error),
    #[error(
        "CronJob {0} not found: backups are off; turn them on with backup.install=true in the values"
    )]
    NoCronJob(String),
    #[error("CronJob {0} has no pod template with the dump and upload containers")]
    NotABackupCronJob(String),
    #[error("{0}")]
    Failed(String),
    #[error("{what}: not done after {after:?}")]
    Timeout { what: String, after: Duration },
}

/// The CronJob of an install's backups.
pub fn cron_job_name(install: &str) -> String {
    format!("{install}-mysql-backup")
}

fn template(cron: &CronJob) -> Option<&PodTemplateSpec> {
    Some(&cron.spec.as_ref()?.job_template.spec.as_ref()?.template)
}

/// The pod of the backup CronJob: its `dump` (MySQL client) and `upload`
/// (bucket) containers.
fn containers(cron: &CronJob) -> Option<(PodSpec, Container, Container)> {
    let pod = template(cron)?.spec.clone()?;
    let dump = pod
        .init_containers
        .iter()
        .flatten()
        .find(|c| c.name == "dump")?
        .clone();
    let upload = pod.containers.iter().find(|c| c.name == "upload")?.clone();
    Some((pod, dump, upload))
}

fn script(container: &Container, command: &str) -> Container {
    Container {
        command: Some(vec!["sh".into(), "-ec".into(), command.into()]),
        ..container.clone()
    }
}

/// A Job of the CronJob's pod, owned by the CronJob (so that it goes with
/// it), with these containers.
fn job(
    cron: &CronJob,
    name: &str,
    purpose: &str,
    init: Vec<Container>,
    main: Vec<Container>,
) -> Option<Job> {
    let (pod, _, _) = containers(cron)?;
    let mut template = template(cron)?.clone();
    template.spec = Some(PodSpec {
        init_containers: (!init.is_empty()).then_some(init),
        containers: main,
        restart_policy: Some("Never".into()),
        ..pod
    });
    let owner = OwnerReference {
        api_version: "batch/v1".into(),
        kind: "CronJob".into(),
        name: cron.name_any(),
        uid: cron.meta().uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: None,
    };
    Some(Job {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: cron.namespace(),
            labels: cron.metadata.labels.clone(),
            annotations: Some(
                [
                    (
                        "cronjob.kubernetes.io/instantiate".to_string(),
                        "manual".to_string(),
                    ),
                    ("apps.wandb.com/backup".to_string(), purpose.to_string()),
                ]
                .into(),
            ),
            owner_references: Some(vec![owner]),
            ..Default::default()
        },
        spec: Some(k8s_openapi::api::batch::v1::JobSpec {
            backoff_limit: Some(0),
            ttl_seconds_after_finished: Some(3600),
            template,
            ..Default::default()
        }),
        status: None,
    })
}

/// The Job of a backup now: the CronJob's own pod.
pub fn backup_job(cron: &CronJob, name: &str) -> Option<Job> {
    let (pod, _, _) = containers(cron)?;
    let init = pod.init_containers.unwrap_or_default();
    job(cron, name, "backup", init, pod.containers)
}

/// The Job that lists the backups: the upload container, running `list`.
pub fn list_job(cron: &CronJob, name: &str) -> Option<Job> {
    let (_, _, upload) = containers(cron)?;
    let list = script(&upload, "sh /scripts/mysql-backup.sh list");
    job(cron, name, "list", vec![], vec![list])
}

/// The Job that restores `backup`: the upload container downloads it, the
/// dump container (the MySQL client) restores it.
pub fn restore_job(cron: &CronJob, name: &str, backup: &str, force: bool) -> Option<Job> {
    let (_, dump, upload) = containers(cron)?;
    let file = format!("/backup/{backup}");
    let download = script(
        &Container {
            name: "download".into(),
            ..upload
        },
        &format!(
            "sh /scripts/mysql-backup.sh download {} {}",
            quote(backup),
            quote(&file)
        ),
    );
    let mut restore = script(
        &Container {
            name: "restore".into(),
            ..dump
        },
        &format!("sh /scripts/mysql-backup.sh restore {}", quote(&file)),
    );
    restore.env.get_or_insert_with(Vec::new).push(EnvVar {
        name: "BACKUP_FORCE".into(),
        value: Some(force.to_string()),
        value_from: None,
    });
    job(cron, name, "restore", vec![download], vec![restore])
}

/// A backup name in a shell word: only the names the backups have.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', ""))
}

/// A backup's name is one the CronJob makes: `wandb-mysql-<time>.sql.gz`.
pub fn check_name(backup: &str) -> Result<(), Error> {
    let ok = backup.starts_with("wandb-mysql-")
        && backup.ends_with(".sql.gz")
        && backup
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'));
    if ok {
        Ok(())
    } else {
        Err(Error::Failed(format!(
            "{backup:?} is not the name of a backup (wandb-mysql-<time>.sql.gz, as `wandb-operator backup list` prints)"
        )))
    }
}

pub fn run(args: BackupArgs) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: starting the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(execute(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn execute(args: BackupArgs) -> Result<(), Error> {
    let client = kube::Client::try_default().await?;
    let namespace = args
        .namespace
        .clone()
        .unwrap_or_else(|| client.default_namespace().to_string());
    let crons: Api<CronJob> = Api::namespaced(client.clone(), &namespace);
    let cron_name = cron_job_name(&args.name);
    let cron = crons
        .get_opt(&cron_name)
        .await?
        .ok_or_else(|| Error::NoCronJob(format!("{namespace}/{cron_name}")))?;
    let jobs: Api<Job> = Api::namespaced(client.clone(), &namespace);
    let stamp = jiff_stamp();
    let not_backup = || Error::NotABackupCronJob(cron_name.clone());
    match args.action {
        Action::Now { wait } => {
            let name = format!("{cron_name}-{stamp}");
            let job = backup_job(&cron, &name).ok_or_else(not_backup)?;
            jobs.create(&PostParams::default(), &job).await?;
            println!("started Job {name}");
            if wait {
                wait_job(&jobs, &name, args.timeout).await?;
                println!("Job {name} completed: the backup is in the bucket");
            }
            Ok(())
        }
        Action::List => {
            let name = format!("{cron_name}-list-{stamp}");
            let job = list_job(&cron, &name).ok_or_else(not_backup)?;
            jobs.create(&PostParams::default(), &job).await?;
            wait_job(&jobs, &name, args.timeout).await?;
            let log = job_log(&client, &namespace, &name).await?;
            print!("{log}");
            Ok(())
        }
        Action::Restore { backup, force } => {
            check_name(&backup)?;
            restore(
                &client,
                &namespace,
                &args.name,
                &cron,
                &backup,
                force,
                args.timeout,
            )
            .await
        }
    }
}

/// Stops the services, restores, starts them again; a failed restore
/// leaves them stopped: the database may hold part of the backup.
async fn restore(
    client: &kube::Client,
    namespace: &str,
    install: &str,
    cron: &CronJob,
    backup: &str,
    force: bool,
    timeout: Duration,
) -> Result<(), Error> {
    let installs: Api<WeightsAndBiases> = Api::namespaced(client.clone(), namespace);
    let resource = installs.get(install).await?;
    let was_stopped = resource.spec.stopped;
    set_stopped(&installs, install, true).await?;
    println!("stopping the W&B services of {namespace}/{install} (spec.stopped)");
    wait_stopped(&installs, install, timeout).await?;
    let name = format!("{}-restore-{}", cron_job_name(install), jiff_stamp());
    let job = restore_job(cron, &name, backup, force)
        .ok_or_else(|| Error::NotABackupCronJob(cron.name_any()))?;
    let jobs: Api<Job> = Api::namespaced(client.clone(), namespace);
    jobs.create(&PostParams::default(), &job).await?;
    println!("restoring {backup} (Job {name})");
    if let Err(e) = wait_job(&jobs, &name, timeout).await {
        let log = job_log(client, namespace, &name).await.unwrap_or_default();
        return Err(Error::Failed(format!(
            "{e}; the services stay stopped (the database may hold part of the backup): \
             fix the cause, restore again, then set spec.stopped to false{}",
            if log.is_empty() {
                String::new()
            } else {
                format!("\n{log}")
            }
        )));
    }
    if !was_stopped {
        set_stopped(&installs, install, false).await?;
        println!("restored {backup}; the services start again (spec.stopped: false)");
    } else {
        println!("restored {backup}; the install was stopped before and stays so");
    }
    Ok(())
}

async fn set_stopped(api: &Api<WeightsAndBiases>, name: &str, stopped: bool) -> Result<(), Error> {
    let patch = json!({"spec": {"stopped": stopped}});
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    Ok(())
}

/// Until the operator reports the install stopped for the current spec.
async fn wait_stopped(
    api: &Api<WeightsAndBiases>,
    name: &str,
    timeout: Duration,
) -> Result<(), Error> {
    let start = Instant::now();
    loop {
        let w = api.get(name).await?;
        let status = w.status.as_ref();
        let observed = status.and_then(|s| s.observed_generation) == w.metadata.generation;
        let stopped = status.is_some_and(|s| {
            s.conditions
                .iter()
                .any(|c| c.type_ == types::READY && c.reason == reasons::STOPPED)
        });
        if observed && stopped {
            return Ok(());
        }
        if start.elapsed() > timeout {
            return Err(Error::Timeout {
                what: format!("stopping {name}'s services"),
                after: timeout,
            });
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Until the Job completed; its failure is an error.
async fn wait_job(jobs: &Api<Job>, name: &str, timeout: Duration) -> Result<(), Error> {
    let start = Instant::now();
    loop {
        let job = jobs.get(name).await?;
        let conditions = job
            .status
            .as_ref()
            .and_then(|s| s.conditions.clone())
            .unwrap_or_default();
        let holds = |t: &str| {
            conditions
                .iter()
                .any(|c| c.type_ == t && c.status == "True")
        };
        if holds("Complete") {
            return Ok(());
        }
        if holds("Failed") {
            return Err(Error::Failed(format!("Job {name} failed")));
        }
        if start.elapsed() > timeout {
            return Err(Error::Timeout {
                what: format!("Job {name}"),
                after: timeout,
            });
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// The log of a Job's pod.
async fn job_log(client: &kube::Client, namespace: &str, job: &str) -> Result<String, Error> {
    wandb_operator_core::logs::job_log(client, namespace, job, None, &|_| {})
        .await
        .map_err(|e| Error::Failed(format!("the log of Job {job}'s pod could not be read: {e}")))
}

/// `20261202t031500z`: Job names are lowercase.
fn jiff_stamp() -> String {
    k8s_openapi::jiff::Timestamp::now()
        .strftime("%Y%m%dt%H%M%Sz")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The CronJob as the render makes it.
    fn cron() -> CronJob {
        let loaded = wandb_render::builtin::from_user_tree(json!({
            "global": {"host": "https://wandb.example.com", "license": "l"},
            "backup": {"install": true},
        }))
        .expect("valid values");
        let manifests = wandb_render::builtin::render(
            &loaded.values,
            &wandb_render::Release::new("wandb", "wandb"),
        );
        manifests
            .into_iter()
            .find_map(|m| match m.object {
                wandb_render::Object::CronJob(c) if c.name_any() == "wandb-mysql-backup" => Some(c),
                _ => None,
            })
            .expect("the backup CronJob")
    }

    fn pod(job: &Job) -> &PodSpec {
        job.spec
            .as_ref()
            .and_then(|s| s.template.spec.as_ref())
            .expect("a pod")
    }

    #[test]
    fn a_backup_now_is_the_cronjobs_own_pod() {
        let cron = cron();
        let job = backup_job(&cron, "wandb-mysql-backup-x").expect("a Job");
        let expected = cron
            .spec
            .as_ref()
            .unwrap()
            .job_template
            .spec
            .as_ref()
            .unwrap();
        assert_eq!(
            pod(&job).containers,
            expected.template.spec.as_ref().unwrap().containers
        );
        assert_eq!(
            job.metadata.owner_references.as_ref().unwrap()[0].kind,
            "CronJob"
        );
    }

    #[test]
    fn a_restore_downloads_then_restores_with_the_mysql_client() {
        let cron = cron();
        let job =
            restore_job(&cron, "r", "wandb-mysql-20261202T030000Z.sql.gz", true).expect("a Job");
        let pod = pod(&job);
        let download = &pod.init_containers.as_ref().unwrap()[0];
        let restore = &pod.containers[0];
        assert_eq!(download.name, "download");
        assert!(download.image.as_deref().unwrap().contains("curl"));
        assert!(
            download.command.as_ref().unwrap()[2].contains(
                "download 'wandb-mysql-20261202T030000Z.sql.gz' '/backup/wandb-mysql-20261202T030000Z.sql.gz'"
            )
        );
        assert!(restore.image.as_deref().unwrap().contains("mysql"));
        assert!(restore.command.as_ref().unwrap()[2].contains("restore '/backup/"));
        let force = restore
            .env
            .iter()
            .flatten()
            .find(|e| e.name == "BACKUP_FORCE");
        assert_eq!(force.and_then(|e| e.value.as_deref()), Some("true"));
        // The bucket's keys stay with the container that reads the bucket.
        assert!(
            restore
                .env
                .iter()
                .flatten()
                .all(|e| e.name != "AWS_SECRET_ACCESS_KEY")
        );
    }

    #[test]
    fn a_list_runs_the_upload_container() {
        let job = list_job(&cron(), "l").expect("a Job");
        let pod = pod(&job);
        assert!(pod.init_containers.is_none());
        assert!(pod.containers[0].command.as_ref().unwrap()[2].ends_with("mysql-backup.sh list"));
    }

    #[test]
    fn only_backup_names_are_restored() {
        assert!(check_name("wandb-mysql-20261202T030000Z.sql.gz").is_ok());
        for bad in [
            "x.sql.gz",
            "wandb-mysql-a';rm -rf /'.sql.gz",
            "wandb-mysql-1.sql",
        ] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
