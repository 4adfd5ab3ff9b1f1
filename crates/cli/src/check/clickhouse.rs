//! ClickHouse of weave-trace (`global.clickhouse.host` other than the
//! in-cluster service), over its HTTP interface: `/ping`, then
//! `SELECT version()` as the configured user. Port 8443 or 443 means https.

use std::time::Duration;

use wandb_render::Ctx;

use wandb_values::StoreKind;

use super::http::{self, Endpoint};
use super::net;
use super::{Cluster, Lines, Source, in_cluster};

const STORE: &str = "clickhouse";

pub async fn check(ctx: &Ctx<'_>, cluster: &Cluster, timeout: Duration) -> Lines {
    let mut lines = Lines::new(STORE);
    let c = &ctx.values.global.clickhouse;
    if ctx.in_cluster(StoreKind::Clickhouse) {
        in_cluster(&mut lines);
        return lines;
    }
    if !c.host.is_ref() && ctx.clickhouse_host() == ctx.in_cluster_clickhouse_host() {
        // The default host with the in-cluster ClickHouse switched off.
        lines.skip(
            "in-cluster",
            "clickhouse.install is false and global.clickhouse.host is the in-cluster service: \
             weave-trace has no ClickHouse (only needed with global.weave-trace.enabled)",
        );
        return lines;
    }
    let password = if c.password.is_ref() {
        Source::of(&c.password)
    } else if !c.password_secret.name.is_empty() {
        Source::Secret {
            name: c.password_secret.name.clone(),
            key: c.password_secret.password_key.clone(),
        }
    } else {
        Source::of(&c.password)
    };
    let host = if c.host.is_ref() {
        Source::of(&c.host)
    } else {
        Source::plain(&ctx.clickhouse_host())
    };
    let port = if c.port.is_ref() {
        Source::of(&c.port)
    } else {
        Source::plain(&ctx.clickhouse_port())
    };
    let host = host.resolve("host", cluster, &mut lines).await;
    let port = port.resolve("port", cluster, &mut lines).await;
    let user = Source::of(&c.user)
        .resolve("user", cluster, &mut lines)
        .await;
    let password = password.resolve("password", cluster, &mut lines).await;
    let (Ok(Some(host)), Ok(port), Ok(user), Ok(password)) = (host, port, user, password) else {
        lines.skip("ping", "needs the settings above");
        return lines;
    };
    let port = match net::port(port.as_deref().unwrap_or("8443"), "global.clickhouse.port") {
        Ok(p) => p,
        Err((detail, hint)) => {
            lines.fail("port", detail, hint);
            return lines;
        }
    };
    let Some(password) = password else {
        lines.fail(
            "password",
            "no password given: W&B would use a generated one, which your ClickHouse does not know",
            "set global.clickhouse.password, or global.clickhouse.passwordSecret.name (key \
             global.clickhouse.passwordSecret.passwordKey) to a Secret holding it",
        );
        return lines;
    };
    let user = user.unwrap_or_else(|| "default".into());
    let endpoint = Endpoint {
        https: port == 8443 || port == 443,
        host,
        port,
    };
    probe(&mut lines, &endpoint, &user, &password, timeout).await;
    lines
}

pub async fn probe(
    lines: &mut Lines,
    endpoint: &Endpoint,
    user: &str,
    password: &str,
    timeout: Duration,
) {
    let url = endpoint.url();
    match http::request(endpoint, "GET", "/ping", &[], vec![], None, timeout).await {
        Ok(r) if r.status == 200 && r.text().trim() == "Ok." => {
            lines.pass("ping", format!("{url}/ping answered Ok."))
        }
        Ok(r) => {
            lines.fail(
                "ping",
                format!(
                    "{url}/ping answered HTTP {}: {}",
                    r.status,
                    short(&r.text())
                ),
                "is this ClickHouse's HTTP port (8123, or 8443 with TLS)? \
                 set global.clickhouse.port",
            );
            lines.skip("query", "needs /ping");
            return;
        }
        Err((detail, hint)) => {
            lines.fail("ping", detail, hint);
            lines.skip("query", "needs a connection");
            return;
        }
    }
    let headers = vec![
        ("x-clickhouse-user".to_string(), user.to_string()),
        ("x-clickhouse-key".to_string(), password.to_string()),
        ("content-type".to_string(), "text/plain".to_string()),
    ];
    let sql = b"SELECT version()".to_vec();
    match http::request(endpoint, "POST", "/", &headers, sql, None, timeout).await {
        Ok(r) if r.status == 200 => lines.pass(
            "query",
            format!("SELECT version() as {user}: ClickHouse {}", r.text().trim()),
        ),
        Ok(r) => {
            let text = r.text();
            let hint = if text.contains("Authentication failed")
                || text.contains("AUTHENTICATION_FAILED")
                || r.status == 401
                || r.status == 403
            {
                "wrong user or password: check global.clickhouse.user and the password \
                 (global.clickhouse.password or its Secret)"
            } else {
                "see the server's answer above"
            };
            lines.fail(
                "query",
                format!(
                    "SELECT version() as {user}: HTTP {}: {}",
                    r.status,
                    short(&text)
                ),
                hint,
            )
        }
        Err((detail, hint)) => lines.fail("query", detail, hint),
    }
}

fn short(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default().trim();
    if line.chars().count() > 160 {
        format!("{}...", line.chars().take(160).collect::<String>())
    } else {
        line.to_string()
    }
}
