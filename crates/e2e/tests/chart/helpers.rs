//! The helpers' own tests.

use super::*;

#[test]
fn helpers_work() {
    // The data record's hash (Held::sha): sha256 of `key=value` lines.
    assert_eq!(
        sha256_of_data(&BTreeMap::from([("a".to_string(), "b".to_string())])),
        "77e7ce77c707a8147bb65a710ac1af3fca02c8dd2be36762ec9611d90fb5c041"
    );
    assert_eq!(
        plain("\u{1b}[2m2026\u{1b}[0m \u{1b}[32m INFO\u{1b}[0m x"),
        "2026  INFO x"
    );
    let ts = now_rfc3339();
    assert_eq!(ts.len(), 20, "{ts}");
    let h = |data: &[(&str, &str)], uid: &str| Held {
        kind: "Secret".into(),
        name: "s".into(),
        uid: uid.into(),
        data: data
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        owners: 0,
    };
    let before = BTreeMap::from([("Secret/s".to_string(), h(&[("A", "eA=="), ("B", "")], "1"))]);
    let filled = BTreeMap::from([(
        "Secret/s".to_string(),
        h(&[("A", "eA=="), ("B", "eQ=="), ("C", "eg==")], "1"),
    )]);
    assert_eq!(compare_held(&before, &before, false), (vec![], vec![]));
    let (p, f) = compare_held(&before, &filled, true);
    assert!(p.is_empty());
    assert_eq!(f, ["Secret/s: B", "Secret/s: C (new)"]);
    let (p, _) = compare_held(&before, &filled, false);
    assert_eq!(p.len(), 2);
    let changed = BTreeMap::from([("Secret/s".to_string(), h(&[("A", "eQ=="), ("B", "")], "2"))]);
    let (p, _) = compare_held(&before, &changed, true);
    assert_eq!(
        p,
        ["Secret/s was recreated (uid 1 -> 2)", "Secret/s: A changed"]
    );
    assert!(compare_held(&before, &BTreeMap::new(), true).0[0].contains("deleted"));
}
