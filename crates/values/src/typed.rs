//! Typing a tree or JSON text, with errors that name their place.
//!
//! `serde_path_to_error` names the place of an error, and tracking the path
//! costs about a third of the typing: the input is typed without it first,
//! and only input that fails is typed again to find the place.

use serde::de::DeserializeOwned;
use serde_json::Value;

/// The path-naming error of typing.
pub type Error = serde_path_to_error::Error<serde_json::Error>;

/// `T` from a tree.
pub fn from_tree<T: DeserializeOwned>(tree: &Value) -> Result<T, Error> {
    match T::deserialize(tree) {
        Ok(typed) => Ok(typed),
        Err(_) => serde_path_to_error::deserialize(tree),
    }
}

/// `T` from JSON text.
pub fn from_json<T: DeserializeOwned>(text: &str) -> Result<T, Error> {
    match serde_json::from_str(text) {
        Ok(typed) => Ok(typed),
        Err(_) => {
            let mut de = serde_json::Deserializer::from_str(text);
            serde_path_to_error::deserialize(&mut de)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Outer {
        inner: Vec<Inner>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Inner {
        port: u16,
    }

    #[test]
    fn good_input_types_as_serde_types_it() {
        let tree = json!({"inner": [{"port": 80}]});
        let expected = Outer {
            inner: vec![Inner { port: 80 }],
        };
        assert_eq!(from_tree::<Outer>(&tree).expect("typed"), expected);
        assert_eq!(
            from_json::<Outer>(&tree.to_string()).expect("typed"),
            expected
        );
    }

    #[test]
    fn a_bad_input_names_the_place() {
        let tree = json!({"inner": [{"port": 80}, {"port": "eighty"}]});
        for e in [
            from_tree::<Outer>(&tree).expect_err("a string port"),
            from_json::<Outer>(&tree.to_string()).expect_err("a string port"),
        ] {
            assert_eq!(e.path().to_string(), "inner[1].port");
            assert!(e.inner().to_string().contains("invalid type"), "{e}");
        }
    }
}
