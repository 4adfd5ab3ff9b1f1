//! Pulling a server manifest from an OCI registry (the distribution API):
//! the image manifest by tag, then the layers holding `manifest.yaml` and
//! `sizing.yaml`, each checked against its sha256 digest. A layer is one
//! file titled by `org.opencontainers.image.title` (as `oras push` makes
//! them) or a tar (plain or gzip'd) holding the files.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::archive;
use super::auth::{self, Credentials};
use super::http::{self, HttpError, Response, Url};
use super::reference::Reference;

/// The files a server manifest is made of.
pub const FILES: [&str; 2] = ["manifest.yaml", "sizing.yaml"];
/// A server manifest is tens of KB: a blob larger than this is not one.
pub const MAX_BLOB: usize = 8 * 1024 * 1024;
/// An image manifest lists a few layers.
const MAX_MANIFEST: usize = 1024 * 1024;
/// Each request, connection to last byte.
const TIMEOUT: Duration = Duration::from_secs(30);
const MAX_REDIRECTS: usize = 5;
const MANIFEST_TYPES: &str = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";
const TITLE: &str = "org.opencontainers.image.title";

/// A pulled server manifest: the files by name, and the digest of the
/// image manifest that listed them (what the tag pointed at).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pulled {
    pub digest: String,
    pub files: BTreeMap<String, String>,
}

/// What went wrong, by step. Messages never hold a credential or a token.
#[derive(Debug, thiserror::Error)]
pub enum PullError {
    #[error("{0}")]
    Http(#[from] HttpError),
    #[error("{what}{message} ({status})")]
    Status {
        what: String,
        status: u16,
        message: String,
    },
    #[error(
        "unauthorized ({status}): give global.imagePullSecrets a Secret with credentials for {registry}"
    )]
    Unauthorized { status: u16, registry: String },
    #[error("getting a token from {realm}: {message}")]
    Token { realm: String, message: String },
    #[error("{what}more than {MAX_REDIRECTS} redirects")]
    Redirects { what: String },
    #[error("the manifest is not an OCI image manifest: {0}")]
    Manifest(String),
    #[error("{what}: its content's digest is {got}, not {want}")]
    Digest {
        what: String,
        want: String,
        got: String,
    },
    #[error("blob {digest}: {size} bytes, more than the {MAX_BLOB} a server manifest may be")]
    TooLarge { digest: String, size: u64 },
    #[error("blob {digest}: {source}")]
    Archive {
        digest: String,
        source: archive::ArchiveError,
    },
    #[error("{file} is not UTF-8 text")]
    NotText { file: String },
    #[error("the artifact has no {missing} (layers: {layers})")]
    Missing { missing: String, layers: String },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ImageManifest {
    #[serde(default)]
    media_type: String,
    #[serde(default)]
    manifests: Option<serde_json::Value>,
    #[serde(default)]
    layers: Vec<Descriptor>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    #[serde(default)]
    media_type: String,
    digest: String,
    #[serde(default)]
    size: u64,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

impl Descriptor {
    fn shown(&self) -> String {
        match self.annotations.get(TITLE) {
            Some(title) => format!("{title} ({})", self.media_type),
            None => self.media_type.clone(),
        }
    }
}

/// Pulls `reference` with `credentials` (when the install has some for
/// its registry).
pub async fn pull(
    reference: &Reference,
    credentials: Option<&Credentials>,
) -> Result<Pulled, PullError> {
    let mut session = Session {
        reference,
        credentials,
        authorization: None,
    };
    // "manifest unknown (404)" says which request it was.
    let what = String::new();
    let path = format!("/v2/{}/manifests/{}", reference.name, reference.tag);
    let resp = session
        .get(&path, MANIFEST_TYPES, MAX_MANIFEST, &what)
        .await?;
    let digest = sha256(&resp.body);
    if let Some(said) = resp.header("docker-content-digest")
        && said.starts_with("sha256:")
        && said != digest
    {
        return Err(PullError::Digest {
            what: "the manifest".into(),
            want: said.to_string(),
            got: digest,
        });
    }
    let manifest: ImageManifest =
        serde_json::from_slice(&resp.body).map_err(|e| PullError::Manifest(e.to_string()))?;
    if manifest.manifests.is_some() || manifest.media_type.contains("index") {
        return Err(PullError::Manifest(
            "it is an index of several manifests; push the server manifest as one artifact \
             (`oras push <repository>:<version> manifest.yaml sizing.yaml`)"
                .into(),
        ));
    }
    let mut files = BTreeMap::new();
    for layer in &manifest.layers {
        if FILES.iter().all(|f| files.contains_key(*f)) {
            break;
        }
        let title = layer.annotations.get(TITLE).map(|t| base_name(t));
        let plain = title.is_some_and(|t| FILES.contains(&t));
        if !plain && !layer.media_type.contains("tar") {
            continue;
        }
        let blob = session.blob(layer).await?;
        if let (true, Some(title)) = (plain, title) {
            files.insert(title.to_string(), blob);
        } else {
            let found =
                archive::files(&blob, &FILES, MAX_BLOB).map_err(|source| PullError::Archive {
                    digest: layer.digest.clone(),
                    source,
                })?;
            for (name, data) in found {
                files.entry(name).or_insert(data);
            }
        }
    }
    let mut texts = BTreeMap::new();
    for file in FILES {
        let Some(data) = files.remove(file) else {
            let layers: Vec<String> = manifest.layers.iter().map(Descriptor::shown).collect();
            return Err(PullError::Missing {
                missing: file.into(),
                layers: layers.join(", "),
            });
        };
        let text = String::from_utf8(data).map_err(|_| PullError::NotText { file: file.into() })?;
        texts.insert(file.to_string(), text);
    }
    Ok(Pulled {
        digest,
        files: texts,
    })
}

fn base_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or_default()
}

/// `sha256:<hex>` of some bytes.
pub fn sha256(bytes: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// The requests of one pull, with the authorization the registry asked for.
struct Session<'a> {
    reference: &'a Reference,
    credentials: Option<&'a Credentials>,
    /// The `Authorization` header, once a challenge was answered.
    authorization: Option<String>,
}

impl Session<'_> {
    /// A layer's bytes, checked against its digest and size.
    async fn blob(&mut self, layer: &Descriptor) -> Result<Vec<u8>, PullError> {
        let valid = layer
            .digest
            .strip_prefix("sha256:")
            .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()));
        if !valid {
            return Err(PullError::Manifest(format!(
                "layer digest {:?} is not a sha256 digest",
                layer.digest
            )));
        }
        if layer.size > MAX_BLOB as u64 {
            return Err(PullError::TooLarge {
                digest: layer.digest.clone(),
                size: layer.size,
            });
        }
        let what = format!("blob {}: ", layer.digest);
        let path = format!("/v2/{}/blobs/{}", self.reference.name, layer.digest);
        let resp = self.get(&path, "*/*", MAX_BLOB, &what).await?;
        let got = sha256(&resp.body);
        if got != layer.digest {
            return Err(PullError::Digest {
                what: format!("blob {}", layer.digest),
                want: layer.digest.clone(),
                got,
            });
        }
        Ok(resp.body)
    }

    /// A GET of the registry's `path`: answering its challenge once,
    /// following redirects (without the registry's authorization when
    /// they lead elsewhere, as to a storage bucket's signed URL).
    async fn get(
        &mut self,
        path: &str,
        accept: &str,
        max: usize,
        what: &str,
    ) -> Result<Response, PullError> {
        let registry = Url::parse(&format!("{}{path}", self.reference.base_url()), None)?;
        let mut challenged = false;
        let mut url = registry.clone();
        let mut hops = 0;
        loop {
            let mut headers = vec![("accept", accept.to_string())];
            let same_host = url.host == registry.host && url.port == registry.port;
            if let Some(authorization) = self.authorization.as_ref().filter(|_| same_host) {
                headers.push(("authorization", authorization.clone()));
            }
            let resp = http::get(&url, &headers, max, TIMEOUT).await?;
            match resp.status {
                200 => return Ok(resp),
                301 | 302 | 303 | 307 | 308 => {
                    hops += 1;
                    let location = resp.header("location").unwrap_or_default();
                    if hops > MAX_REDIRECTS || location.is_empty() {
                        return Err(PullError::Redirects { what: what.into() });
                    }
                    url = Url::parse(location, Some(&url))?;
                }
                401 if same_host && !challenged => {
                    challenged = true;
                    self.answer(&resp).await?;
                    url = registry.clone();
                }
                401 | 403 => {
                    return Err(PullError::Unauthorized {
                        status: resp.status,
                        registry: self.reference.registry.clone(),
                    });
                }
                status => {
                    return Err(PullError::Status {
                        what: what.into(),
                        status,
                        message: registry_message(&resp),
                    });
                }
            }
        }
    }

    /// Sets the authorization a 401's `WWW-Authenticate` asks for: Basic
    /// with the credentials, or a Bearer token from the realm it names.
    async fn answer(&mut self, resp: &Response) -> Result<(), PullError> {
        let unauthorized = || PullError::Unauthorized {
            status: 401,
            registry: self.reference.registry.clone(),
        };
        let challenge = resp
            .header("www-authenticate")
            .and_then(auth::parse_challenge)
            .ok_or_else(unauthorized)?;
        match challenge.scheme.as_str() {
            "basic" => {
                self.authorization = Some(self.credentials.ok_or_else(unauthorized)?.basic());
                Ok(())
            }
            "bearer" => {
                let token = self.token(&challenge).await?;
                self.authorization = Some(format!("Bearer {token}"));
                Ok(())
            }
            _ => Err(unauthorized()),
        }
    }

    async fn token(&self, challenge: &auth::Challenge) -> Result<String, PullError> {
        let realm = challenge.params.get("realm").cloned().unwrap_or_default();
        let fail = |message: String| PullError::Token {
            realm: realm.clone(),
            message,
        };
        let mut url = Url::parse(&realm, None).map_err(|e| fail(e.to_string()))?;
        let scope = challenge
            .params
            .get("scope")
            .cloned()
            .unwrap_or_else(|| format!("repository:{}:pull", self.reference.name));
        let mut query = vec![format!("scope={}", auth::encode(&scope))];
        if let Some(service) = challenge.params.get("service") {
            query.push(format!("service={}", auth::encode(service)));
        }
        let joiner = if url.path.contains('?') { '&' } else { '?' };
        url.path = format!("{}{joiner}{}", url.path, query.join("&"));
        let mut headers = vec![("accept", "application/json".to_string())];
        if let Some(credentials) = self.credentials {
            headers.push(("authorization", credentials.basic()));
        }
        let resp = http::get(&url, &headers, 64 * 1024, TIMEOUT)
            .await
            .map_err(|e| fail(e.to_string()))?;
        if resp.status != 200 {
            return Err(fail(format!("HTTP {}", resp.status)));
        }
        auth::token_of(&resp.body).ok_or_else(|| fail("the answer holds no token".into()))
    }
}

/// What a registry's error answer says (`{"errors":[{"code","message"}]}`),
/// short; else the status's name.
fn registry_message(resp: &Response) -> String {
    let said = serde_json::from_slice::<serde_json::Value>(&resp.body)
        .ok()
        .and_then(|v| {
            let first = v.get("errors")?.get(0)?.clone();
            let message = first.get("message").and_then(|m| m.as_str());
            let code = first.get("code").and_then(|c| c.as_str());
            message.filter(|m| !m.is_empty()).or(code).map(String::from)
        });
    let text = said.unwrap_or_else(|| {
        hyper::StatusCode::from_u16(resp.status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("unexpected answer")
            .to_ascii_lowercase()
    });
    text.chars().take(200).collect()
}
