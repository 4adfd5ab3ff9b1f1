//! ConfigMaps (values and files) and Secrets (keys).

use super::*;

impl Checks {
    pub(super) fn config_map(&mut self, id: &str, up: &Value, mine: &Value) {
        let empty = Map::new();
        let data = up["data"].as_object().unwrap_or(&empty);
        for (key, value) in data {
            let value = text(value);
            let have = mine["data"].get(key).map(text);
            if value.trim().contains('\n') {
                if is_script(key, &value) {
                    continue; // ours are our own, tested by running them
                }
                let same = have.as_deref().is_some_and(|h| same_file(key, h, &value));
                self.push(
                    Category::ConfigMapFiles,
                    format!("{id} file {key}"),
                    same,
                    Some(have.map(|h| short_text(&h)).unwrap_or("nothing".into())),
                );
            } else {
                let same = have.as_deref().map(str::trim) == Some(value.trim());
                self.push(
                    Category::ConfigMapValues,
                    format!("{id} {key} = {}", short_text(&value)),
                    same,
                    Some(have.map(|h| short_text(&h)).unwrap_or("nothing".into())),
                );
            }
        }
    }

    pub(super) fn secret(&mut self, id: &str, up: &Value, mine: &Value) {
        let keys = |o: &Value| -> BTreeSet<String> {
            ["data", "stringData"]
                .iter()
                .filter_map(|f| o[*f].as_object())
                .flat_map(|m| m.keys().cloned())
                .collect()
        };
        let have = keys(mine);
        for key in keys(up) {
            self.push(
                Category::Secrets,
                format!("{id} key {key}"),
                have.contains(&key),
                None,
            );
        }
    }
}

pub(super) fn is_script(key: &str, value: &str) -> bool {
    key.ends_with(".sh") || key.ends_with(".py") || value.trim_start().starts_with("#!")
}

/// Files compared as data when they are YAML or JSON, else as their
/// non-blank lines without trailing space.
pub(super) fn same_file(key: &str, ours: &str, theirs: &str) -> bool {
    let data = [".yaml", ".yml", ".json"].iter().any(|e| key.ends_with(e));
    if data && let (Some(a), Some(b)) = (parse_data(ours), parse_data(theirs)) {
        return canon(&a) == canon(&b);
    }
    lines(ours) == lines(theirs)
}

pub(super) fn parse_data(text: &str) -> Option<Value> {
    serde_saphyr::from_str::<Value>(text).ok()
}

pub(super) fn lines(text: &str) -> Vec<&str> {
    text.lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .collect()
}
