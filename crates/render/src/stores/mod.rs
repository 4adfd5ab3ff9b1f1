//! The in-cluster stores of a proof-of-concept install (MySQL 8, Redis 7,
//! ClickHouse, Kafka or bufstream + etcd, an S3-compatible object store),
//! the otel collector and the Prometheus exporters; one file each.
//!
//! Object names, images, env vars and ports follow the upstream chart's
//! subcharts, so that an install moved from it finds its volumes.

mod backup;
mod bufstream;
mod bufstream_config;
mod clickhouse;
mod cloud_exporters;
mod common;
mod etcd;
mod exporters;
mod kafka;
mod mysql;
mod object_store;
mod otel;
mod redis;

pub use bufstream_config::bucket_and_endpoint as bufstream_bucket;
pub use clickhouse::clustered as clickhouse_clustered;
pub use etcd::replicas as etcd_replicas;

use wandb_values::StoreKind;

use crate::context::Ctx;
use crate::objects::{Manifest, Stage};

pub fn build(ctx: &Ctx) -> Vec<Manifest> {
    let v = ctx.values;
    let mut out: Vec<Manifest> = StoreKind::ALL
        .into_iter()
        .filter(|store| ctx.in_cluster(*store))
        .flat_map(|store| build_store(ctx, store))
        .map(|m| m.in_stage(Stage::Stores))
        .collect();
    // The collector and the exporters read the stores; they come up with the services.
    let extras = [
        (v.otel.install, otel::build as fn(&Ctx) -> Vec<Manifest>),
        (v.prometheus.install, exporters::build),
        (
            v.stackdriver.base.install == Some(true),
            cloud_exporters::stackdriver,
        ),
        (v.yace.base.install == Some(true), cloud_exporters::yace),
        (v.backup.base.install == Some(true), backup::build),
    ];
    for (on, build) in extras {
        if on {
            out.extend(build(ctx));
        }
    }
    out
}

/// The objects of one in-cluster store.
fn build_store(ctx: &Ctx, store: StoreKind) -> Vec<Manifest> {
    match store {
        StoreKind::Mysql => mysql::build(ctx),
        StoreKind::Redis => redis::build(ctx),
        StoreKind::ObjectStore => object_store::build(ctx),
        StoreKind::Clickhouse => clickhouse::build(ctx),
        StoreKind::Kafka => kafka::build(ctx),
        StoreKind::Bufstream => bufstream::build(ctx),
        StoreKind::Etcd => etcd::build(ctx),
    }
}
