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

pub mod backup;
pub mod bufstream;
pub mod check;
pub mod cloud_exporters;
pub mod load;
pub mod set;
pub mod store_kind;
pub mod stores;
pub mod template;
pub mod tpls;
pub mod tree;
pub mod typed;
pub mod types;
pub mod validate;

pub use backup::*;
pub use bufstream::*;
pub use cloud_exporters::*;
pub use load::{Additions, Disk, FileReader, Loaded, NoFiles, Source, load};
pub use set::SetKind;
pub use store_kind::StoreKind;
pub use stores::*;
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
///
/// Shown as one line of bounded length, whatever the input: control and
/// bidirectional-formatting characters of keys and values are escaped, and a
/// path or message too long to read is cut with `…`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {}", one_line(.path, MAX_PATH_CHARS), one_line(.message, MAX_MESSAGE_CHARS))]
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

/// A problem's path is cut after this many characters when shown.
pub const MAX_PATH_CHARS: usize = 160;
/// A problem's message is cut after this many characters when shown.
pub const MAX_MESSAGE_CHARS: usize = 400;

/// `text` on one line: control characters, line and paragraph separators and
/// bidirectional overrides escaped (`\n`, `\u{202e}`), cut after `max`
/// characters with `…`.
pub fn one_line(text: &str, max: usize) -> String {
    let mut out = String::new();
    let mut count = 0;
    for c in text.chars() {
        let invisible = matches!(c, '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        let shown: Vec<char> = if c.is_control() || invisible {
            c.escape_default().collect()
        } else {
            vec![c]
        };
        if count + shown.len() > max {
            out.push('…');
            break;
        }
        count += shown.len();
        out.extend(shown);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_is_one_bounded_line() {
        let p = Problem::error("a\nb\u{202e}", format!("found {}", "x".repeat(1 << 20)));
        let shown = p.to_string();
        assert_eq!(shown.lines().count(), 1, "{shown}");
        assert!(shown.starts_with("a\\nb\\u{202e}: found xxx"), "{shown}");
        assert!(shown.ends_with("x…"), "{shown}");
        assert!(shown.chars().count() < MAX_PATH_CHARS + MAX_MESSAGE_CHARS + 4);
        assert_eq!(one_line("tab\there 🚀 ok", 100), "tab\\there 🚀 ok");
        // Escapes count towards the bound (found by fuzzing).
        let shown = one_line(&"\u{1b}".repeat(1000), 400);
        assert_eq!(shown.chars().count(), 397, "{shown}");
    }
}
