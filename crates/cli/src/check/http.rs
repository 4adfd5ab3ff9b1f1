//! One HTTP/1.1 request per connection, with a deadline on all of it: enough
//! for the S3 and ClickHouse checks.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio_rustls::rustls::ClientConfig;

use super::net::{self, Problem, within};

/// Where requests go: `http(s)://host:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub https: bool,
    pub host: String,
    pub port: u16,
}

impl Endpoint {
    /// The `Host` header: the port only when it is not the scheme's.
    pub fn host_header(&self) -> String {
        let default = if self.https { 443 } else { 80 };
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == default {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
    pub fn url(&self) -> String {
        format!(
            "{}://{}",
            if self.https { "https" } else { "http" },
            self.host_header()
        )
    }
}

pub struct Response {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub body: Vec<u8>,
}

impl Response {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }
}

/// Sends one request; `path` includes the query. `tls` is the TLS
/// configuration for an https endpoint.
pub async fn request(
    endpoint: &Endpoint,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: Vec<u8>,
    tls: Option<Arc<ClientConfig>>,
    timeout: Duration,
) -> Result<Response, Problem> {
    let tls = if endpoint.https {
        Some(match tls {
            Some(c) => c,
            None => net::tls_config(None)?,
        })
    } else {
        None
    };
    let stream = net::connect(&endpoint.host, endpoint.port, tls, timeout).await?;
    let target = format!("{method} {}{path}", endpoint.url());
    within(timeout, &target, async {
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| http_problem(&target, &e))?;
        let driver = tokio::spawn(async move {
            let _ = conn.await;
        });
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", endpoint.host_header())
            .header("user-agent", "wandb-operator-check");
        for (k, v) in headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let req = req
            .header("content-length", body.len().to_string())
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| {
                (
                    format!("{target}: {e}"),
                    "a bug: please report it".to_string(),
                )
            })?;
        let resp = sender
            .send_request(req)
            .await
            .map_err(|e| http_problem(&target, &e))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| http_problem(&target, &e))?
            .to_bytes()
            .to_vec();
        driver.abort();
        Ok(Response {
            status,
            headers,
            body,
        })
    })
    .await
}

fn http_problem(target: &str, e: &hyper::Error) -> Problem {
    let hint = if e.is_parse() {
        "the server did not answer in HTTP: check the port, and http or https"
    } else {
        "the server closed the connection: check the port, and http or https"
    };
    (format!("{target}: {e}"), hint.to_string())
}
