//! Values of a W&B Server install: the keys of the upstream `operator-wandb`
//! chart, typed, with embedded defaults, Helm's merge rules and `--set`
//! syntax, and validation that names the offending key.
//!
//! ```text
//! -f files, --set flags, spec.values
//!   -> merged as Helm merges them            (tree, set)
//!   -> laid over the embedded defaults       (load::defaults)
//!   -> typed                                 (types::Values)
//!   -> checked: unknown keys warn, bad values fail   (check, validate)
//! ```

pub mod check;
pub mod load;
pub mod set;
pub mod tree;
pub mod types;
pub mod validate;

pub use load::{Disk, FileReader, Loaded, Source, load};
pub use set::SetKind;
pub use types::*;

/// How bad a [`Problem`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The values cannot be used.
    Error,
    /// The values can be used; something in them is ignored or odd.
    Warning,
}

/// One problem with the values, at a key path (or a file, or a flag).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct Problem {
    pub severity: Severity,
    /// `app.replicaCount`, `values.yaml`, `--set a=b`.
    pub path: String,
    pub message: String,
}

impl Problem {
    pub fn error(path: &str, message: String) -> Self {
        Problem {
            severity: Severity::Error,
            path: path.to_string(),
            message,
        }
    }
    pub fn warning(path: &str, message: String) -> Self {
        Problem {
            severity: Severity::Warning,
            path: path.to_string(),
            message,
        }
    }
}
