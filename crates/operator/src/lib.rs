//! The operator: the `WeightsAndBiases` resource and the controller that
//! keeps an install true to it.
//!
//! Pure parts (what to apply, in which order, whether it drifted, whether it
//! is ready, what the status says) are in `desired`, `drift`, `readiness`,
//! `secrets`, `status`, `pause`, `stop` and `v1`; the kube client is used in `engine`,
//! `controller` and `leader`.

pub mod cache;
pub mod conditions;
pub mod controller;
pub mod crd;
pub mod desired;
pub mod drift;
pub mod engine;
pub mod events;
pub mod kinds;
pub mod leader;
pub mod logs;
pub mod memory;
pub mod metrics;
pub mod migration;
pub mod pause;
pub mod readiness;
pub mod secrets;
pub mod server;
pub mod server_manifest;
pub mod status;
pub mod stop;
pub mod v1;
pub mod version;
