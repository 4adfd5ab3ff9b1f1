//! 4. The values schema refuses a bad value.

use super::*;

#[test]
fn s4_schema_refuses_a_string_replica_count_and_nothing_is_created() {
    for h in HELMS {
        let t0 = Instant::now();
        let work = WorkDir::new(&format!("chart-schema-{}", h.name()));
        // A cluster of its own: the chart's cluster-wide objects (see main.rs).
        let cluster =
            Cluster::up_with_hook_pods_played_by_the_test(&format!("chart-schema-{}", h.name()));
        let ns = "wandb";
        cluster.restricted_namespace(ns);
        let names = |args: &[&str]| -> BTreeSet<String> {
            cluster
                .kubectl_ok(args, None)
                .lines()
                .map(str::to_string)
                .collect()
        };
        let namespaced = [
            "-n",
            ns,
            "get",
            "all,configmaps,secrets,serviceaccounts,roles,rolebindings,persistentvolumeclaims",
            "-o",
            "name",
        ];
        let cluster_wide = [
            "get",
            "customresourcedefinitions,clusterroles,clusterrolebindings",
            "-o",
            "name",
        ];
        let (ns_before, cluster_before) = (names(&namespaced), names(&cluster_wide));

        let out = h.run(
            &work.0,
            Some(&cluster.kubeconfig),
            &[
                "install",
                RELEASE,
                "./charts/operator-wandb",
                "-n",
                ns,
                "--set",
                HOST,
                "--set",
                LICENSE,
                "--set",
                "app.replicaCount=two",
            ],
        );
        let error = out.stderr.trim().to_string();
        assert!(
            !out.success(),
            "{} install accepted app.replicaCount=two",
            h.name()
        );
        assert!(
            error.contains("values don't meet the specifications of the schema")
                && (error.contains("app.replicaCount") || error.contains("/app/replicaCount")),
            "{}: the error should be the schema's and name app.replicaCount:\n{error}",
            h.name()
        );
        let line = error
            .lines()
            .find(|l| l.contains("replicaCount"))
            .unwrap()
            .trim()
            .to_string();

        let ns_after = names(&namespaced);
        assert_eq!(ns_before, ns_after, "objects appeared in namespace {ns}");
        let list = h
            .ok(
                &work.0,
                Some(&cluster.kubeconfig),
                &[
                    "list",
                    "-n",
                    ns,
                    "-q",
                    "--deployed",
                    "--failed",
                    "--pending",
                    "--superseded",
                    "--uninstalling",
                ],
            )
            .stdout;
        assert!(list.trim().is_empty(), "a release was recorded: {list}");
        let new: Vec<String> = names(&cluster_wide)
            .difference(&cluster_before)
            .cloned()
            .collect();
        // Helm installs a chart's crds/ before it validates the values
        // (both versions): the CRD may appear, nothing else may.
        let crd = "customresourcedefinition.apiextensions.k8s.io/weightsandbiases.apps.wandb.com";
        assert!(
            new.iter().all(|n| n == crd),
            "cluster-wide objects appeared: {new:?}"
        );
        summary(format!(
            "4 schema {}: install refused in {}: \"{line}\"; namespace unchanged ({} objects), no release recorded, \
             no cluster-wide object {}; total {}",
            h.name(),
            secs(out.elapsed),
            ns_after.len(),
            if new.is_empty() {
                "at all".to_string()
            } else {
                "but the chart's CRD, which Helm installs from crds/ before it validates values"
                    .to_string()
            },
            secs(t0.elapsed())
        ));
    }
}

/// Issue 30: what the operator would refuse (its last valid spec running
/// on, maybe Ready) Helm refuses first, naming the key, in both versions:
/// a host without a scheme (the values schema) and a size that nothing
/// defines (the chart's template: a size a service's `sizing` defines is
/// valid, which a schema cannot say).
#[test]
fn s4_chart_refuses_what_the_operator_would_refuse_naming_the_key() {
    let template = |h: Helm, work: &Path, sets: &[&str]| -> Output {
        let mut args = vec!["template", RELEASE, "./charts/operator-wandb"];
        for set in sets {
            args.extend(["--set", set]);
        }
        h.run(work, None, &args)
    };
    for h in HELMS {
        let work = WorkDir::new(&format!("chart-refusals-{}", h.name()));
        let refused = [
            (
                vec!["global.host=wandb.example.com", LICENSE],
                "global.host",
            ),
            (vec![HOST, LICENSE, "global.size=huge"], "global.size"),
        ];
        for (sets, key) in &refused {
            let out = template(h, &work.0, sets);
            let error = out.stderr.trim();
            assert!(!out.success(), "{}: accepted {sets:?}", h.name());
            // Helm 3 names a key `global.host`, Helm 4 `/global/host`.
            let slashed = format!("/{}", key.replace('.', "/"));
            let line = error
                .lines()
                .find(|l| l.contains(key) || l.contains(&slashed))
                .unwrap_or_else(|| {
                    panic!(
                        "{}: the error of {sets:?} does not name {key}:\n{error}",
                        h.name()
                    )
                });
            summary(format!(
                "4 chart refusals {}: {sets:?} -> {}",
                h.name(),
                line.trim()
            ));
        }
        for sets in [
            vec![HOST, LICENSE, "global.size=medium"],
            vec![
                HOST,
                LICENSE,
                "global.size=huge",
                "app.sizing.huge.replicaCount=3",
            ],
            vec!["operator.createResource=false"],
        ] {
            let out = template(h, &work.0, &sets);
            assert!(
                out.success(),
                "{}: refused {sets:?}:\n{}",
                h.name(),
                out.stderr
            );
        }
    }
}
