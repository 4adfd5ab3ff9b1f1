//! Kafka (`global.kafka.brokerHost` set): a TCP connection to the broker and
//! an ApiVersions request (api_key 18, version 0, request header v1), which
//! every Kafka broker answers before anything else.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wandb_render::Ctx;

use wandb_values::StoreKind;

use super::net::{self, Problem, within};
use super::{Lines, in_cluster, seconds};

const STORE: &str = "kafka";
const API_VERSIONS: i16 = 18;
const CORRELATION_ID: i32 = 0x5742_0001;

pub async fn check(ctx: &Ctx<'_>, timeout: Duration) -> Lines {
    let mut lines = Lines::new(STORE);
    let g = &ctx.values.global;
    if g.pub_sub.enabled {
        lines.skip(
            "queue",
            "the run-updates queue is Google Pub/Sub (global.pubSub.enabled): not checked",
        );
        return lines;
    }
    if ctx.in_cluster(StoreKind::Kafka) || ctx.in_cluster(StoreKind::Bufstream) {
        in_cluster(&mut lines);
        return lines;
    }
    if g.kafka.broker_host.is_empty() {
        lines.fail(
            "brokerHost",
            "kafka.install is false but global.kafka.brokerHost is empty",
            "set global.kafka.brokerHost to your Kafka broker, or leave kafka.install on",
        );
        return lines;
    }
    let host = ctx.kafka_broker_host();
    let port = match net::port(
        if g.kafka.broker_port.is_empty() {
            "9092"
        } else {
            g.kafka.broker_port.as_str()
        },
        "global.kafka.brokerPort",
    ) {
        Ok(p) => p,
        Err((detail, hint)) => {
            lines.fail("port", detail, hint);
            return lines;
        }
    };
    probe(&mut lines, &host, port, timeout).await;
    lines
}

pub async fn probe(lines: &mut Lines, host: &str, port: u16, timeout: Duration) {
    let target = net::display_addr(host, port);
    let started = Instant::now();
    let mut stream = match net::tcp(host, port, timeout).await {
        Ok(s) => s,
        Err((detail, hint)) => {
            lines.fail("connect", detail, hint);
            lines.skip("api versions", "needs a connection");
            return;
        }
    };
    lines.pass(
        "connect",
        format!(
            "{target} ({})",
            seconds(started.elapsed().max(Duration::from_millis(1)))
        ),
    );
    let result = within(timeout, "ApiVersions", async {
        stream
            .write_all(&api_versions_request())
            .await
            .map_err(|e| io_problem(&e))?;
        let mut len = [0u8; 4];
        stream
            .read_exact(&mut len)
            .await
            .map_err(|e| io_problem(&e))?;
        let len = i32::from_be_bytes(len);
        if !(6..=1024 * 1024).contains(&len) {
            return Err(not_kafka(&format!("a response of {len} bytes")));
        }
        let mut body = vec![0u8; len as usize];
        stream
            .read_exact(&mut body)
            .await
            .map_err(|e| io_problem(&e))?;
        parse_api_versions(&body)
    })
    .await;
    match result {
        Ok(versions) => {
            let has = |key: i16| versions.iter().any(|(k, _, _)| *k == key);
            let detail = format!(
                "the broker answers ApiVersions: {} APIs{}",
                versions.len(),
                if has(0) && has(1) {
                    ", Produce and Fetch among them"
                } else {
                    ""
                }
            );
            lines.pass("api versions", detail);
        }
        Err((detail, hint)) => lines.fail("api versions", detail, hint),
    }
}

/// ApiVersions v0 with request header v1: size, api_key, api_version,
/// correlation_id, client_id; no body.
pub fn api_versions_request() -> Vec<u8> {
    let client_id = b"wandb-operator-check";
    let mut msg = Vec::new();
    msg.extend_from_slice(&API_VERSIONS.to_be_bytes());
    msg.extend_from_slice(&0i16.to_be_bytes());
    msg.extend_from_slice(&CORRELATION_ID.to_be_bytes());
    msg.extend_from_slice(&(client_id.len() as i16).to_be_bytes());
    msg.extend_from_slice(client_id);
    let mut out = (msg.len() as i32).to_be_bytes().to_vec();
    out.extend_from_slice(&msg);
    out
}

/// The (api_key, min, max) of an ApiVersions v0 response (after its size).
pub fn parse_api_versions(body: &[u8]) -> Result<Vec<(i16, i16, i16)>, Problem> {
    let i16_at = |at: usize| -> Result<i16, Problem> {
        body.get(at..at + 2)
            .map(|b| i16::from_be_bytes([b[0], b[1]]))
            .ok_or_else(|| not_kafka("a short response"))
    };
    let i32_at = |at: usize| -> Result<i32, Problem> {
        body.get(at..at + 4)
            .map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            .ok_or_else(|| not_kafka("a short response"))
    };
    if i32_at(0)? != CORRELATION_ID {
        return Err(not_kafka("a response to another request"));
    }
    let error = i16_at(4)?;
    let count = i32_at(6)?;
    if !(0..=10_000).contains(&count) {
        return Err(not_kafka("a malformed ApiVersions response"));
    }
    let mut out = Vec::new();
    for i in 0..count as usize {
        let at = 10 + i * 6;
        out.push((i16_at(at)?, i16_at(at + 2)?, i16_at(at + 4)?));
    }
    // 35: UNSUPPORTED_VERSION, with the versions the broker does support.
    if error != 0 && error != 35 {
        return Err((
            format!("ApiVersions answered error code {error}"),
            "see the broker's logs".into(),
        ));
    }
    Ok(out)
}

fn not_kafka(what: &str) -> Problem {
    (
        format!("ApiVersions got {what}"),
        "is this a Kafka broker's plaintext listener? check global.kafka.brokerHost and \
         global.kafka.brokerPort"
            .into(),
    )
}

fn io_problem(e: &std::io::Error) -> Problem {
    (
        format!("ApiVersions: {e}"),
        "the broker closed the connection: is this a Kafka broker's plaintext listener \
         (W&B connects without TLS or SASL)?"
            .into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_bytes() {
        let r = api_versions_request();
        assert_eq!(&r[..4], &(r.len() as i32 - 4).to_be_bytes());
        assert_eq!(&r[4..8], &[0, 18, 0, 0]);
        assert_eq!(&r[8..12], &CORRELATION_ID.to_be_bytes());
        assert_eq!(&r[12..14], &[0, 20]);
    }

    #[test]
    fn responses_parse() {
        let mut body = CORRELATION_ID.to_be_bytes().to_vec();
        body.extend_from_slice(&0i16.to_be_bytes());
        body.extend_from_slice(&2i32.to_be_bytes());
        for (k, min, max) in [(0i16, 0i16, 9i16), (18, 0, 3)] {
            body.extend_from_slice(&k.to_be_bytes());
            body.extend_from_slice(&min.to_be_bytes());
            body.extend_from_slice(&max.to_be_bytes());
        }
        assert_eq!(
            parse_api_versions(&body).unwrap(),
            vec![(0, 0, 9), (18, 0, 3)]
        );
        assert!(parse_api_versions(&body[..12]).is_err());
        let mut other = body.clone();
        other[0] = 1;
        assert!(parse_api_versions(&other).is_err());
    }
}
