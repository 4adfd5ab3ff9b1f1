//! The generated Secrets of the install.

use super::*;

/// A generated Secret: its uid, owners and data (base64 as stored).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GeneratedSecret {
    pub uid: String,
    pub owners: Vec<String>,
    pub keys: Vec<String>,
    pub data: BTreeMap<String, String>,
}

pub fn generated_secrets(cluster: &Tenant) -> BTreeMap<String, GeneratedSecret> {
    let list = cluster.get_json(&["-n", cluster.ns(), "secrets"]);
    let mut out = BTreeMap::new();
    for s in list["items"].as_array().into_iter().flatten() {
        let Some(keys) = s
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(GENERATED_KEYS))
            .and_then(Value::as_str)
        else {
            continue;
        };
        let data = secret_data(s);
        let owners = s
            .pointer("/metadata/ownerReferences")
            .and_then(Value::as_array)
            .map(|os| os.iter().map(|o| text(o, "/uid").to_string()).collect())
            .unwrap_or_default();
        out.insert(
            text(s, "/metadata/name").to_string(),
            GeneratedSecret {
                uid: text(s, "/metadata/uid").into(),
                owners,
                keys: keys.split(',').map(|k| k.trim().to_string()).collect(),
                data,
            },
        );
    }
    out
}

pub fn hashes(secrets: &BTreeMap<String, GeneratedSecret>) -> String {
    secrets
        .iter()
        .map(|(n, s)| format!("{n} sha256:{}", &sha256_of_data(&s.data)[..16]))
        .collect::<Vec<_>>()
        .join(", ")
}
