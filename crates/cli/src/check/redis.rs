//! Redis (`global.redis.host` set): connect (in TLS when W&B will), AUTH
//! with the password W&B will use, PING, and the server's version. The
//! protocol (RESP) is small enough to speak directly.

use std::time::{Duration, Instant};

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufStream};
use wandb_render::Ctx;
use wandb_values::{RedisGlobal, StoreKind};

use super::net::{self, Problem, Stream, within};
use super::{Cluster, Lines, Source, in_cluster, seconds};

const STORE: &str = "redis";

pub async fn check(ctx: &Ctx<'_>, cluster: &Cluster, timeout: Duration) -> Lines {
    let mut lines = Lines::new(STORE);
    let r = &ctx.values.global.redis;
    if ctx.in_cluster(StoreKind::Redis) {
        in_cluster(&mut lines);
        return lines;
    }
    if r.host.is_empty() {
        lines.fail(
            "host",
            "redis.install is false but global.redis.host is empty",
            "set global.redis.host to your Redis server, or leave redis.install on",
        );
        return lines;
    }
    let port = match net::port(&ctx.redis_port(), "global.redis.port") {
        Ok(p) => p,
        Err((detail, hint)) => {
            lines.fail("port", detail, hint);
            return lines;
        }
    };
    let params = params(&ctx.redis_params());
    let tls_on = params
        .iter()
        .any(|(k, v)| k == "tls" && v.eq_ignore_ascii_case("true"));
    let password = if r.secret.secret_name.is_empty() {
        Source::plain(&r.password)
    } else {
        Source::Secret {
            name: r.secret.secret_name.clone(),
            key: r.secret.secret_key.clone(),
        }
    };
    let Ok(password) = password.resolve("password", cluster, &mut lines).await else {
        lines.skip("connect", "needs the password");
        return lines;
    };
    let Some(mut conn) = open(r, port, tls_on, timeout, &mut lines).await else {
        return lines;
    };
    if let Some(password) = &password
        && !auth_line(&mut conn, r, password, timeout, &mut lines).await
    {
        return lines;
    }
    if !ping_line(&mut conn, timeout, &mut lines).await {
        return lines;
    }
    info_line(&mut conn, timeout, &mut lines).await;
    let _ = tokio::time::timeout(timeout, conn.shutdown()).await;
    lines
}

/// Connects (in TLS when `tls_on`), with a `connect` line; `None` once a
/// line says why not, the checks that need the connection skipped.
async fn open(
    r: &RedisGlobal,
    port: u16,
    tls_on: bool,
    timeout: Duration,
    lines: &mut Lines,
) -> Option<BufStream<Stream>> {
    let target = net::display_addr(&r.host, port);
    let tls = if tls_on {
        let ca = (!r.ca_cert.is_empty()).then_some(r.ca_cert.as_str());
        match net::tls_config(ca) {
            Ok(c) => Some(c),
            Err((detail, hint)) => {
                lines.fail("caCert", detail, hint);
                return None;
            }
        }
    } else {
        None
    };
    let how = match (&tls, r.ca_cert.is_empty()) {
        (None, _) => "",
        (Some(_), false) => ", TLS verified with global.redis.caCert",
        (Some(_), true) => ", TLS verified with the system's CAs",
    };
    let started = Instant::now();
    let stream = match net::connect(&r.host, port, tls, timeout).await {
        Ok(s) => s,
        Err((detail, hint)) => {
            lines.fail("connect", detail, hint);
            for check in ["ping", "version"] {
                lines.skip(check, "needs a connection");
            }
            return None;
        }
    };
    lines.pass(
        "connect",
        format!(
            "{target}{how} ({})",
            seconds(started.elapsed().max(Duration::from_millis(1)))
        ),
    );
    Some(BufStream::new(stream))
}

/// AUTH with the password W&B will use; whether to go on.
async fn auth_line(
    conn: &mut BufStream<Stream>,
    r: &RedisGlobal,
    password: &str,
    timeout: Duration,
    lines: &mut Lines,
) -> bool {
    match command(conn, &[b"AUTH", password.as_bytes()], timeout).await {
        Ok(Reply::Simple(_)) => {
            lines.pass("auth", "the password is accepted");
            true
        }
        Ok(Reply::Error(e)) => {
            lines.fail("auth", format!("AUTH refused: {e}"), auth_hint(r, &e));
            lines.skip("ping", "needs AUTH");
            lines.skip("version", "needs AUTH");
            false
        }
        Ok(other) => {
            lines.fail(
                "auth",
                format!("unexpected answer to AUTH: {other:?}"),
                "is this a Redis server?",
            );
            false
        }
        Err((detail, hint)) => {
            lines.fail("auth", detail, hint);
            false
        }
    }
}

/// What to do about an AUTH the server refused with `error`.
fn auth_hint(r: &RedisGlobal, error: &str) -> String {
    if error.contains("without any password configured") || error.contains("no password is set") {
        "the server has no password but the values give one: W&B's AUTH would fail; \
         set a password on the server (requirepass) or remove it from the values"
            .to_string()
    } else {
        format!(
            "wrong password: check {}",
            if r.secret.secret_name.is_empty() {
                "global.redis.password".to_string()
            } else {
                format!(
                    "Secret {}, key {}",
                    r.secret.secret_name, r.secret.secret_key
                )
            }
        )
    }
}

/// PING; whether to go on.
async fn ping_line(conn: &mut BufStream<Stream>, timeout: Duration, lines: &mut Lines) -> bool {
    match command(conn, &[b"PING"], timeout).await {
        Ok(Reply::Simple(s)) if s == "PONG" => {
            lines.pass("ping", "PONG");
            true
        }
        Ok(Reply::Error(e)) if e.starts_with("NOAUTH") => {
            lines.fail(
                "ping",
                format!("the server wants a password: {e}"),
                "set global.redis.password, or global.redis.secret.secretName (key \
                 global.redis.secret.secretKey) to a Secret holding it",
            );
            lines.skip("version", "needs AUTH");
            false
        }
        Ok(other) => {
            lines.fail(
                "ping",
                format!("unexpected answer to PING: {other:?}"),
                "is this a Redis server?",
            );
            false
        }
        Err((detail, hint)) => {
            lines.fail("ping", detail, hint);
            false
        }
    }
}

/// The server's version, from `INFO server`.
async fn info_line(conn: &mut BufStream<Stream>, timeout: Duration, lines: &mut Lines) {
    match command(conn, &[b"INFO", b"server"], timeout).await {
        Ok(Reply::Bulk(Some(info))) => {
            let info = String::from_utf8_lossy(&info);
            match field(&info, "redis_version") {
                Some(v) => version_line(lines, &v, field(&info, "valkey_version")),
                None => lines.warn(
                    "version",
                    "INFO server names no redis_version",
                    "W&B is tested with Redis 7",
                ),
            }
        }
        Ok(other) => lines.warn(
            "version",
            format!("INFO server answered {other:?}"),
            "W&B is tested with Redis 7; the INFO command may be disabled on this server",
        ),
        Err((detail, hint)) => lines.fail("version", detail, hint),
    }
}

fn version_line(lines: &mut Lines, version: &str, valkey: Option<String>) {
    let major: u32 = version
        .split('.')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let name = match valkey {
        Some(v) => format!("Valkey {v} (Redis {version} compatible)"),
        None => format!("Redis {version}"),
    };
    if major >= 7 {
        lines.pass("version", name);
    } else {
        lines.warn(
            "version",
            name,
            "W&B recommends Redis 7 or newer: upgrade the server",
        );
    }
}

/// `key=value` pairs of `?a=b&c=d`.
fn params(query: &str) -> Vec<(String, String)> {
    query
        .trim_start_matches('?')
        .split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn field(info: &str, name: &str) -> Option<String> {
    info.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .map(|v| v.trim().to_string())
}

/// A RESP reply.
#[derive(Debug, PartialEq)]
pub enum Reply {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Reply>>),
}

pub fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

async fn command(
    conn: &mut BufStream<Stream>,
    args: &[&[u8]],
    timeout: Duration,
) -> Result<Reply, Problem> {
    let name = String::from_utf8_lossy(args[0]).into_owned();
    within(timeout, &name, async {
        conn.write_all(&encode(args))
            .await
            .map_err(|e| io_problem(&name, &e))?;
        conn.flush().await.map_err(|e| io_problem(&name, &e))?;
        read_reply(conn).await.map_err(|e| io_problem(&name, &e))
    })
    .await
}

fn io_problem(name: &str, e: &std::io::Error) -> Problem {
    (
        format!("{name}: {e}"),
        "the server closed the connection: is this a Redis server, and does it want TLS \
         (global.redis.caCert or params.tls)?"
            .into(),
    )
}

/// One reply; nesting is bounded, and so are lengths.
pub async fn read_reply<R: AsyncBufRead + Unpin + Send>(r: &mut R) -> std::io::Result<Reply> {
    read_nested(r, 0).await
}

fn read_nested<'a, R: AsyncBufRead + Unpin + Send>(
    r: &'a mut R,
    depth: usize,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = std::io::Result<Reply>> + Send + 'a>> {
    Box::pin(async move {
        use std::io::{Error, ErrorKind};
        let bad = |m: &str| Error::new(ErrorKind::InvalidData, m.to_string());
        if depth > 8 {
            return Err(bad("reply nested too deeply"));
        }
        let mut line = Vec::new();
        let n = r.take(64 * 1024).read_until(b'\n', &mut line).await?;
        if n == 0 {
            return Err(Error::new(
                ErrorKind::UnexpectedEof,
                "connection closed by the server",
            ));
        }
        let text = String::from_utf8_lossy(&line).trim_end().to_string();
        let (kind, rest) = text.split_at(1.min(text.len()));
        let number = || rest.parse::<i64>().map_err(|_| bad("bad length in reply"));
        match kind {
            "+" => Ok(Reply::Simple(rest.to_string())),
            "-" => Ok(Reply::Error(rest.to_string())),
            ":" => Ok(Reply::Int(number()?)),
            "$" => {
                let len = number()?;
                if len < 0 {
                    return Ok(Reply::Bulk(None));
                }
                if len > 16 * 1024 * 1024 {
                    return Err(bad("reply too large"));
                }
                let mut buf = vec![0; len as usize + 2];
                r.read_exact(&mut buf).await?;
                buf.truncate(len as usize);
                Ok(Reply::Bulk(Some(buf)))
            }
            "*" => {
                let len = number()?;
                if len < 0 {
                    return Ok(Reply::Array(None));
                }
                let mut items = Vec::new();
                for _ in 0..len.min(1024) {
                    items.push(read_nested(r, depth + 1).await?);
                }
                Ok(Reply::Array(Some(items)))
            }
            _ => Err(bad(
                "not a Redis reply (is this port a Redis server, and without TLS?)",
            )),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn replies_parse() {
        let mut input: &[u8] = b"+PONG\r\n-ERR no\r\n:7\r\n$3\r\nabc\r\n$-1\r\n*2\r\n+a\r\n:1\r\n";
        let mut r = tokio::io::BufReader::new(&mut input);
        assert_eq!(
            read_reply(&mut r).await.unwrap(),
            Reply::Simple("PONG".into())
        );
        assert_eq!(
            read_reply(&mut r).await.unwrap(),
            Reply::Error("ERR no".into())
        );
        assert_eq!(read_reply(&mut r).await.unwrap(), Reply::Int(7));
        assert_eq!(
            read_reply(&mut r).await.unwrap(),
            Reply::Bulk(Some(b"abc".to_vec()))
        );
        assert_eq!(read_reply(&mut r).await.unwrap(), Reply::Bulk(None));
        assert_eq!(
            read_reply(&mut r).await.unwrap(),
            Reply::Array(Some(vec![Reply::Simple("a".into()), Reply::Int(1)]))
        );
        assert!(read_reply(&mut r).await.is_err());
    }

    #[test]
    fn commands_encode() {
        assert_eq!(encode(&[b"PING"]), b"*1\r\n$4\r\nPING\r\n");
        assert_eq!(
            encode(&[b"AUTH", b"pw"]),
            b"*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n"
        );
    }

    #[test]
    fn info_fields_and_params() {
        let info = "# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\n";
        assert_eq!(field(info, "redis_version").as_deref(), Some("7.0.15"));
        assert_eq!(field(info, "valkey_version"), None);
        assert_eq!(
            params("?tls=true&ttlInSeconds=604800"),
            vec![
                ("tls".to_string(), "true".to_string()),
                ("ttlInSeconds".to_string(), "604800".to_string())
            ]
        );
    }
}
