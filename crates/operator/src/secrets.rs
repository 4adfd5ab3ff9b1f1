//! Generated secrets: random once, kept forever after.

use std::collections::BTreeSet;

use base64::Engine;
use serde_json::Value;

use crate::desired::DesiredObject;

const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// `length` random alphanumerics from the operating system's secure source.
pub fn random_alphanumeric(length: usize) -> Result<String, getrandom::Error> {
    let mut out = String::with_capacity(length);
    let mut buf = [0u8; 64];
    while out.len() < length {
        getrandom::fill(&mut buf)?;
        for b in buf {
            // Rejection sampling keeps every character equally likely.
            if (b as usize) < 256 - 256 % ALPHABET.len() && out.len() < length {
                out.push(ALPHABET[b as usize % ALPHABET.len()] as char);
            }
        }
    }
    Ok(out)
}

/// Fills the generated keys of a desired Secret: the live value when there
/// is one, else a new random one. Returns the keys that got new values.
pub fn fill(
    object: &mut DesiredObject,
    live: Option<&Value>,
    random: &mut dyn FnMut(usize) -> Result<String, getrandom::Error>,
) -> Result<Vec<String>, getrandom::Error> {
    let mut fresh = Vec::new();
    for g in &object.generated {
        let existing = live
            .and_then(|l| l.pointer(&format!("/data/{}", escape(&g.key))))
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .map(str::to_string);
        let value = match existing {
            Some(v) => v,
            None => {
                fresh.push(g.key.clone());
                base64::engine::general_purpose::STANDARD.encode(random(g.length)?)
            }
        };
        object.body["data"][&g.key] = Value::String(value);
    }
    Ok(fresh)
}

/// What a user hears of keys that got new values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Generated {
    /// Nothing: a Secret created for the first time, or nothing generated.
    Quietly,
    /// The Secret exists and lacked these keys (absent or empty); every
    /// value it had is kept.
    MissingKeys(Vec<String>),
    /// The Secret was applied before and is gone: these values are lost.
    Deleted(Vec<String>),
}

/// Says what `fresh` (the keys [`fill`] generated) means for a Secret that
/// `exists` live, or that was applied before (`established`) and is gone.
pub fn generated(fresh: Vec<String>, exists: bool, established: bool) -> Generated {
    match (fresh.is_empty(), exists, established) {
        (true, _, _) => Generated::Quietly,
        (false, true, _) => Generated::MissingKeys(fresh),
        (false, false, true) => Generated::Deleted(fresh),
        (false, false, false) => Generated::Quietly,
    }
}

/// The components of `objects` that an earlier reconcile applied: some of
/// their objects are in its `inventory`. A generated Secret of one of them
/// that is absent was deleted (its values are lost), not yet to be created.
pub fn applied_components(objects: &[DesiredObject], inventory: &[String]) -> BTreeSet<String> {
    let inventory: BTreeSet<&str> = inventory.iter().map(String::as_str).collect();
    objects
        .iter()
        .filter(|o| inventory.contains(o.key().as_str()))
        .map(|o| o.component.clone())
        .collect()
}

/// JSON pointer escaping of a key.
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desired::Stage;
    use serde_json::json;
    use wandb_render::GeneratedKey;

    fn secret() -> DesiredObject {
        DesiredObject {
            api_version: "v1".into(),
            kind: "Secret".into(),
            name: "wandb-mysql".into(),
            namespace: Some("ns".into()),
            component: "mysql".into(),
            stage: Stage::Config,
            start: Stage::Config,
            body: json!({"data": {"MYSQL_PASSWORD": "", "OTHER": "eA=="}}),
            generated: vec![GeneratedKey {
                key: "MYSQL_PASSWORD".into(),
                length: 64,
            }],
        }
    }

    #[test]
    fn components_applied_before_are_those_in_the_inventory() {
        let mut app = secret();
        app.kind = "Deployment".into();
        app.name = "wandb-app".into();
        app.component = "app".into();
        let objects = vec![secret(), app];
        let applied = applied_components(&objects, &["Deployment/wandb-app".into()]);
        assert_eq!(applied, BTreeSet::from(["app".to_string()]));
        assert!(
            applied_components(&objects, &[]).is_empty(),
            "a first install"
        );
    }

    #[test]
    fn only_keys_added_to_an_existing_secret_or_a_deleted_one_are_told() {
        let keys = || vec!["MYSQL_ROOT_PASSWORD".to_string()];
        assert_eq!(
            generated(keys(), false, false),
            Generated::Quietly,
            "first install"
        );
        assert_eq!(generated(vec![], true, true), Generated::Quietly);
        assert_eq!(generated(vec![], false, true), Generated::Quietly);
        assert_eq!(
            generated(keys(), true, false),
            Generated::MissingKeys(keys())
        );
        assert_eq!(
            generated(keys(), true, true),
            Generated::MissingKeys(keys())
        );
        assert_eq!(generated(keys(), false, true), Generated::Deleted(keys()));
    }

    /// A Secret made by hand or by another tool (no labels, no owner) keeps
    /// every value it has; only what it lacks is generated.
    #[test]
    fn a_hand_made_secret_keeps_its_values_and_gains_only_missing_keys() {
        let mut s = secret();
        s.generated.push(GeneratedKey {
            key: "MYSQL_ROOT_PASSWORD".into(),
            length: 64,
        });
        s.generated.push(GeneratedKey {
            key: "EMPTY".into(),
            length: 32,
        });
        let live = json!({
            "metadata": {"name": "wandb-mysql"},
            "data": {"MYSQL_PASSWORD": "b2xk", "EMPTY": "", "MINE": "bWluZQ=="}
        });
        let fresh = fill(&mut s, Some(&live), &mut |n| Ok("y".repeat(n))).unwrap();
        assert_eq!(fresh, ["MYSQL_ROOT_PASSWORD", "EMPTY"]);
        assert_eq!(s.body["data"]["MYSQL_PASSWORD"], "b2xk");
        assert_ne!(s.body["data"]["MYSQL_ROOT_PASSWORD"], "");
        assert_ne!(s.body["data"]["EMPTY"], "");
        assert!(
            s.body["data"].get("MINE").is_none(),
            "keys the render does not name are not applied, so they stay as they are"
        );
    }

    #[test]
    fn random_values_are_long_alphanumerics_and_differ() {
        let a = random_alphanumeric(64).unwrap();
        let b = random_alphanumeric(64).unwrap();
        assert_eq!(a.len(), 64);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }

    #[test]
    fn a_live_value_is_kept_and_a_missing_one_generated() {
        let mut s = secret();
        let live = json!({"data": {"MYSQL_PASSWORD": "b2xk"}});
        let fresh = fill(&mut s, Some(&live), &mut |_| Ok("new".into())).unwrap();
        assert!(fresh.is_empty());
        assert_eq!(s.body["data"]["MYSQL_PASSWORD"], "b2xk");

        let mut s = secret();
        let fresh = fill(&mut s, None, &mut |n| Ok("x".repeat(n))).unwrap();
        assert_eq!(fresh, ["MYSQL_PASSWORD"]);
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(s.body["data"]["MYSQL_PASSWORD"].as_str().unwrap())
            .unwrap();
        assert_eq!(decoded.len(), 64);
        assert_eq!(s.body["data"]["OTHER"], "eA==", "other keys untouched");
    }
}
