//! Roles and ClusterRoles: their rules.

use super::*;

impl Checks {
    pub(super) fn rbac(&mut self, id: &str, up: &Value, mine: &Value) {
        let (u, m) = (rules(up), rules(mine));
        let found = format!("{m:?}");
        self.push(Category::Rbac, format!("{id} rules"), u == m, Some(found));
    }
}

/// RBAC rules as sorted, comparable text.
pub(super) fn rules(o: &Value) -> Vec<String> {
    let sorted = |v: &Value| -> Vec<String> {
        let mut items: Vec<String> = v.as_array().into_iter().flatten().map(text).collect();
        items.sort();
        items
    };
    let mut out: Vec<String> = o["rules"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            format!(
                "groups {:?} resources {:?} verbs {:?} names {:?}",
                sorted(&r["apiGroups"]),
                sorted(&r["resources"]),
                sorted(&r["verbs"]),
                sorted(&r["resourceNames"])
            )
        })
        .collect();
    out.sort();
    out
}
