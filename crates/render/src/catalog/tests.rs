//! The built-in document loads; a broken one is refused with its place.

use serde_json::{Value, json};

use super::*;

#[test]
fn the_builtin_document_loads() {
    let catalog = Catalog::builtin().unwrap_or_else(|e| panic!("{e}"));
    assert!(catalog.services.len() >= 25);
    for (key, service) in &catalog.services {
        let has_pods = !service.containers.is_empty()
            || service.jobs.values().any(|j| !j.containers.is_empty())
            || service.cron_jobs.values().any(|j| !j.containers.is_empty());
        assert!(has_pods, "{key} runs no container");
    }
}

/// The checks the built-in document skips as it loads (see `Checked`).
#[test]
fn the_builtin_document_passes_its_checks() {
    let catalog = Catalog::from_json(BUILTIN_JSON);
    assert!(catalog.is_ok(), "{:?}", catalog.err());
}

/// The two halves every start types are the whole document.
#[test]
fn the_builtin_halves_are_the_whole_document() {
    let whole = Catalog::from_json(BUILTIN_JSON).unwrap_or_else(|e| panic!("{e}"));
    let halves = Catalog::from_halves().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        format!("{:?}", halves.to_parts()),
        format!("{:?}", whole.to_parts())
    );
    assert!(!halves.services.is_empty() && !halves.config_maps.is_empty());
}

#[test]
fn the_printed_document_is_the_builtin_one() {
    let printed = Catalog::from_yaml(BUILTIN_YAML).unwrap_or_else(|e| panic!("{e}"));
    let builtin = Catalog::builtin().unwrap();
    let keys = |c: &Catalog| -> Vec<String> { c.services.iter().map(|(k, _)| k.clone()).collect() };
    assert_eq!(
        keys(&printed),
        keys(builtin),
        "the same services, in the same order"
    );
    assert_eq!(printed.values, builtin.values);
    let names = |c: &Catalog| -> Vec<String> {
        c.secrets
            .iter()
            .flat_map(|(_, o)| o.data.0.iter().map(|(k, _)| k.clone()))
            .collect()
    };
    assert_eq!(names(&printed), names(builtin), "a Secret's keys in order");
}

/// The built-in document as a tree, to break.
fn tree() -> Value {
    wandb_values::load::parse_yaml("(document)", BUILTIN_YAML).unwrap()
}

/// The error of the built-in document with `edit` made to it.
fn refused(edit: impl FnOnce(&mut Value)) -> CatalogError {
    let mut t = tree();
    edit(&mut t);
    match Catalog::from_tree(t) {
        Ok(_) => panic!("a broken document loaded"),
        Err(e) => e,
    }
}

fn first_env<'t>(t: &'t mut Value, group: &str) -> &'t mut Value {
    &mut t["envGroups"][group]["env"][0]
}

/// Each kind of broken document is refused, the error naming its place.
#[test]
fn a_broken_document_is_refused_naming_its_place() {
    let cases: Vec<(&str, CatalogError, &str, &str)> = vec![
        (
            "an unknown section",
            refused(|t| t["servics"] = json!({})),
            "servics",
            "unknown field `servics`",
        ),
        (
            "an unknown field of a service",
            refused(|t| t["services"]["app"]["replicas"] = json!(2)),
            "services.app.replicas",
            "unknown field `replicas`",
        ),
        (
            "a field of the wrong type",
            refused(|t| t["services"]["app"]["kind"] = json!("Daemon")),
            "services.app.kind",
            "unknown variant `Daemon`",
        ),
        (
            "an unknown source kind",
            refused(|t| {
                *first_env(t, "downward") = json!({"name": "G_HOST_IP", "feild": "status.hostIP"})
            }),
            "envGroups.downward.env[0]",
            "unknown source kind \"feild\"",
        ),
        (
            "an unknown fact",
            refused(|t| *first_env(t, "bucket") = json!({"name": "X", "fact": "bucketUrI"})),
            "envGroups.bucket.env[0]",
            "\"bucketUrI\" is not a fact",
        ),
        (
            "an unknown values path",
            refused(|t| {
                t["configMaps"]["{release}-api-configmap"]["data"]["GORILLA_FILE_HOST"] =
                    json!({"value": "global.hots"})
            }),
            "configMaps.{release}-api-configmap.data.GORILLA_FILE_HOST",
            "values path global.hots is not a key of the values",
        ),
        (
            "an unknown env group",
            refused(|t| t["services"]["app"]["envGroups"][1] = json!("buckets")),
            "services.app.envGroups[1]",
            "\"buckets\" is not an env group",
        ),
        (
            "a source that does not fit its place",
            refused(|t| {
                t["configMaps"]["{release}-api-configmap"]["data"]["GORILLA_PORT"] =
                    json!({"generated": 32})
            }),
            "configMaps.{release}-api-configmap.data.GORILLA_PORT",
            "does not fit here: a ConfigMap holds text",
        ),
        (
            "a broken condition",
            refused(|t| t["services"]["api"]["enabled"] = json!({"paht": "global.api.enabled"})),
            "services.api.enabled",
            "{paht} is not a condition",
        ),
        (
            "a route in no order",
            refused(|t| t["routes"]["list"][0]["group"] = json!("roots")),
            "routes.list[0](/).group",
            "group \"roots\" is not in routes.ingressOrder",
        ),
        (
            "sizing for no service",
            refused(|t| t["sizing"]["ap"] = json!({})),
            "sizing.ap",
            "\"ap\" is not a service",
        ),
        (
            "a service's own key where no service reads it",
            refused(|t| {
                t["configMaps"]["{release}-api-configmap"]["data"]["GORILLA_PORT"] =
                    json!({"value": ".port"})
            }),
            "configMaps.{release}-api-configmap.data.GORILLA_PORT",
            "a service's own key (.key) is read only by a service's env",
        ),
        (
            "groups that include each other",
            refused(|t| t["envGroups"]["mysqlConfig"]["include"] = json!(["mysql"])),
            "envGroups.mysql.include",
            "the groups include each other: mysql -> mysqlConfig -> mysql",
        ),
        (
            "an upstream helper that does not exist",
            refused(|t| t["envGroups"]["bucket"]["helpers"] = json!(["wandb.bucketEnv"])),
            "envGroups.bucket.helpers[0]",
            "\"wandb.bucketEnv\" is not an env helper",
        ),
        (
            "a missing field",
            refused(|t| {
                t["services"]["app"].as_object_mut().unwrap().remove("kind");
            }),
            "services.app",
            "missing field `kind`",
        ),
    ];
    assert!(cases.len() >= 10);
    for (what, error, place, message) in cases {
        assert_eq!(error.place, place, "{what}: {error}");
        assert!(error.message.contains(message), "{what}: {error}");
    }
}

#[test]
fn a_document_that_is_no_yaml_map_is_refused() {
    let e = Catalog::from_yaml("services: [\n").unwrap_err();
    assert_eq!(e.place, "(document)");
    assert!(e.message.contains("invalid YAML"), "{e}");
    let e = Catalog::from_yaml("- a\n").unwrap_err();
    assert!(e.message.contains("expected a map"), "{e}");
}
