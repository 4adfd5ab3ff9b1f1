//! Peer tier: the v2 oracle on W&B's three server manifests
//! (`../shared/reference/server-manifests/`), with host, license and OIDC
//! set and everything else as v2 defaults it. Prints a table per manifest
//! (workload, env var count, names) and holds the counts checked by hand
//! against v2's code (wandb/operator 7b063065d547).

use std::collections::BTreeMap;
use std::path::PathBuf;

use wandb_contract::manifest_oracle::{
    AppEnv, Form, Kind, ServerManifest, Settings, SourceType, declared_env, expected_env,
};
use wandb_contract::peer::{say, shared_dir, skip};

const V083_1: &str = "0.83.0-clickhouse-keeper.1";
const V083_2: &str = "0.83.0-clickhouse-keeper.2";
const V084: &str = "0.84.0-notifications-security-flags.0";

fn manifests_or_skip() -> Option<PathBuf> {
    let dir = shared_dir().join("reference/server-manifests");
    if dir.is_dir() {
        return Some(dir);
    }
    skip(
        "W&B server manifests",
        &dir,
        "the v2 oracle not run on them",
    );
    None
}

fn read(dir: &std::path::Path, version: &str) -> ServerManifest {
    ServerManifest::read_dir(&dir.join(version)).unwrap_or_else(|e| panic!("{e}"))
}

/// One line per workload: name, count of vars (parts aside), the names.
fn table(version: &str, env: &BTreeMap<String, AppEnv>) -> String {
    let mut text = format!("{version}\n");
    for (name, app) in env {
        let names: Vec<&str> = app.names().into_iter().collect();
        let parts: Vec<&str> = app.parts().into_iter().collect();
        let parts = match parts.as_slice() {
            [] => String::new(),
            list => format!(" (+ parts {})", list.join(" ")),
        };
        let count = names.len();
        let names = names.join(" ");
        text += &format!("  {name:<36} {count:>3}  {names}{parts}\n");
    }
    text
}

/// Per workload, how many vars v2 gives (the `<NAME>_<i>` parts aside),
/// counted by hand from the manifests and v2's rules: 0.83.0 has no
/// runtime path groups, no security, Slack or attribution vars, no
/// replicated ClickHouse env, and `anaconda2` and `weave` with no groups.
const COUNTS_083: &[(&str, usize)] = &[
    ("anaconda2", 0),
    ("api", 63),
    ("executor", 45),
    ("filemeta", 41),
    ("flat-run-fields-updater", 46),
    ("frontend", 11),
    ("glue", 48),
    ("metric-observer", 46),
    ("migration/gorilla", 26),
    ("migration/internal-signer", 2),
    ("migration/weave-trace", 5),
    ("parquet", 45),
    ("weave", 1),
    ("weave-trace", 18),
    ("weave-trace-evaluate-model-worker", 19),
    ("weave-trace-worker", 19),
];

/// The same for 0.84.0; `filestream` is behind `filestreamQueue`, off.
const COUNTS_084: &[(&str, usize)] = &[
    ("anaconda2", 7),
    ("api", 66),
    ("executor", 48),
    ("filemeta", 44),
    ("flat-run-fields-updater", 49),
    ("frontend", 11),
    ("glue", 51),
    ("metric-observer", 49),
    ("migration/gorilla", 29),
    ("migration/internal-signer", 5),
    ("migration/weave-trace", 10),
    ("parquet", 48),
    ("weave", 6),
    ("weave-trace", 23),
    ("weave-trace-evaluate-model-worker", 24),
    ("weave-trace-worker", 24),
];

fn counts(env: &BTreeMap<String, AppEnv>) -> Vec<(&str, usize)> {
    env.iter()
        .map(|(name, app)| (name.as_str(), app.names().len()))
        .collect()
}

fn kind<'a>(app: &'a AppEnv, name: &str) -> Option<&'a Kind> {
    app.env.iter().find(|e| e.name == name).map(|e| &e.kind)
}

#[test]
fn v2_gives_each_application_of_the_three_manifests_its_env() {
    let Some(dir) = manifests_or_skip() else {
        return;
    };
    for (version, expected) in [
        (V083_1, COUNTS_083),
        (V083_2, COUNTS_083),
        (V084, COUNTS_084),
    ] {
        let env = expected_env(&read(&dir, version), &Settings::example());
        say(&table(version, &env));
        assert_eq!(counts(&env), expected, "{version}");
    }
}

/// api: gorillaMysql 6, gorillaBucket 5, gorillaRedis 9, gorillaHistoryStore
/// 2, gorillaTaskQueueProducer 2, gorillaService 1, gorillaOnprem 20 of 29
/// (Slack 2, security 6 and bucket attribution 1 resolve to nothing and have
/// no default), gorillaCustomerSecrets 3, kafka 3, flatRunsV2Producer 7,
/// runtimePaths 3, its own 5: 66, and the part GORILLA_HISTORY_STORE_1 for
/// the MySQL half of the history store (the other half is the parquet
/// service). weave-trace: clickhouse 6 of 7 (the cluster name's path is not
/// in v2's status), kafka 3, weaveTrace 10, runtimePaths 3,
/// pythonRuntimePaths 1: 23.
#[test]
fn api_and_weave_trace_of_0_84_0_as_counted_by_hand() {
    let Some(dir) = manifests_or_skip() else {
        return;
    };
    let env = expected_env(&read(&dir, V084), &Settings::example());
    let api = &env["api"];
    assert_eq!(api.names().len(), 66);
    assert_eq!(
        api.parts().into_iter().collect::<Vec<_>>(),
        vec!["GORILLA_HISTORY_STORE_1"]
    );
    assert_eq!(api.containers, vec!["api"]);
    let cr = |form| Kind::Resolved {
        sources: vec![SourceType::CustomResource],
        form,
    };
    assert_eq!(kind(api, "LICENSE"), Some(&cr(Form::Literal)));
    assert_eq!(kind(api, "BUCKET_PROXY"), Some(&cr(Form::Literal)));
    assert_eq!(kind(api, "GORILLA_OIDC_SECRET"), Some(&cr(Form::SecretRef)));
    assert_eq!(
        kind(api, "GORILLA_SESSION_LENGTH"),
        Some(&Kind::Default("720h".into()))
    );
    assert_eq!(kind(api, "GORILLA_SLACK_CLIENT_ID"), None);
    assert_eq!(
        kind(api, "GORILLA_CUSTOMER_SECRET_STORE_K8S_CONFIG_NAMESPACE"),
        Some(&Kind::ValueFrom)
    );
    let history = Kind::Resolved {
        sources: vec![SourceType::Service, SourceType::Mysql],
        form: Form::Literal,
    };
    assert_eq!(kind(api, "GORILLA_HISTORY_STORE"), Some(&history));

    let weave_trace = &env["weave-trace"];
    assert_eq!(weave_trace.names().len(), 23);
    assert!(weave_trace.parts().is_empty());
    let replicated = kind(weave_trace, "WF_CLICKHOUSE_REPLICATED");
    assert_eq!(replicated, Some(&Kind::Default("false".into())));
    assert_eq!(kind(weave_trace, "WF_CLICKHOUSE_REPLICATED_CLUSTER"), None);
    let token = Kind::Resolved {
        sources: vec![SourceType::GeneratedSecret],
        form: Form::SecretRef,
    };
    assert_eq!(
        kind(weave_trace, "WANDB_INTERNAL_SERVICE_TOKEN"),
        Some(&token)
    );
}

/// The issue's figure: 0.84.0's manifest declares 570 env var names for its
/// 14 applications. v2 gives 450 of them: `filestream` (53) does not run,
/// and 67 resolve to nothing without a default.
#[test]
fn the_issues_570_names_reconcile_with_what_v2_gives() {
    let Some(dir) = manifests_or_skip() else {
        return;
    };
    let manifest = read(&dir, V084);
    let declared = declared_env(&manifest);
    let total = |f: &dyn Fn(&Vec<String>) -> usize| declared.values().map(f).sum::<usize>();
    assert_eq!((declared.len(), total(&|names| names.len())), (14, 570));

    let given = expected_env(&manifest, &Settings::example());
    let mut left_out: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut given_total = 0;
    for (app, names) in &declared {
        let Some(env) = given.get(app) else {
            assert_eq!((app.as_str(), names.len()), ("filestream", 53));
            continue;
        };
        given_total += env.names().len();
        for name in names.iter().filter(|n| !env.names().contains(n.as_str())) {
            left_out.entry(name).or_default().push(app);
        }
    }
    let mut text = String::from("0.84.0: declared, left out by v2\n");
    for (name, apps) in &left_out {
        text += &format!("  {name:<44} {}\n", apps.join(" "));
    }
    say(&text);
    let left_total: usize = left_out.values().map(Vec::len).sum();
    assert_eq!((given_total, left_total), (450, 67));
    let gorilla_only = [
        "GORILLA_ALLOW_ANONYMOUS_PUBLIC_PROJECTS",
        "GORILLA_ALLOW_USER_TEAM_CREATION",
        "GORILLA_BUCKET_ATTRIBUTION_DISABLED",
        "GORILLA_DISABLE_CODE_SAVING",
        "GORILLA_DISABLE_SSO_PROVISIONING",
        "GORILLA_INSECURE_ALLOW_API_KEY_ADMIN_ACCESS",
        "GORILLA_ONPREM_HIDE_UPGRADE_BANNER",
        "GORILLA_SLACK_CLIENT_ID",
        "GORILLA_SLACK_SECRET",
    ];
    let mut expected: Vec<&str> = gorilla_only.to_vec();
    expected.extend(["REACT_APP_HOST", "WF_CLICKHOUSE_REPLICATED_CLUSTER"]);
    expected.sort();
    assert_eq!(left_out.keys().copied().collect::<Vec<_>>(), expected);
}
