//! One HTTP/1.1 GET per connection, in TLS unless the host is loopback (a
//! test's registry), with a deadline on all of it and a cap on the body:
//! enough for a registry's few requests per pull.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore, pki_types};

/// Where a request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    pub https: bool,
    pub host: String,
    pub port: u16,
    /// The path with its query: `/v2/wandb/manifests/0.84.0`.
    pub path: String,
}

/// What can go wrong with one request. Never holds a credential: the
/// headers sent are not part of any message.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("{0} is not an http(s) URL")]
    BadUrl(String),
    #[error("plain HTTP is only for a registry on this machine (loopback), not {0}")]
    PlainHttp(String),
    #[error("connecting to {0}: {1}")]
    Connect(String, std::io::Error),
    #[error("TLS with {0}: {1}")]
    Tls(String, String),
    #[error("{0}: {1}")]
    Http(String, hyper::Error),
    #[error("{0}: no answer within {1:?}")]
    Timeout(String, Duration),
    #[error("{0}: the answer is larger than {1} bytes")]
    TooLarge(String, usize),
    #[error("{0}: {1}")]
    Request(String, String),
}

pub struct Response {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl Url {
    /// `https://host[:port]/path`; a `Location` relative to `base` when it
    /// starts with `/`.
    pub fn parse(text: &str, base: Option<&Url>) -> Result<Url, HttpError> {
        if let (Some(base), true) = (base, text.starts_with('/')) {
            return Ok(Url {
                path: text.to_string(),
                ..base.clone()
            });
        }
        let bad = || HttpError::BadUrl(text.to_string());
        let (https, rest) = if let Some(rest) = text.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = text.strip_prefix("http://") {
            (false, rest)
        } else {
            return Err(bad());
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let (host, port) = split_host_port(authority).ok_or_else(bad)?;
        Ok(Url {
            https,
            host,
            port: port.unwrap_or(if https { 443 } else { 80 }),
            path: path.to_string(),
        })
    }

    /// The `Host` header: the port only when it is not the scheme's.
    pub fn authority(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == if self.https { 443 } else { 80 } {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }

    /// The URL as messages show it (no query: a signed URL's signature
    /// stays out of the status).
    pub fn shown(&self) -> String {
        let path = self.path.split('?').next().unwrap_or_default();
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}{path}", self.authority())
    }
}

/// `host`, `host:port`, `[v6]:port` → host and port.
pub fn split_host_port(authority: &str) -> Option<(String, Option<u16>)> {
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p.parse().ok()?),
            None if after.is_empty() => None,
            None => return None,
        };
        return Some((host.to_string(), port));
    }
    match authority.rsplit_once(':') {
        Some((host, port)) => Some((host.to_string(), Some(port.parse().ok()?))),
        None => Some((authority.to_string(), None)),
    }
}

/// Whether a host is this machine: the only place plain HTTP may go.
pub fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Sends one GET; the whole exchange within `timeout`, a body above `max`
/// bytes refused.
pub async fn get(
    url: &Url,
    headers: &[(&str, String)],
    max: usize,
    timeout: Duration,
) -> Result<Response, HttpError> {
    let shown = url.shown();
    if !url.https && !is_loopback(&url.host) {
        return Err(HttpError::PlainHttp(url.authority()));
    }
    let exchange = async {
        let tcp = TcpStream::connect((url.host.as_str(), url.port))
            .await
            .map_err(|e| HttpError::Connect(url.authority(), e))?;
        if url.https {
            let name = pki_types::ServerName::try_from(url.host.clone())
                .map_err(|e| HttpError::Tls(url.authority(), e.to_string()))?;
            let config = tls_config().map_err(|e| HttpError::Tls(url.authority(), e))?;
            let tls = tokio_rustls::TlsConnector::from(config)
                .connect(name, tcp)
                .await
                .map_err(|e| HttpError::Tls(url.authority(), e.to_string()))?;
            send(tls, url, headers, max, &shown).await
        } else {
            send(tcp, url, headers, max, &shown).await
        }
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| HttpError::Timeout(shown.clone(), timeout))?
}

async fn send<IO>(
    io: IO,
    url: &Url,
    headers: &[(&str, String)],
    max: usize,
    shown: &str,
) -> Result<Response, HttpError>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let http = |e| HttpError::Http(shown.to_string(), e);
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(http)?;
    let driver = tokio::spawn(async move {
        let _ = conn.await;
    });
    let mut req = hyper::Request::builder()
        .method("GET")
        .uri(url.path.as_str())
        .header("host", url.authority())
        .header(
            "user-agent",
            concat!("wandb-operator/", env!("CARGO_PKG_VERSION")),
        );
    for (name, value) in headers {
        req = req.header(*name, value.as_str());
    }
    let req = req
        .body(Empty::<Bytes>::new())
        .map_err(|e| HttpError::Request(shown.to_string(), e.to_string()))?;
    let resp = sender.send_request(req).await.map_err(http)?;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let declared = headers
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > max) {
        driver.abort();
        return Err(HttpError::TooLarge(shown.to_string(), max));
    }
    let body = Limited::new(resp.into_body(), max)
        .collect()
        .await
        .map_err(|_| HttpError::TooLarge(shown.to_string(), max))?
        .to_bytes()
        .to_vec();
    driver.abort();
    Ok(Response {
        status,
        headers,
        body,
    })
}

/// The system's CA roots, read once.
fn tls_config() -> Result<Arc<ClientConfig>, String> {
    static CONFIG: OnceLock<Result<Arc<ClientConfig>, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let mut roots = RootCertStore::empty();
            let native = rustls_native_certs::load_native_certs();
            let (added, _) = roots.add_parsable_certificates(native.certs);
            if added == 0 {
                return Err("no CA certificates found in the operator's image".into());
            }
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| e.to_string())?
                .with_root_certificates(roots)
                .with_no_client_auth();
            Ok(Arc::new(config))
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_their_authorities() {
        let u = Url::parse("https://us-docker.pkg.dev/v2/x/manifests/1", None).unwrap();
        assert_eq!(
            (u.https, u.port, u.authority()),
            (true, 443, "us-docker.pkg.dev".into())
        );
        let u = Url::parse("http://127.0.0.1:5000/token?scope=a", None).unwrap();
        assert_eq!(u.authority(), "127.0.0.1:5000");
        assert_eq!(u.shown(), "http://127.0.0.1:5000/token");
        let moved = Url::parse("/v2/blobs/b", Some(&u)).unwrap();
        assert_eq!((moved.port, moved.path.as_str()), (5000, "/v2/blobs/b"));
        let v6 = Url::parse("http://[::1]:80/x", None).unwrap();
        assert_eq!(
            (v6.host.as_str(), v6.authority()),
            ("::1", "[::1]".to_string())
        );
        assert!(Url::parse("ftp://x/y", None).is_err());
        assert!(Url::parse("https://user:pw@host/", None).is_err());
    }

    #[test]
    fn only_loopback_is_loopback() {
        assert!(is_loopback("127.0.0.1") && is_loopback("::1") && is_loopback("localhost"));
        assert!(!is_loopback("10.0.0.1") && !is_loopback("registry.local"));
    }

    #[tokio::test]
    async fn plain_http_to_another_host_is_refused_before_connecting() {
        let url = Url::parse("http://registry.example.com/v2/", None).unwrap();
        let err = get(&url, &[], 10, Duration::from_secs(1)).await.err();
        assert!(matches!(err, Some(HttpError::PlainHttp(_))), "{err:?}");
    }
}
