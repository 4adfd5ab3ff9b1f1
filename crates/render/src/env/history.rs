//! What the document's history-store facts compute: the stores gorilla
//! reads history from, in order.

use crate::context::{Ctx, MYSQL_DSN};

pub fn history_store(ctx: &Ctx) -> String {
    let g = &ctx.values.global;
    let mut stores = Vec::new();
    if g.history_store.history_reader_enabled {
        stores.push(format!(
            "historyreader://{}:9244",
            ctx.name("history-reader")
        ));
    }
    if g.history_store.parquet_use_grpc {
        stores.push(format!("grpc://{}:8088", ctx.name("parquet-grpc")));
    }
    stores.push(format!("http://{}:8087/_goRPC_", ctx.name("parquet")));
    if !g.history_store.parquet_only {
        let bt = &g.bigtable;
        if bt.v3.enabled {
            stores.push(format!("bigtablev3://{}/{}", bt.project, bt.instance));
        }
        if bt.v2.enabled {
            stores.push(format!("bigtablev2://{}/{}", bt.project, bt.instance));
        }
        if !bt.v2.enabled && !bt.v3.enabled {
            stores.push(MYSQL_DSN.into());
        }
    }
    stores.join(",")
}

pub fn live_history_store(ctx: &Ctx) -> String {
    let bt = &ctx.values.global.bigtable;
    let mut stores = Vec::new();
    if bt.v3.enabled {
        stores.push(format!("bigtablev3://{}/{}", bt.project, bt.instance));
    }
    if bt.v2.enabled {
        stores.push(format!("bigtablev2://{}/{}", bt.project, bt.instance));
    }
    if stores.is_empty() {
        MYSQL_DSN.into()
    } else {
        stores.join(",")
    }
}

pub fn file_stream_worker_store(ctx: &Ctx) -> String {
    let bt = &ctx.values.global.bigtable;
    let mut stores = Vec::new();
    if bt.v2.enabled {
        stores.push(format!("bigtablev2://{}/{}", bt.project, bt.instance));
    }
    if bt.v3.enabled {
        stores.push(format!("bigtablev3://{}/{}", bt.project, bt.instance));
    }
    stores.join(",")
}
