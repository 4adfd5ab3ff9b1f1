//! Server manifests from an OCI registry: W&B publishes one per W&B Server
//! version (`<repository>:<version>`). The engine's side (which version,
//! the cache, the status) is `engine::server_manifest`.

pub mod archive;
pub mod auth;
pub mod http;
pub mod pull;
pub mod reference;

pub use auth::Credentials;
pub use pull::{PullError, Pulled, pull};
pub use reference::{Reference, ReferenceError};
