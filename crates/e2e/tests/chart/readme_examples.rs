//! 2. The install examples of the upstream README.

use super::*;

struct Example {
    id: &'static str,
    args: &'static [&'static str],
    /// Also show that `helm test` fails before the install is Ready.
    test_before_ready: bool,
}

const EXAMPLES: [Example; 2] = [
    Example {
        id: "poc",
        args: &["--set", HOST, "--set", LICENSE],
        test_before_ready: true,
    },
    Example {
        id: "prod",
        args: &[
            "--set",
            HOST,
            "--set",
            LICENSE,
            "--set",
            "global.mysql.host=mysql.example.com",
            "--set",
            "global.mysql.user=wandb",
            "--set",
            "global.mysql.passwordSecret.name=mysql-secret",
            "--set",
            "redis.install=false",
            "--set",
            "global.redis.host=redis.example.com",
        ],
        test_before_ready: false,
    },
];

#[test]
fn s2_readme_examples_install_as_written_and_become_ready() {
    for example in &EXAMPLES {
        for h in HELMS {
            readme_example(h, example);
        }
    }
}

fn readme_example(h: Helm, example: &Example) {
    let t0 = Instant::now();
    let work = WorkDir::new(&format!("chart-{}-{}", example.id, h.name()));
    // A cluster of its own: the chart's cluster-wide objects (see main.rs).
    let cluster = Cluster::up_with_hook_pods_played_by_the_test(&format!(
        "chart-{}-{}",
        example.id,
        h.name()
    ));
    // The commands have no --namespace: they install into the kubeconfig's
    // namespace, `default`, which enforces PodSecurity `restricted` here.
    let ns = "default";
    cluster.kubectl_ok(
        &[
            "label",
            "namespace",
            ns,
            "--overwrite",
            "pod-security.kubernetes.io/enforce=restricted",
            "pod-security.kubernetes.io/warn=restricted",
        ],
        None,
    );
    if example
        .args
        .contains(&"global.mysql.passwordSecret.name=mysql-secret")
    {
        // The Secret the production example names: the render reads
        // MYSQL_PASSWORD from it (passwordSecret.passwordKey), and the
        // upstream convention also keeps MYSQL_ROOT_PASSWORD there.
        cluster.kubectl_ok(
            &[
                "-n",
                ns,
                "create",
                "secret",
                "generic",
                "mysql-secret",
                "--from-literal=MYSQL_PASSWORD=e2e-mysql-password",
                "--from-literal=MYSQL_ROOT_PASSWORD=e2e-mysql-root-password",
            ],
            None,
        );
    }

    let mut args = vec!["install", RELEASE, "./charts/operator-wandb"];
    args.extend(example.args);
    let (install, install_note) = h.install(&work.0, &cluster.kubeconfig, &args);
    assert!(
        install.stdout.contains("STATUS: deployed"),
        "{}",
        install.stdout
    );
    let warnings: Vec<&str> = install
        .stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert!(
        warnings.is_empty(),
        "helm install warned:\n{}",
        warnings.join("\n")
    );
    // Every object of the release is there.
    let manifest = h
        .ok(
            &work.0,
            Some(&cluster.kubeconfig),
            &["get", "manifest", RELEASE],
        )
        .stdout;
    let release_objects =
        cluster.kubectl_ok(&["get", "-n", ns, "-f", "-", "-o", "name"], Some(&manifest));
    let release_objects: Vec<&str> = release_objects.lines().collect();
    assert!(!is_ready(&cluster, ns), "Ready before the operator ran");

    let mut before = String::new();
    if example.test_before_ready {
        let (helm, pod) = helm_test(h, &cluster, ns, &work.0);
        assert!(
            !helm.success() && pod.exit != 0 && pod.output.contains("timed out"),
            "helm test should fail while the install is not Ready:\n{}\n{}{}",
            pod.output,
            helm.stdout,
            helm.stderr
        );
        before = format!(
            "helm test failed while not Ready (`{}` exit {} after {}), ",
            pod.command.join(" "),
            pod.exit,
            secs(pod.took)
        );
    }

    let mut operator = start_operator(&cluster, ns, &work.0);
    let (generation, took) = wait_ready(&cluster, ns);
    let workloads = settled_workloads(&cluster, ns);
    let refs = assert_references_present(&cluster, ns);

    let (helm, pod) = helm_test(h, &cluster, ns, &work.0);
    assert!(
        helm.success() && pod.exit == 0 && helm.stdout.contains("Phase:          Succeeded"),
        "helm test should pass once the install is Ready:\n{}\n{}{}",
        pod.output,
        helm.stdout,
        helm.stderr
    );
    // One block: only the pod is a test hook (its RBAC is the release's).
    assert_eq!(
        helm.stdout.matches("TEST SUITE:").count(),
        1,
        "helm test should report one test:\n{}",
        helm.stdout
    );
    assert_not_denied(&operator);
    operator.stop(Duration::from_secs(15));
    summary(format!(
        "2 readme-{} {}: installed as written ({} release objects, namespace PodSecurity restricted) in {}; \
         {before}operator as ServiceAccount {} (0 denied) made it Ready (generation {generation}) in {}: \
         {workloads}; {refs} Secret/ConfigMap/claim references of the pods all present; \
         helm test passed (`{}` exit 0 in {}); total {}{}",
        example.id,
        h.name(),
        release_objects.len(),
        secs(install.elapsed),
        service_account(&operator),
        secs(took),
        pod.command.join(" "),
        secs(pod.took),
        secs(t0.elapsed()),
        install_note
            .map(|n| format!("; NOTE: {n}"))
            .unwrap_or_default()
    ));
}
