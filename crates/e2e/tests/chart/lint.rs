//! 1. `helm lint` and `helm template`; the RBAC.

use super::*;

#[test]
fn s1_lint_is_clean_and_every_reference_case_templates() {
    let work = WorkDir::new("chart-lint");
    let bin = wandb_e2e::operator_binary_quiet();
    let cases = reference_cases();
    // Helm's warnings about our chart are compared with upstream's when its
    // chart is beside the repository; without it, there must be none.
    let upstream =
        wandb_contract::peer::chart_or_skip("Helm's warnings not compared with upstream's");
    for h in HELMS {
        let t0 = Instant::now();
        let lint = h.ok(
            &work.0,
            None,
            &["lint", "--strict", "charts/operator-wandb"],
        );
        let all = format!("{}{}", lint.stdout, lint.stderr);
        assert!(
            all.contains("1 chart(s) linted, 0 chart(s) failed")
                && !all.contains("[WARNING]")
                && !all.contains("[ERROR]")
                && !all.contains("[INFO]"),
            "{} lint --strict is not clean:\n{all}",
            h.name()
        );
        let mut objects = 0;
        let mut helm_warnings = 0;
        for case in &cases {
            let values = case.values.to_string_lossy();
            let out = h.ok(
                &work.0,
                None,
                &["template", RELEASE, "charts/operator-wandb", "-f", &values],
            );
            let docs = wandb_e2e::split_documents(&out.stdout);
            objects += docs.len();
            let cr: Vec<_> = docs
                .iter()
                .filter(|d| d.kind == "WeightsAndBiases")
                .collect();
            assert_eq!(
                cr.len(),
                1,
                "{}: {}: one WeightsAndBiases expected",
                h.name(),
                case.name
            );
            // Helm's own warnings (type clashes while merging values) must be
            // ones it prints for the upstream chart too.
            let warnings: BTreeSet<String> = out
                .stderr
                .lines()
                .map(str::to_string)
                .filter(|l| !l.trim().is_empty())
                .collect();
            if !warnings.is_empty() {
                let up: BTreeSet<String> = match &upstream {
                    Some(chart) => h
                        .ok(
                            &work.0,
                            None,
                            &["template", RELEASE, &chart.to_string_lossy(), "-f", &values],
                        )
                        .stderr
                        .lines()
                        .map(str::to_string)
                        .collect(),
                    None => BTreeSet::new(),
                };
                let ours_only: Vec<&String> = warnings.difference(&up).collect();
                assert!(
                    ours_only.is_empty(),
                    "{}: {}: Helm warns about our chart but not about upstream's:\n{}",
                    h.name(),
                    case.name,
                    ours_only
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join("\n")
                );
                helm_warnings += warnings.len();
            }
            // spec.values of the resource (the template indents it by 4)
            // gives the operator what the values file gives it.
            let values_yaml: String = cr[0]
                .yaml
                .split_once("\n  values:\n")
                .expect("spec.values")
                .1
                .lines()
                .map(|l| l.strip_prefix("    ").unwrap_or(l))
                .map(|l| format!("{l}\n"))
                .collect();
            let file = work.0.join(format!("{}-{}.yaml", h.name(), case.name));
            std::fs::write(&file, values_yaml).unwrap();
            let direct = wandb_e2e::render(&bin, &["-f", &values]);
            let via_chart = wandb_e2e::render(&bin, &["-f", &file.to_string_lossy()]);
            assert!(
                direct.yaml == via_chart.yaml && direct.stderr == via_chart.stderr,
                "{}: {}: the chart's WeightsAndBiases does not carry the values through: \
                 the operator renders something else from its spec.values ({}) than from the file",
                h.name(),
                case.name,
                file.display()
            );
        }
        summary(format!(
            "1 lint+template {}: lint --strict clean; {} reference cases templated ({objects} objects), \
             each WeightsAndBiases' spec.values renders byte-identical to its values file; \
             {helm_warnings} Helm merge warnings, all also printed for the upstream chart; {}",
            h.name(),
            cases.len(),
            secs(t0.elapsed())
        ));
    }
}

/// The operator's RBAC as the chart renders it: no wildcard anywhere, and
/// Secrets only in a Role of the release namespace unless the operator
/// watches every namespace.
#[test]
fn s1_rbac_has_no_wildcard_and_keeps_secrets_namespaced() {
    let work = WorkDir::new("chart-rbac");
    let h = Helm::V3;
    for watch_all in [false, true] {
        let flag = format!("operator.watchAllNamespaces={watch_all}");
        let out = h.ok(
            &work.0,
            None,
            &["template", RELEASE, "charts/operator-wandb", "--set", &flag],
        );
        let docs = wandb_e2e::split_documents(&out.stdout);
        let rules = |kind: &str| -> Vec<&wandb_e2e::Document> {
            docs.iter().filter(|d| d.kind == kind).collect()
        };
        for d in rules("Role").into_iter().chain(rules("ClusterRole")) {
            for line in d.yaml.lines() {
                let item = line.trim().trim_start_matches('-').trim();
                assert!(
                    !matches!(item, "'*'" | "\"*\"" | "*") && !item.contains("[\"*\"]"),
                    "{flag}: {} {} has a wildcard: {line}",
                    d.kind,
                    d.name
                );
            }
        }
        let grants_secrets =
            |d: &&wandb_e2e::Document| d.yaml.lines().any(|l| l.trim() == "- secrets");
        let cluster_secrets = rules("ClusterRole").iter().any(grants_secrets);
        let role_secrets = rules("Role").iter().any(grants_secrets);
        assert_eq!(
            (cluster_secrets, role_secrets),
            (watch_all, !watch_all),
            "{flag}: Secrets cluster-wide {cluster_secrets}, in a Role {role_secrets}"
        );
    }
    summary(
        "1 rbac helm3: no wildcard; Secrets in a Role by default, cluster-wide only with \
             operator.watchAllNamespaces=true"
            .into(),
    );
}
