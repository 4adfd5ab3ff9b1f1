//! The OCI client that pulls server manifests, against a registry in
//! memory on loopback: plain and tar+gzip layers, Bearer and Basic auth,
//! a blob whose bytes do not match its digest, an unknown tag.

use super::registry::{Auth, Layout, PASSWORD, Registry, USER, sha256};
use wandb_operator_core::server_manifest::{Credentials, PullError, Reference, pull};

fn files(version: &str) -> Vec<(&'static str, String)> {
    super::manifests::files(version)
}

async fn pushed(version: &str, layout: Layout) -> (Registry, Reference, String) {
    let registry = Registry::start().await;
    let owned = files(version);
    let borrowed: Vec<(&str, &str)> = owned.iter().map(|(n, t)| (*n, t.as_str())).collect();
    let digest = registry.push(version, &borrowed, layout);
    let reference = Reference::new(&registry.repository(), version).expect("a reference");
    (registry, reference, digest)
}

fn robot() -> Credentials {
    Credentials {
        username: USER.into(),
        password: PASSWORD.into(),
    }
}

#[tokio::test]
async fn titled_file_layers_are_pulled_and_their_manifest_digest_kept() {
    let (registry, reference, digest) = pushed("0.84.0", Layout::Files).await;
    let pulled = pull(&reference, None).await.expect("pulled");
    assert_eq!(pulled.digest, digest);
    assert_eq!(
        pulled.files["manifest.yaml"],
        super::manifests::manifest("0.84.0")
    );
    assert_eq!(pulled.files["sizing.yaml"], super::manifests::SIZING);
    let requests = registry.state().requests.clone();
    // The manifest, then each file's blob; the config blob is not wanted.
    assert_eq!(requests.len(), 3, "{requests:?}");
    assert_eq!(
        requests[0],
        "GET /v2/wandb/server-manifest/manifests/0.84.0"
    );
}

#[tokio::test]
async fn a_tar_gzip_layer_is_unpacked() {
    let (_registry, reference, _) = pushed("0.83.0", Layout::TarGz).await;
    let pulled = pull(&reference, None).await.expect("pulled");
    assert_eq!(
        pulled.files["manifest.yaml"],
        super::manifests::manifest("0.83.0")
    );
    assert_eq!(pulled.files.len(), 2);
}

#[tokio::test]
async fn a_bearer_token_is_had_with_the_credentials_and_sent() {
    let (registry, reference, _) = pushed("0.84.0", Layout::Files).await;
    registry.state().auth = Auth::Bearer;
    pull(&reference, Some(&robot())).await.expect("pulled");
    let state = registry.state();
    let token = state
        .requests
        .iter()
        .find(|r| r.starts_with("GET /token"))
        .expect("a token request");
    assert!(
        token.contains("scope=repository%3Awandb%2Fserver-manifest%3Apull")
            && token.contains("service=test-registry"),
        "{token}"
    );
    // The first request unauthorized, every one after it with the token.
    assert_eq!(state.authorizations[0], "");
    assert!(
        state.authorizations[1..]
            .iter()
            .all(|a| a == "Bearer token-7f3a"),
        "{:?}",
        state.authorizations
    );
}

#[tokio::test]
async fn without_credentials_a_bearer_registry_says_where_the_token_failed() {
    let (registry, reference, _) = pushed("0.84.0", Layout::Files).await;
    registry.state().auth = Auth::Bearer;
    let err = pull(&reference, None).await.expect_err("no credentials");
    assert!(matches!(err, PullError::Token { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "getting a token from http://{}/token: HTTP 401",
            registry.host
        )
    );
}

#[tokio::test]
async fn basic_auth_when_the_registry_asks_for_it() {
    let (registry, reference, _) = pushed("0.84.0", Layout::Files).await;
    registry.state().auth = Auth::Basic;
    pull(&reference, Some(&robot())).await.expect("pulled");
    let wrong = Credentials {
        username: USER.into(),
        password: "wrong".into(),
    };
    let err = pull(&reference, Some(&wrong)).await.expect_err("refused");
    let message = err.to_string();
    assert_eq!(
        message,
        format!(
            "unauthorized (401): give global.imagePullSecrets a Secret with credentials for {}",
            registry.host
        )
    );
    assert!(!message.contains("wrong") && !message.contains(PASSWORD));
}

#[tokio::test]
async fn a_blob_whose_bytes_are_not_its_digest_is_refused() {
    let (registry, reference, _) = pushed("0.84.0", Layout::Files).await;
    let sizing = sha256(super::manifests::SIZING.as_bytes());
    registry
        .state()
        .blobs
        .insert(sizing.clone(), b"applications: {}\n".to_vec());
    let err = pull(&reference, None).await.expect_err("a bad digest");
    assert_eq!(
        err.to_string(),
        format!(
            "blob {sizing}: its content's digest is {}, not {sizing}",
            sha256(b"applications: {}\n")
        )
    );
}

#[tokio::test]
async fn an_unknown_version_is_manifest_unknown_404() {
    let (_registry, reference, _) = pushed("0.84.0", Layout::Files).await;
    let missing = Reference::new(&reference.repository, "0.99.0").expect("a reference");
    let err = pull(&missing, None).await.expect_err("not there");
    assert_eq!(err.to_string(), "manifest unknown (404)");
}

#[tokio::test]
async fn a_layer_larger_than_a_manifest_can_be_is_not_fetched() {
    let registry = Registry::start().await;
    let huge = "x".repeat(9 * 1024 * 1024);
    registry.push("0.84.0", &[("manifest.yaml", &huge)], Layout::Files);
    let reference = Reference::new(&registry.repository(), "0.84.0").expect("a reference");
    let err = pull(&reference, None).await.expect_err("too large");
    assert!(matches!(err, PullError::TooLarge { .. }), "{err:?}");
    let blob_gets = registry
        .state()
        .requests
        .iter()
        .filter(|r| r.contains("/blobs/"))
        .count();
    assert_eq!(blob_gets, 0);
}

#[tokio::test]
async fn an_artifact_without_sizing_yaml_names_what_it_has() {
    let registry = Registry::start().await;
    let text = super::manifests::manifest("0.84.0");
    registry.push("0.84.0", &[("manifest.yaml", &text)], Layout::Files);
    let reference = Reference::new(&registry.repository(), "0.84.0").expect("a reference");
    let err = pull(&reference, None).await.expect_err("incomplete");
    assert_eq!(
        err.to_string(),
        "the artifact has no sizing.yaml (layers: manifest.yaml (application/vnd.oci.image.layer.v1.tar))"
    );
}
