//! The contract with the upstream `operator-wandb` chart.
//!
//! What W&B's containers and existing installs depend on, checked by
//! comparing our render with the upstream chart's, object by object
//! ([`checks`]); the deliberate differences, each with its reason, are in
//! `docs/compatibility.md` ([`ledger`]). The upstream material itself is not
//! part of the repository: [`peer`] finds it beside the repository when it is
//! there, and the tests that need it skip with one line when it is not.
//! [`manifest_oracle`] says what W&B's own v2 operator gives each
//! application of a W&B server manifest, for the peer tier to check ours by.

pub mod batches;
pub mod checks;
pub mod docs;
pub mod effects_cache;
pub mod fidelity;
pub mod ledger;
pub mod manifest_oracle;
pub mod peer;
pub mod report;
pub mod upstream;

pub use checks::{Check, compare};
pub use docs::{Objects, parse_objects, render_objects};
pub use ledger::{Entry, Ledger};
