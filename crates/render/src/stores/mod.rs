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

use crate::context::Ctx;
use crate::objects::Manifest;

pub fn build(ctx: &Ctx) -> Vec<Manifest> {
    let v = ctx.values;
    let mut out = Vec::new();
    if ctx.stores.mysql {
        out.extend(mysql::build(ctx));
    }
    if ctx.stores.redis {
        out.extend(redis::build(ctx));
    }
    if ctx.stores.clickhouse {
        out.extend(clickhouse::build(ctx));
    }
    if ctx.stores.kafka {
        out.extend(kafka::build(ctx));
    }
    if ctx.stores.bufstream {
        out.extend(etcd::build(ctx));
        out.extend(bufstream::build(ctx));
    }
    if ctx.stores.object_store {
        out.extend(object_store::build(ctx));
    }
    if v.otel.install {
        out.extend(otel::build(ctx));
    }
    if v.prometheus.install {
        out.extend(exporters::build(ctx));
    }
    if v.stackdriver.base.install == Some(true) {
        out.extend(cloud_exporters::stackdriver(ctx));
    }
    if v.yace.base.install == Some(true) {
        out.extend(cloud_exporters::yace(ctx));
    }
    if v.backup.base.install == Some(true) {
        out.extend(backup::build(ctx));
    }
    out
}
