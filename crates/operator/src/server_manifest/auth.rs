//! Registry credentials: from the install's image pull Secrets (a
//! `kubernetes.io/dockerconfigjson`, or the older `dockercfg`), sent as
//! Basic auth or traded for a Bearer token as a registry's
//! `WWW-Authenticate` challenge asks.

use std::collections::BTreeMap;

use base64::Engine;
use serde_json::Value;

/// A user name and password (or token) for one registry. Its `Debug`
/// shows neither.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credentials(..)")
    }
}

impl Credentials {
    /// The `Authorization` header of Basic auth.
    pub fn basic(&self) -> String {
        let pair = format!("{}:{}", self.username, self.password);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    }
}

/// The credentials a Docker config gives for `registry` (`host[:port]`),
/// if any. Keys are matched by host: `https://index.docker.io/v1/` is
/// Docker Hub's, as `docker login` writes it.
pub fn from_docker_config(config: &[u8], registry: &str) -> Option<Credentials> {
    let config: Value = serde_json::from_slice(config).ok()?;
    let auths = config.get("auths").unwrap_or(&config).as_object()?;
    let wanted = canonical(registry);
    auths
        .iter()
        .find(|(key, _)| canonical(key) == wanted)
        .and_then(|(_, entry)| entry_credentials(entry))
}

/// A registry key as a host: no scheme, no path; Docker Hub's names as one.
fn canonical(key: &str) -> String {
    let key = key
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    let host = key
        .split('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    match host.as_str() {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => {
            "docker.io".into()
        }
        _ => host,
    }
}

fn entry_credentials(entry: &Value) -> Option<Credentials> {
    let text = |k: &str| entry.get(k).and_then(Value::as_str).unwrap_or_default();
    if !text("username").is_empty() {
        return Some(Credentials {
            username: text("username").into(),
            password: text("password").into(),
        });
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(text("auth").trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (username, password) = decoded.split_once(':')?;
    Some(Credentials {
        username: username.into(),
        password: password.into(),
    })
}

/// A `WWW-Authenticate` challenge: its scheme (lower case) and parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub scheme: String,
    pub params: BTreeMap<String, String>,
}

/// `Bearer realm="https://auth.example.com/token",service="registry",scope="repository:x:pull"`.
pub fn parse_challenge(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    if scheme.is_empty() {
        return None;
    }
    let mut params = BTreeMap::new();
    let mut rest = rest.trim();
    while !rest.is_empty() {
        let (key, after) = rest.split_once('=')?;
        let key = key
            .trim()
            .trim_start_matches(',')
            .trim()
            .to_ascii_lowercase();
        let after = after.trim_start();
        let (value, next) = if let Some(quoted) = after.strip_prefix('"') {
            let end = quoted.find('"')?;
            (&quoted[..end], &quoted[end + 1..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        params.insert(key, value.to_string());
        rest = next.trim_start().trim_start_matches(',').trim_start();
    }
    Some(Challenge {
        scheme: scheme.to_ascii_lowercase(),
        params,
    })
}

/// The token in a token endpoint's answer (`token`, or OAuth2's `access_token`).
pub fn token_of(body: &[u8]) -> Option<String> {
    let answer: Value = serde_json::from_slice(body).ok()?;
    ["token", "access_token"]
        .iter()
        .filter_map(|k| answer.get(k).and_then(Value::as_str))
        .find(|t| !t.is_empty())
        .map(String::from)
}

/// A query parameter's value, percent-encoded.
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_configs_by_host() {
        let auth = base64::engine::general_purpose::STANDARD.encode("robot:s3cret");
        let config = serde_json::json!({"auths": {
            "https://index.docker.io/v1/": {"auth": auth},
            "us-docker.pkg.dev": {"username": "_json_key", "password": "{}"},
        }})
        .to_string();
        let hub = from_docker_config(config.as_bytes(), "registry-1.docker.io").unwrap();
        assert_eq!(
            (hub.username.as_str(), hub.password.as_str()),
            ("robot", "s3cret")
        );
        assert_eq!(hub.basic(), format!("Basic {auth}"));
        let gar = from_docker_config(config.as_bytes(), "us-docker.pkg.dev").unwrap();
        assert_eq!(gar.username, "_json_key");
        assert_eq!(from_docker_config(config.as_bytes(), "quay.io"), None);
        // The older format: the map without `auths`.
        let old = serde_json::json!({"quay.io": {"auth": auth}}).to_string();
        assert!(from_docker_config(old.as_bytes(), "quay.io").is_some());
        assert_eq!(from_docker_config(b"not json", "quay.io"), None);
    }

    #[test]
    fn credentials_do_not_show_in_debug() {
        let c = Credentials {
            username: "robot".into(),
            password: "s3cret".into(),
        };
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("robot") && !shown.contains("s3cret"),
            "{shown}"
        );
    }

    #[test]
    fn challenges() {
        let c = parse_challenge(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:a/b:pull""#,
        )
        .unwrap();
        assert_eq!(c.scheme, "bearer");
        assert_eq!(c.params["realm"], "https://auth.docker.io/token");
        assert_eq!(c.params["service"], "registry.docker.io");
        assert_eq!(c.params["scope"], "repository:a/b:pull");
        let basic = parse_challenge(r#"Basic realm="Registry""#).unwrap();
        assert_eq!(basic.scheme, "basic");
        let bare = parse_challenge("Bearer realm=https://x/token, service=x").unwrap();
        assert_eq!(bare.params["service"], "x");
        assert_eq!(bare.params["realm"], "https://x/token");
    }

    #[test]
    fn tokens_and_encoding() {
        assert_eq!(token_of(br#"{"token":"t1"}"#).as_deref(), Some("t1"));
        assert_eq!(token_of(br#"{"access_token":"t2"}"#).as_deref(), Some("t2"));
        assert_eq!(token_of(br#"{}"#), None);
        assert_eq!(encode("repository:a/b:pull"), "repository%3Aa%2Fb%3Apull");
    }
}
