//! A values path of the document: `global.mysql.host`, or `.traceRatio` for
//! a key of the service's own values block.

use std::fmt;

use serde::de::{Deserialize, Deserializer, Error};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValuePath {
    /// Read under the service's values block (`.key`), not from the top.
    pub relative: bool,
    pub keys: Vec<String>,
}

impl ValuePath {
    pub fn parse(text: &str) -> Result<Self, String> {
        let (relative, rest) = match text.strip_prefix('.') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let keys: Vec<String> = rest.split('.').map(str::to_string).collect();
        if keys.iter().any(String::is_empty) {
            return Err(format!(
                "{text:?} is not a values path (keys joined by dots: global.host, or .key for the service's own)"
            ));
        }
        Ok(ValuePath { relative, keys })
    }
}

impl fmt::Display for ValuePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.relative {
            f.write_str(".")?;
        }
        f.write_str(&self.keys.join("."))
    }
}

impl<'de> Deserialize<'de> for ValuePath {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        ValuePath::parse(&text).map_err(D::Error::custom)
    }
}
