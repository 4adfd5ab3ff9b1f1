//! Backups of the install's MySQL database (this operator's addition: the
//! upstream chart has none): a CronJob that dumps the database in one
//! transaction and uploads it to an S3-compatible bucket.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::stores::{Store, StoreImage};

/// `backup`: `install: true` turns the CronJob on; the store keys
/// (image: the MySQL client; resources, nodeSelector, tolerations,
/// affinity, priorityClassName, podLabels, podAnnotations) shape its pod.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct BackupValues {
    #[serde(flatten)]
    pub base: Store,
    /// When it runs, as a CronJob's schedule (`0 3 * * *`: at 03:00 UTC).
    pub schedule: String,
    /// How many backups to keep; older ones are deleted after each backup.
    pub retention: i64,
    /// Where in the bucket the backups go (`backups/mysql/`).
    pub prefix: String,
    /// The container that uploads (curl 7.75 or later).
    pub uploader: Uploader,
    /// Another bucket than the install's; empty keeps the install's.
    pub bucket: BackupBucket,
}

/// The uploading container.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Uploader {
    pub image: StoreImage,
}

/// An S3-compatible bucket for the backups, with its credentials from a Secret.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct BackupBucket {
    /// `https://s3.us-east-1.amazonaws.com`, `http://minio.example:9000`.
    pub endpoint: String,
    pub name: String,
    pub region: String,
    /// The Secret that holds the access key and the secret key.
    pub secret_name: String,
    pub access_key_name: String,
    pub secret_key_name: String,
}

impl BackupBucket {
    pub fn is_set(&self) -> bool {
        !self.name.is_empty()
    }
}
