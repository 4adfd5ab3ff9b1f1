//! How W&B's services reach the stores: the bucket, Kafka and Redis. A
//! credentials Secret is written only when the values don't name one.

use wandb_values::StoreKind;

use crate::context::Ctx;
use crate::objects::Manifest;

use super::{SecretValue, config_map, s, secret};

pub(super) fn bucket(ctx: &Ctx) -> Vec<Manifest> {
    let bucket = ctx.bucket();
    let mut out = vec![config_map(
        ctx,
        "bucket",
        "bucket-configmap",
        vec![
            ("BUCKET_NAME", bucket.name.clone()),
            ("BUCKET_PATH", bucket.path.clone()),
            ("AWS_REGION", bucket.region.clone()),
            ("AWS_S3_KMS_ID", bucket.kms_key.clone()),
            ("GORILLA_DEFAULT_REGION", s("minio-local")),
        ],
    )];
    if ctx.values.global.bucket.secret.secret_name.is_empty() {
        out.push(bucket_secret(ctx));
    }
    out
}

/// The bucket's keys: generated for the in-cluster object store, else as
/// given (an empty key is left out).
fn bucket_secret(ctx: &Ctx) -> Manifest {
    let bucket = ctx.bucket();
    let mut data = Vec::new();
    if ctx.in_cluster(StoreKind::ObjectStore) {
        data.push((bucket.access_key_name.as_str(), SecretValue::Generated(32)));
        data.push((bucket.secret_key_name.as_str(), SecretValue::Generated(48)));
    } else {
        if !bucket.access_key.is_empty() {
            data.push((
                bucket.access_key_name.as_str(),
                SecretValue::Given(bucket.access_key.clone()),
            ));
        }
        if !bucket.secret_key.is_empty() {
            data.push((
                bucket.secret_key_name.as_str(),
                SecretValue::Given(bucket.secret_key.clone()),
            ));
        }
    }
    secret(ctx, "bucket", &bucket.secret_name, data)
}

pub(super) fn kafka(ctx: &Ctx) -> Vec<Manifest> {
    let g = &ctx.values.global;
    let mut out = vec![config_map(
        ctx,
        "kafka",
        "kafka-configmap",
        vec![
            ("KAFKA_BROKER_HOST", ctx.kafka_broker_host()),
            ("KAFKA_BROKER_PORT", g.kafka.broker_port.to_string()),
            ("KAFKA_CLIENT_USER", ctx.kafka_user()),
            ("KAFKA_TOPIC_RUN_UPDATE_SHADOW_QUEUE", ctx.kafka_topic()),
            (
                "KAFKA_RUN_UPDATE_SHADOW_QUEUE_NUM_PARTITIONS",
                g.kafka.run_updates_shadow_num_partitions.to_string(),
            ),
        ],
    )];
    if g.kafka.password_secret.name.is_empty() {
        out.push(secret(
            ctx,
            "kafka",
            &ctx.kafka_secret(),
            vec![(
                "KAFKA_CLIENT_PASSWORD",
                SecretValue::Given(ctx.kafka_password()),
            )],
        ));
    }
    out
}

pub(super) fn redis(ctx: &Ctx) -> Vec<Manifest> {
    let g = &ctx.values.global;
    let mut out = vec![config_map(
        ctx,
        "redis",
        "redis-configmap",
        vec![
            ("REDIS_PORT", ctx.redis_port()),
            ("REDIS_HOST", ctx.redis_host()),
            ("REDIS_PARAMS", ctx.redis_params()),
        ],
    )];
    if g.redis.secret.secret_name.is_empty() {
        out.push(secret(
            ctx,
            "redis",
            &ctx.redis_secret(),
            vec![
                (
                    "REDIS_PASSWORD",
                    SecretValue::Given(g.redis.password.clone()),
                ),
                ("REDIS_CA_CERT", SecretValue::Given(g.redis.ca_cert.clone())),
            ],
        ));
    }
    out
}
