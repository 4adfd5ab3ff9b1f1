//! What the hooks and jobs read: the app-rename scripts and the settings
//! migration's Secret.

use crate::context::Ctx;
use crate::objects::{Manifest, Phase};

use super::{SecretValue, b, config_map, s, secret};

const APP_RENAME_PRE: &str = include_str!("../../files/app-rename-pre-upgrade.sh");
const APP_RENAME_POST: &str = include_str!("../../files/app-rename-post-upgrade.sh");

/// The app-rename hooks' scripts, when either hook runs.
pub(super) fn app_rename_hooks(ctx: &Ctx) -> Vec<Manifest> {
    let v = ctx.values;
    if v.app_rename_pre_hook.install != Some(true) && v.app_rename_post_hook.install != Some(true) {
        return Vec::new();
    }
    vec![
        config_map(
            ctx,
            "appRenamePreHook",
            "app-rename-cleanup",
            vec![
                ("pre_upgrade.sh", s(APP_RENAME_PRE)),
                ("post_upgrade.sh", s(APP_RENAME_POST)),
            ],
        )
        .in_phase(Phase::PreInstall),
    ]
}

pub(super) fn settings_migration_job(ctx: &Ctx) -> Vec<Manifest> {
    if ctx.values.settings_migration_job.install != Some(true) {
        return Vec::new();
    }
    let smj = &ctx.values.global.settings_migration_job;
    let bucket = ctx.bucket();
    vec![secret(
        ctx,
        "settingsMigrationJob",
        &ctx.name("smj-secret"),
        vec![
            ("SMJ_DEBUG", SecretValue::Given(b(smj.debug))),
            ("SMJ_DRY_RUN", SecretValue::Given(b(smj.dry_run))),
            ("AWS_REGION", SecretValue::Given(bucket.region.clone())),
            ("AWS_S3_KMS_ID", SecretValue::Given(bucket.kms_key.clone())),
        ],
    )]
}
