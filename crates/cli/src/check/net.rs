//! TCP and TLS connections with a deadline, and what to tell the user when
//! one fails.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore, pki_types};

use super::seconds;

/// A failure: what happened, and a hint to fix it.
pub type Problem = (String, String);

/// `fut`, or a "no answer" problem after `timeout`.
pub async fn within<T>(
    timeout: Duration,
    what: &str,
    fut: impl Future<Output = Result<T, Problem>>,
) -> Result<T, Problem> {
    match tokio::time::timeout(timeout, fut).await {
        Ok(r) => r,
        Err(_) => Err((
            format!("{what}: no answer within {}", seconds(timeout)),
            "the host may be wrong, down, or behind a firewall that drops packets; \
             check the host and port and that this machine can reach them"
                .into(),
        )),
    }
}

/// A TCP connection to `host:port`, name resolution included, within `timeout`.
pub async fn tcp(host: &str, port: u16, timeout: Duration) -> Result<TcpStream, Problem> {
    let target = display_addr(host, port);
    within(timeout, &format!("connecting to {target}"), async {
        TcpStream::connect((host, port))
            .await
            .map_err(|e| connect_problem(&e, host, port))
    })
    .await
}

/// `host:port`, with brackets around an IPv6 address.
pub fn display_addr(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

pub fn connect_problem(e: &io::Error, host: &str, port: u16) -> Problem {
    let target = display_addr(host, port);
    match e.kind() {
        io::ErrorKind::ConnectionRefused => (
            format!("connection to {target} refused"),
            "nothing listens there: check the host and port, and that the server runs and \
             listens on a non-loopback address"
                .into(),
        ),
        io::ErrorKind::TimedOut => (
            format!("connecting to {target} timed out"),
            "check the host and port, and the firewall or security group between here and it"
                .into(),
        ),
        io::ErrorKind::HostUnreachable | io::ErrorKind::NetworkUnreachable => (
            format!("{target} is unreachable: {e}"),
            "check the host and the network route to it".into(),
        ),
        _ if is_dns(e) => (
            format!("cannot resolve {host}: {e}"),
            "check the host name; a name only the cluster's DNS knows cannot be checked from here"
                .into(),
        ),
        _ => (
            format!("connecting to {target}: {e}"),
            "check the host and port".into(),
        ),
    }
}

fn is_dns(e: &io::Error) -> bool {
    let text = e.to_string();
    text.contains("failed to lookup address")
        || text.contains("Name or service not known")
        || text.contains("nodename nor servname")
        || text.contains("Temporary failure in name resolution")
        || text.contains("No address associated")
}

/// A TLS client configuration trusting `ca_pem` only, or the system's roots.
pub fn tls_config(ca_pem: Option<&str>) -> Result<Arc<ClientConfig>, Problem> {
    use pki_types::pem::PemObject;
    let mut roots = RootCertStore::empty();
    match ca_pem {
        Some(pem) => {
            let certs: Vec<_> = pki_types::CertificateDer::pem_slice_iter(pem.as_bytes())
                .collect::<Result<_, _>>()
                .map_err(|e| {
                    (
                        format!("the CA certificate is not PEM: {e}"),
                        "give the CA as PEM text (-----BEGIN CERTIFICATE-----...)".to_string(),
                    )
                })?;
            if certs.is_empty() {
                return Err((
                    "the CA certificate holds no certificate".into(),
                    "give the CA as PEM text (-----BEGIN CERTIFICATE-----...)".into(),
                ));
            }
            for c in certs {
                roots.add(c).map_err(|e| {
                    (
                        format!("the CA certificate cannot be used: {e}"),
                        "give the certificate of the CA that signed the server's certificate"
                            .to_string(),
                    )
                })?;
            }
        }
        None => {
            let native = rustls_native_certs::load_native_certs();
            let (added, _) = roots.add_parsable_certificates(native.certs);
            if added == 0 {
                return Err((
                    "no CA certificates found on this machine".into(),
                    "install the system CA bundle (ca-certificates) or give a CA certificate"
                        .into(),
                ));
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| (format!("TLS set-up: {e}"), String::new()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// A TLS session over `tcp`, verifying the server's certificate for `host`.
pub async fn tls(
    tcp: TcpStream,
    host: &str,
    config: Arc<ClientConfig>,
    timeout: Duration,
) -> Result<TlsStream<TcpStream>, Problem> {
    let name = pki_types::ServerName::try_from(host.to_string()).map_err(|e| {
        (
            format!("{host} is not a valid TLS server name: {e}"),
            "use a DNS name or an IP address".to_string(),
        )
    })?;
    within(timeout, "TLS handshake", async {
        tokio_rustls::TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .map_err(|e| tls_problem(&e))
    })
    .await
}

fn tls_problem(e: &io::Error) -> Problem {
    let text = e.to_string();
    let hint = if text.contains("UnknownIssuer") || text.contains("invalid peer certificate") {
        "the server's certificate is not signed by the CA given (or the system's CAs), \
         or is not for this host name: give the right CA certificate"
    } else if text.contains("corrupt message") || text.contains("InvalidContentType") {
        "the server did not answer in TLS: is TLS enabled on this port?"
    } else {
        "check that the server speaks TLS on this port and that its certificate is valid"
    };
    (format!("TLS handshake failed: {text}"), hint.to_string())
}

/// A plain or TLS connection.
pub enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// A connection to `host:port`, in TLS when `tls` is given.
pub async fn connect(
    host: &str,
    port: u16,
    tls: Option<Arc<ClientConfig>>,
    timeout: Duration,
) -> Result<Stream, Problem> {
    let tcp = tcp(host, port, timeout).await?;
    match tls {
        None => Ok(Stream::Plain(tcp)),
        Some(config) => Ok(Stream::Tls(Box::new(
            self::tls(tcp, host, config, timeout).await?,
        ))),
    }
}

/// A port from the values: a number from 1 to 65535.
pub fn port(text: &str, key: &str) -> Result<u16, Problem> {
    text.trim()
        .parse::<u16>()
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| {
            (
                format!("{key}: {text:?} is not a port"),
                format!("set {key} to a number from 1 to 65535"),
            )
        })
}
