//! The service's Jobs and CronJobs.

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec, Job, JobSpec, JobTemplateSpec};
use wandb_values::{CronJobValues, Flag, JobValues};

use super::Build;
use super::overrides::{Overrides, PodContainers};
use crate::objects::Object;

impl Build<'_, '_> {
    pub(super) fn jobs(&self) -> Vec<Object> {
        let mut out = Vec::new();
        let unset = JobValues::default();
        for (name, job) in &self.spec.jobs {
            let user = self.values.jobs.get(name).unwrap_or(&unset);
            // The user's `enabled` beats the catalog's condition.
            let enabled = user
                .enabled
                .as_ref()
                .map_or_else(|| self.holds(job.when.as_ref()), Flag::is_on);
            if !enabled {
                continue;
            }
            let mut meta = self.meta(&self.ctx.name(name));
            self.hook_annotations(&mut meta);
            let restart = user.restart_policy.as_ref().or(job.restart_policy.as_ref());
            out.push(Object::Job(Job {
                metadata: meta,
                spec: Some(JobSpec {
                    backoff_limit: user.backoff_limit.or(job.backoff_limit),
                    // 0 is no deadline: upstream leaves it out (the API refuses 0).
                    active_deadline_seconds: match user.active_deadline_seconds {
                        Some(0) => None,
                        Some(s) => Some(s),
                        None => job.active_deadline_seconds,
                    },
                    ttl_seconds_after_finished: user
                        .ttl_seconds_after_finished
                        .or(job.ttl_seconds_after_finished),
                    template: self.pod(
                        PodContainers {
                            containers: &job.containers,
                            init_containers: &job.init_containers,
                            overrides: Overrides::Job(user),
                        },
                        &job.volumes,
                        &job.volume_groups,
                        Some(restart.map_or("Never", |r| r.as_str()).to_string()),
                        None,
                    ),
                    ..Default::default()
                }),
                status: None,
            }));
        }
        out
    }

    pub(super) fn cron_jobs(&self) -> Vec<Object> {
        let mut out = Vec::new();
        let unset = CronJobValues::default();
        for (name, cron) in &self.spec.cron_jobs {
            let user = self.values.cron_jobs.get(name).unwrap_or(&unset);
            let enabled = user.enabled.as_ref().map_or(cron.enabled, Flag::is_on);
            let suspend = user.suspend.unwrap_or(false) || !enabled;
            let restart = user
                .restart_policy
                .as_ref()
                .or(cron.restart_policy.as_ref());
            out.push(Object::CronJob(CronJob {
                metadata: self.meta(&self.ctx.name(name)),
                spec: Some(CronJobSpec {
                    concurrency_policy: user
                        .concurrency_policy
                        .clone()
                        .or_else(|| cron.concurrency_policy.clone()),
                    schedule: user
                        .schedule
                        .clone()
                        .unwrap_or_else(|| cron.schedule.clone()),
                    suspend: Some(suspend),
                    successful_jobs_history_limit: user
                        .successful_jobs_history_limit
                        .or(cron.successful_jobs_history_limit),
                    failed_jobs_history_limit: user
                        .failed_jobs_history_limit
                        .or(cron.failed_jobs_history_limit),
                    starting_deadline_seconds: user
                        .starting_deadline_seconds
                        .or(cron.starting_deadline_seconds),
                    job_template: JobTemplateSpec {
                        metadata: None,
                        spec: Some(JobSpec {
                            backoff_limit: user.backoff_limit.or(cron.backoff_limit),
                            ttl_seconds_after_finished: user.ttl_seconds_after_finished,
                            template: self.pod(
                                PodContainers {
                                    containers: &cron.containers,
                                    init_containers: &BTreeMap::new(),
                                    overrides: Overrides::CronJob(user),
                                },
                                &cron.volumes,
                                &cron.volume_groups,
                                Some(restart.map_or("Never", |r| r.as_str()).to_string()),
                                None,
                            ),
                            ..Default::default()
                        }),
                    },
                    ..Default::default()
                }),
                status: None,
            }));
        }
        out
    }
}
