//! An OCI registry in memory on 127.0.0.1, for the server manifest pulls:
//! it serves manifests by tag and blobs by digest, asks for a Bearer token
//! (from its `/token`, given Basic credentials) or Basic auth when told to,
//! and records every request's path.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Body;
use axum::http::{Request, Response, StatusCode};
use base64::Engine;
use serde_json::json;

pub const USER: &str = "robot";
pub const PASSWORD: &str = "s3cret-pw";
const TOKEN: &str = "token-7f3a";

/// How the registry wants requests authorized.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Auth {
    #[default]
    None,
    /// A token from `/token`, which asks for Basic credentials.
    Bearer,
    Basic,
}

#[derive(Default)]
pub struct State {
    pub auth: Auth,
    /// Image manifests by `<name>:<tag>`.
    pub manifests: BTreeMap<String, Vec<u8>>,
    pub blobs: BTreeMap<String, Vec<u8>>,
    /// Every request: `GET /v2/...`.
    pub requests: Vec<String>,
    /// Authorization headers seen on `/v2/` requests.
    pub authorizations: Vec<String>,
}

#[derive(Clone)]
pub struct Registry {
    pub host: String,
    state: Arc<Mutex<State>>,
}

/// How a manifest's files are laid out in the artifact.
#[derive(Clone, Copy)]
pub enum Layout {
    /// One layer per file, titled (as `oras push` makes them).
    Files,
    /// One tar+gzip layer.
    TarGz,
}

pub fn sha256(bytes: &[u8]) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, bytes);
    let hex: String = d.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

impl Registry {
    pub async fn start() -> Registry {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let host = listener.local_addr().expect("an address").to_string();
        let state = Arc::new(Mutex::new(State::default()));
        let registry = Registry {
            host: host.clone(),
            state: state.clone(),
        };
        let serving = registry.clone();
        let app = axum::Router::new().fallback(move |req: Request<Body>| {
            let registry = serving.clone();
            async move { registry.answer(req) }
        });
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        registry
    }

    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn repository(&self) -> String {
        format!("{}/wandb/server-manifest", self.host)
    }

    /// Requests for image manifests so far.
    pub fn manifest_gets(&self) -> usize {
        self.state()
            .requests
            .iter()
            .filter(|r| r.contains("/manifests/"))
            .count()
    }

    /// Pushes `files` as `wandb/server-manifest:<tag>`; returns the image
    /// manifest's digest.
    pub fn push(&self, tag: &str, files: &[(&str, &str)], layout: Layout) -> String {
        let mut state = self.state();
        let config = b"{}".to_vec();
        let config_digest = sha256(&config);
        state.blobs.insert(config_digest.clone(), config);
        let mut layers = Vec::new();
        match layout {
            Layout::Files => {
                for (name, text) in files {
                    let digest = sha256(text.as_bytes());
                    state.blobs.insert(digest.clone(), text.as_bytes().to_vec());
                    layers.push(json!({
                        "mediaType": "application/vnd.oci.image.layer.v1.tar",
                        "digest": digest, "size": text.len(),
                        "annotations": {"org.opencontainers.image.title": name},
                    }));
                }
            }
            Layout::TarGz => {
                let blob = gzip(&tar(files));
                let digest = sha256(&blob);
                layers.push(json!({
                    "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": digest, "size": blob.len(),
                }));
                state.blobs.insert(digest, blob);
            }
        }
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "artifactType": "application/vnd.wandb.server-manifest",
            "config": {"mediaType": "application/vnd.oci.empty.v1+json",
                       "digest": config_digest, "size": 2},
            "layers": layers,
        });
        let bytes = serde_json::to_vec(&manifest).expect("JSON");
        let digest = sha256(&bytes);
        state
            .manifests
            .insert(format!("wandb/server-manifest:{tag}"), bytes);
        digest
    }

    fn answer(&self, req: Request<Body>) -> Response<Body> {
        let path = req.uri().path().to_string();
        let authorization = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let mut state = self.state();
        state.requests.push(format!(
            "GET {}",
            req.uri().path_and_query().map_or("", |p| p.as_str())
        ));
        let basic = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"))
        );
        if path == "/token" {
            if authorization != basic {
                return reply(StatusCode::UNAUTHORIZED, Vec::new(), &[]);
            }
            let body = json!({"token": TOKEN}).to_string().into_bytes();
            return reply(StatusCode::OK, body, &[]);
        }
        state.authorizations.push(authorization.clone());
        let Some(rest) = path.strip_prefix("/v2/") else {
            return reply(StatusCode::NOT_FOUND, Vec::new(), &[]);
        };
        let (allowed, challenge) = match state.auth {
            Auth::None => (true, String::new()),
            Auth::Bearer => (
                authorization == format!("Bearer {TOKEN}"),
                format!(
                    "Bearer realm=\"http://{}/token\",service=\"test-registry\",scope=\"repository:wandb/server-manifest:pull\"",
                    self.host
                ),
            ),
            Auth::Basic => (authorization == basic, "Basic realm=\"test\"".to_string()),
        };
        if !allowed {
            let errors =
                json!({"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]});
            return reply(
                StatusCode::UNAUTHORIZED,
                errors.to_string().into_bytes(),
                &[("www-authenticate", challenge.as_str())],
            );
        }
        if let Some((name, tag)) = rest.split_once("/manifests/") {
            return match state.manifests.get(&format!("{name}:{tag}")) {
                Some(m) => reply(
                    StatusCode::OK,
                    m.clone(),
                    &[("content-type", "application/vnd.oci.image.manifest.v1+json")],
                ),
                None => {
                    let errors = json!({"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown"}]});
                    reply(StatusCode::NOT_FOUND, errors.to_string().into_bytes(), &[])
                }
            };
        }
        if let Some((_, digest)) = rest.split_once("/blobs/") {
            return match state.blobs.get(digest) {
                Some(b) => reply(StatusCode::OK, b.clone(), &[]),
                None => {
                    let errors = json!({"errors": [{"code": "BLOB_UNKNOWN", "message": "blob unknown to registry"}]});
                    reply(StatusCode::NOT_FOUND, errors.to_string().into_bytes(), &[])
                }
            };
        }
        reply(StatusCode::NOT_FOUND, Vec::new(), &[])
    }
}

fn reply(status: StatusCode, body: Vec<u8>, headers: &[(&str, &str)]) -> Response<Body> {
    let mut resp = Response::builder().status(status);
    for (k, v) in headers {
        resp = resp.header(*k, *v);
    }
    resp.body(Body::from(body)).expect("a response")
}

/// A ustar archive of `files`.
fn tar(files: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, text) in files {
        let mut header = [0u8; 512];
        let name = format!("server-manifest/{name}");
        header[..name.len()].copy_from_slice(name.as_bytes());
        header[124..136].copy_from_slice(format!("{:011o}\0", text.len()).as_bytes());
        header[156] = b'0';
        header[257..263].copy_from_slice(b"ustar\0");
        out.extend_from_slice(&header);
        out.extend_from_slice(text.as_bytes());
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.extend_from_slice(&[0u8; 1024]);
    out
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).expect("gzip");
    enc.finish().expect("gzip")
}
