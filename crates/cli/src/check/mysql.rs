//! MySQL (`global.mysql.host` set): connect as W&B will, the server's
//! version, the right to create tables, and the database's character set.

use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder, SslOpts};
use wandb_render::Ctx;
use wandb_render::context::is_unset;
use wandb_values::{MysqlGlobal, StoreKind};

use super::net::{self, Problem, within};
use super::{Cluster, Lines, Source, in_cluster, seconds};

const STORE: &str = "mysql";

pub async fn check(ctx: &Ctx<'_>, cluster: &Cluster, timeout: Duration) -> Lines {
    let mut lines = Lines::new(STORE);
    let m = &ctx.values.global.mysql;
    if ctx.in_cluster(StoreKind::Mysql) {
        in_cluster(&mut lines);
        return lines;
    }
    if is_unset(&m.host) {
        lines.fail(
            "host",
            "mysql.install is false but global.mysql.host is empty",
            "set global.mysql.host to your MySQL server, or leave mysql.install on",
        );
        return lines;
    }
    let Some(settings) = settings(m, cluster, &mut lines).await else {
        return lines;
    };
    let Some(mut conn) = open(&settings, timeout, &mut lines).await else {
        return lines;
    };

    // Version: W&B supports MySQL 8.0 and newer; MariaDB is another server.
    match query_one(&mut conn, "SELECT VERSION()", timeout).await {
        Ok(version) => version_line(&mut lines, &version),
        Err((detail, hint)) => lines.fail("version", detail, hint),
    }
    create_table_line(&mut conn, &settings, timeout, &mut lines).await;
    charset_line(&mut conn, &settings.database, timeout, &mut lines).await;

    let _ = tokio::time::timeout(timeout, conn.disconnect()).await;
    lines
}

/// What W&B connects with, read from the values and the cluster.
struct Settings {
    host: String,
    port: u16,
    user: String,
    database: String,
    password: String,
    ca: Option<String>,
}

/// The settings, as the W&B pods will see them; `None` once a line says
/// why they cannot be used.
async fn settings(m: &MysqlGlobal, cluster: &Cluster, lines: &mut Lines) -> Option<Settings> {
    // A password given as a reference wins over passwordSecret.
    let password = if m.password.is_ref() {
        Source::of(&m.password)
    } else if !m.password_secret.name.is_empty() {
        Source::Secret {
            name: m.password_secret.name.clone(),
            key: m.password_secret.password_key.clone(),
        }
    } else {
        Source::of(&m.password)
    };
    // Each is resolved (and reported) before any is judged.
    let host = Source::of(&m.host).resolve("host", cluster, lines).await;
    let port = Source::of(&m.port).resolve("port", cluster, lines).await;
    let user = Source::of(&m.user).resolve("user", cluster, lines).await;
    let database = Source::of(&m.database)
        .resolve("database", cluster, lines)
        .await;
    let password = password.resolve("password", cluster, lines).await;
    let ca = Source::of(&m.ca_cert)
        .resolve("caCert", cluster, lines)
        .await;
    let (Ok(Some(host)), Ok(port), Ok(user), Ok(database), Ok(password), Ok(ca)) =
        (host, port, user, database, password, ca)
    else {
        lines.skip("connect", "needs the settings above");
        return None;
    };
    let port = match net::port(port.as_deref().unwrap_or("3306"), "global.mysql.port") {
        Ok(p) => p,
        Err((detail, hint)) => {
            lines.fail("port", detail, hint);
            return None;
        }
    };
    let user = user.unwrap_or_default();
    let Some(database) = database else {
        lines.fail(
            "database",
            "global.mysql.database is empty",
            "name the database W&B uses (the chart's default is wandb_local)",
        );
        return None;
    };
    let Some(password) = password else {
        lines.fail(
            "password",
            "no password given: W&B would use a generated one, which your MySQL does not know",
            "set global.mysql.password, or global.mysql.passwordSecret.name (key \
             global.mysql.passwordSecret.passwordKey) to a Secret holding it",
        );
        return None;
    };
    Some(Settings {
        host,
        port,
        user,
        database,
        password,
        ca,
    })
}

/// Connects, with a `connect` line either way; on failure the checks that
/// need the connection are skipped.
async fn open(s: &Settings, timeout: Duration, lines: &mut Lines) -> Option<Conn> {
    let target = format!(
        "{}@{}/{}",
        s.user,
        net::display_addr(&s.host, s.port),
        s.database
    );
    let started = Instant::now();
    match connect(
        &s.host,
        s.port,
        &s.user,
        &s.password,
        &s.database,
        s.ca.as_deref(),
        timeout,
    )
    .await
    {
        Ok((conn, tls)) => {
            lines.pass(
                "connect",
                format!(
                    "{target}{tls} ({})",
                    seconds(started.elapsed().max(Duration::from_millis(1)))
                ),
            );
            Some(conn)
        }
        Err((detail, hint)) => {
            lines.fail("connect", format!("{target}: {detail}"), hint);
            for check in ["version", "create table", "charset"] {
                lines.skip(check, "needs a connection");
            }
            None
        }
    }
}

/// W&B creates and migrates its tables itself: create a table and drop it.
async fn create_table_line(conn: &mut Conn, s: &Settings, timeout: Duration, lines: &mut Lines) {
    let (user, database) = (&s.user, &s.database);
    let probe = format!("wandb_operator_check_{}", std::process::id());
    let create = format!("CREATE TABLE IF NOT EXISTS `{probe}` (id INT PRIMARY KEY)");
    match exec(conn, &create, timeout).await {
        Ok(()) => match exec(conn, &format!("DROP TABLE `{probe}`"), timeout).await {
            Ok(()) => lines.pass(
                "create table",
                format!("{user} may CREATE and DROP tables in {database}"),
            ),
            Err((detail, _)) => lines.fail(
                "create table",
                format!("created {probe} but could not drop it: {detail}"),
                format!(
                    "W&B's migrations drop tables too: GRANT ALL ON `{database}`.* TO '{user}'@'%'; \
                     then DROP TABLE `{probe}`"
                ),
            ),
        },
        Err((detail, _)) => lines.fail(
            "create table",
            format!("{user} may not create tables in {database}: {detail}"),
            format!("W&B creates its own tables: GRANT ALL ON `{database}`.* TO '{user}'@'%'"),
        ),
    }
}

/// W&B stores text as utf8mb4.
async fn charset_line(conn: &mut Conn, database: &str, timeout: Duration, lines: &mut Lines) {
    match query_two(
        conn,
        "SELECT @@character_set_database, @@collation_database",
        timeout,
    )
    .await
    {
        Ok((charset, collation)) if charset == "utf8mb4" => {
            lines.pass("charset", format!("{database} is {charset} ({collation})"))
        }
        Ok((charset, collation)) => lines.warn(
            "charset",
            format!("{database} is {charset} ({collation}), not utf8mb4"),
            format!(
                "text outside {charset} (emoji, many scripts) will fail to save: \
                 ALTER DATABASE `{database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_0900_ai_ci \
                 (MySQL 8) before installing"
            ),
        ),
        Err((detail, hint)) => lines.fail("charset", detail, hint),
    }
}

fn version_line(lines: &mut Lines, version: &str) {
    if version.to_lowercase().contains("mariadb") {
        let v = version.split('-').next().unwrap_or(version);
        lines.fail(
            "version",
            format!("MariaDB {v} is not MySQL: W&B supports MySQL 8.0 or newer only"),
            "W&B's schema and queries are written for MySQL 8 (its collations, JSON and \
             window functions); MariaDB may work in a trial but is not supported: use MySQL 8.0+ \
             (or a managed MySQL 8, e.g. Amazon RDS/Aurora MySQL 8, Cloud SQL for MySQL 8)",
        );
        return;
    }
    let mut parts = version.split(|c: char| !c.is_ascii_digit());
    let major: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    if major >= 8 {
        lines.pass("version", format!("MySQL {version}"));
    } else {
        lines.fail(
            "version",
            format!("MySQL {version} is too old"),
            "W&B needs MySQL 8.0 or newer: upgrade the server",
        );
    }
}

#[allow(clippy::too_many_arguments)]
async fn connect(
    host: &str,
    port: u16,
    user: &str,
    password: &str,
    database: &str,
    ca: Option<&str>,
    timeout: Duration,
) -> Result<(Conn, &'static str), Problem> {
    let base = OptsBuilder::default()
        .ip_or_hostname(host)
        .tcp_port(port)
        .user(Some(user))
        .pass(Some(password))
        .db_name(Some(database))
        .prefer_socket(false)
        .stmt_cache_size(0);
    let ssl =
        ca.map(|pem| SslOpts::default().with_root_certs(vec![pem.as_bytes().to_vec().into()]));
    let tls_note = if ssl.is_some() {
        ", TLS verified with global.mysql.caCert"
    } else {
        ""
    };
    let first = attempt(base.clone().ssl_opts(ssl), host, port, timeout).await;
    match first {
        // A server that refuses plain connections (require_secure_transport):
        // W&B connects with tls=preferred, so TLS without a CA works for it too.
        Err(mysql_async::Error::Server(e))
            if ca.is_none() && (e.code == 3159 || e.message.contains("insecure transport")) =>
        {
            let ssl = SslOpts::default().with_danger_accept_invalid_certs(true);
            attempt(base.ssl_opts(Some(ssl)), host, port, timeout)
                .await
                .map(|c| (c, ", TLS (certificate not verified: no caCert given)"))
                .map_err(|e| problem(e, host, port, user, database, timeout))
        }
        Ok(c) => Ok((c, tls_note)),
        Err(e) => Err(problem(e, host, port, user, database, timeout)),
    }
}

async fn attempt(
    opts: OptsBuilder,
    host: &str,
    port: u16,
    timeout: Duration,
) -> Result<Conn, mysql_async::Error> {
    match tokio::time::timeout(timeout, Conn::new(opts)).await {
        Ok(r) => r,
        Err(_) => Err(mysql_async::Error::Other(
            format!(
                "no answer from {} within {}",
                net::display_addr(host, port),
                seconds(timeout)
            )
            .into(),
        )),
    }
}

fn problem(
    e: mysql_async::Error,
    host: &str,
    port: u16,
    user: &str,
    database: &str,
    timeout: Duration,
) -> Problem {
    match e {
        mysql_async::Error::Server(s) => {
            let hint = match s.code {
                1045 => "wrong user or password: check global.mysql.user and the password \
                         (global.mysql.password or the Secret of global.mysql.passwordSecret)"
                    .to_string(),
                1044 => format!(
                    "{user} may not use {database}: GRANT ALL ON `{database}`.* TO '{user}'@'%'"
                ),
                1049 => format!(
                    "create it: CREATE DATABASE `{database}` CHARACTER SET utf8mb4 \
                     COLLATE utf8mb4_0900_ai_ci"
                ),
                1130 => format!(
                    "the server does not let {user} connect from this address: \
                     CREATE USER '{user}'@'%' (or the cluster's network) and grant it the database"
                ),
                3159 => "the server wants TLS: give its CA as global.mysql.caCert".to_string(),
                _ => "see the server's error above".to_string(),
            };
            (
                format!("server refused: {} (error {})", s.message, s.code),
                hint,
            )
        }
        mysql_async::Error::Io(mysql_async::IoError::Io(io)) => {
            let text = io.to_string();
            if text.contains("certificate") || text.contains("UnknownIssuer") {
                (
                    format!("TLS failed: {text}"),
                    "the server's certificate is not signed by global.mysql.caCert, or is not \
                     for this host name: give the CA that signed it"
                        .into(),
                )
            } else {
                net::connect_problem(&io, host, port)
            }
        }
        mysql_async::Error::Io(mysql_async::IoError::Tls(t)) => (
            format!("TLS failed: {t}"),
            "check global.mysql.caCert: it must be the CA that signed the server's certificate"
                .into(),
        ),
        mysql_async::Error::Other(e) if e.to_string().starts_with("no answer") => (
            e.to_string(),
            format!(
                "nothing answered within {}: the host may be wrong, down, or behind a firewall \
                 that drops packets; check global.mysql.host and global.mysql.port",
                seconds(timeout)
            ),
        ),
        other => (
            other.to_string(),
            "check global.mysql.host and global.mysql.port: is it a MySQL server?".into(),
        ),
    }
}

async fn exec(conn: &mut Conn, sql: &str, timeout: Duration) -> Result<(), Problem> {
    within(timeout, sql, async {
        conn.query_drop(sql)
            .await
            .map_err(|e| (e.to_string(), String::new()))
    })
    .await
}

async fn query_one(conn: &mut Conn, sql: &str, timeout: Duration) -> Result<String, Problem> {
    within(timeout, sql, async {
        conn.query_first::<String, _>(sql)
            .await
            .map_err(|e| (e.to_string(), "check the server's logs".to_string()))?
            .ok_or_else(|| (format!("{sql}: no row"), "check the server".to_string()))
    })
    .await
}

async fn query_two(
    conn: &mut Conn,
    sql: &str,
    timeout: Duration,
) -> Result<(String, String), Problem> {
    within(timeout, sql, async {
        conn.query_first::<(String, String), _>(sql)
            .await
            .map_err(|e| (e.to_string(), "check the server's logs".to_string()))?
            .ok_or_else(|| (format!("{sql}: no row"), "check the server".to_string()))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Status;

    fn status_of(version: &str) -> (Status, String) {
        let mut lines = Lines::new(STORE);
        version_line(&mut lines, version);
        (lines.lines[0].status, lines.lines[0].detail.clone())
    }

    #[test]
    fn versions() {
        assert_eq!(status_of("8.0.36").0, Status::Pass);
        assert_eq!(status_of("8.4.2").0, Status::Pass);
        assert_eq!(status_of("8.0.mysql_aurora.3.05.2").0, Status::Pass);
        assert_eq!(status_of("5.7.44-log").0, Status::Fail);
        let (s, d) = status_of("10.11.19-MariaDB-0+deb12u1");
        assert_eq!(s, Status::Fail);
        assert!(d.starts_with("MariaDB 10.11.19 is not MySQL"), "{d}");
    }
}
