//! The install-wide keys upstream gives its own charts (MySQL, the otel
//! collector, the exporters) as well as the W&B services, the license
//! Secret, and the optional workloads: the otel Deployment and the cloud
//! metrics exporters.

use k8s_openapi::api::core::v1::{Container, PodSpec, Secret};
use wandb_render::builtin::load;
use wandb_render::builtin::render;
use wandb_render::{Manifest, Object, Release};
use wandb_values::{Loaded, NoFiles, Source};

fn loaded(yaml: &str) -> Loaded {
    let source = Source::Inline {
        name: "test.yaml".into(),
        yaml: yaml.into(),
    };
    load(&[source], &mut NoFiles).unwrap_or_else(|e| panic!("{e:?}"))
}

fn render_yaml(yaml: &str) -> Vec<Manifest> {
    render(&loaded(yaml).values, &Release::new("wandb", "default"))
}

fn find<'a>(ms: &'a [Manifest], kind: &str, name: &str) -> Option<&'a Object> {
    ms.iter()
        .map(|m| &m.object)
        .find(|o| o.kind() == kind && o.name() == name)
}

fn pod<'a>(ms: &'a [Manifest], kind: &str, name: &str) -> &'a PodSpec {
    let spec = match find(ms, kind, name) {
        Some(Object::Deployment(d)) => d.spec.as_ref().and_then(|s| s.template.spec.as_ref()),
        Some(Object::DaemonSet(d)) => d.spec.as_ref().and_then(|s| s.template.spec.as_ref()),
        Some(Object::StatefulSet(s)) => s.spec.as_ref().and_then(|s| s.template.spec.as_ref()),
        _ => None,
    };
    spec.unwrap_or_else(|| panic!("no {kind}/{name} with a pod"))
}

fn first<'a>(ms: &'a [Manifest], kind: &str, name: &str) -> &'a Container {
    &pod(ms, kind, name).containers[0]
}

fn env_names(c: &Container) -> Vec<&str> {
    c.env.iter().flatten().map(|e| e.name.as_str()).collect()
}

const FROM: &str = "global:\n  extraEnv:\n    EXTRA: x\n  extraEnvFrom:\n    FROM_SECRET:\n      secretKeyRef: {name: s, key: k}\n";

#[test]
fn global_extra_env_reaches_upstreams_own_charts_too() {
    let ms = render_yaml(FROM);
    for (kind, name) in [
        ("DaemonSet", "wandb-otel-daemonset"),
        ("StatefulSet", "wandb-mysql"),
        ("Deployment", "wandb-prometheus-mysql-exporter"),
        ("Deployment", "wandb-prometheus-redis-exporter"),
    ] {
        let env = env_names(first(&ms, kind, name));
        assert!(env.contains(&"EXTRA"), "{kind}/{name}: {env:?}");
        assert!(env.contains(&"FROM_SECRET"), "{kind}/{name}: {env:?}");
    }
    // The W&B services take `global.extraEnv`, not `global.extraEnvFrom`.
    let app = first(&ms, "Deployment", "wandb-app-bc");
    assert!(env_names(app).contains(&"EXTRA"));
    assert!(!env_names(app).contains(&"FROM_SECRET"));
    // The collector's own GOMEMLIMIT wins over a global one.
    let ms = render_yaml("global:\n  extraEnv:\n    GOMEMLIMIT: 1G\n");
    let otel = first(&ms, "DaemonSet", "wandb-otel-daemonset");
    let limit = otel.env.iter().flatten().find(|e| e.name == "GOMEMLIMIT");
    assert_eq!(limit.and_then(|e| e.value.as_deref()), Some("1600MiB"));
}

#[test]
fn the_repository_prefix_reaches_mysql_and_the_collector() {
    let ms = render_yaml("global:\n  repositoryPrefix: mirror.example.com/w\n");
    for (kind, name) in [
        ("DaemonSet", "wandb-otel-daemonset"),
        ("StatefulSet", "wandb-mysql"),
        ("Deployment", "wandb-app-bc"),
    ] {
        let image = first(&ms, kind, name).image.clone().unwrap_or_default();
        assert!(
            image.starts_with("mirror.example.com/w/"),
            "{kind}/{name}: {image}"
        );
    }
}

#[test]
fn a_license_secret_wins_over_an_inline_license() {
    let both = "global:\n  license: inline\n  licenseSecret:\n    name: mine\n    key: lic\n";
    let l = loaded(both);
    let warned: Vec<String> = l.warnings.iter().map(ToString::to_string).collect();
    assert!(
        warned
            .iter()
            .any(|w| w.starts_with("global.license: is ignored")),
        "{warned:?}"
    );
    let ms = render(&l.values, &Release::new("wandb", "default"));
    assert!(find(&ms, "Secret", "wandb-license").is_none());
    let app = first(&ms, "Deployment", "wandb-app-bc");
    let license = app.env.iter().flatten().find(|e| e.name == "LICENSE");
    let secret = license
        .and_then(|e| e.value_from.as_ref())
        .and_then(|v| v.secret_key_ref.as_ref())
        .map(|s| (s.name.as_str(), s.key.as_str()));
    assert_eq!(secret, Some(("mine", "lic")));
    // Without a Secret of the user's, ours holds the license under the key.
    let ms = render_yaml("global:\n  license: inline\n  licenseSecret:\n    key: lic\n");
    match find(&ms, "Secret", "wandb-license") {
        Some(Object::Secret(Secret { data: Some(d), .. })) => {
            assert_eq!(d.keys().collect::<Vec<_>>(), ["lic"])
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_otel_deployment_is_one_more_collector() {
    let ms = render_yaml("otel:\n  deployment:\n    install: true\n");
    for kind in [
        "Deployment",
        "Service",
        "ServiceAccount",
        "ConfigMap",
        "ClusterRole",
        "ClusterRoleBinding",
    ] {
        assert!(
            find(&ms, kind, "wandb-otel-deployment").is_some(),
            "no {kind}/wandb-otel-deployment"
        );
    }
    assert_eq!(
        first(&ms, "Deployment", "wandb-otel-deployment").name,
        "deployment"
    );
    assert!(find(&ms, "DaemonSet", "wandb-otel-daemonset").is_some());
    let ms = render_yaml("");
    assert!(find(&ms, "Deployment", "wandb-otel-deployment").is_none());
}

#[test]
fn the_cloud_exporters_run_when_installed() {
    assert!(find(&render_yaml(""), "Deployment", "wandb-stackdriver").is_none());
    let ms = render_yaml(
        "stackdriver:\n  install: true\n  stackdriver:\n    projectId: my-project\n    \
         serviceAccountSecret: sa\n  serviceAccount:\n    annotations:\n      \
         iam.gke.io/gcp-service-account: x@y\n\
         yace:\n  install: true\n  regions: [us-east-1, eu-west-1]\n",
    );
    let sd = first(&ms, "Deployment", "wandb-stackdriver");
    let args = sd.args.clone().unwrap_or_default();
    assert!(
        args.contains(&"--google.project-id=my-project".to_string()),
        "{args:?}"
    );
    assert!(env_names(sd).contains(&"GOOGLE_APPLICATION_CREDENTIALS"));
    match find(&ms, "ServiceAccount", "wandb-stackdriver") {
        Some(Object::ServiceAccount(sa)) => assert!(
            sa.metadata
                .annotations
                .iter()
                .flatten()
                .any(|(k, _)| k == "iam.gke.io/gcp-service-account")
        ),
        other => panic!("{other:?}"),
    }
    assert!(find(&ms, "Service", "wandb-stackdriver").is_some());
    for kind in ["Deployment", "Service", "ServiceAccount", "ConfigMap"] {
        assert!(
            find(&ms, kind, "wandb-yace").is_some(),
            "no {kind}/wandb-yace"
        );
    }
    match find(&ms, "ConfigMap", "wandb-yace") {
        Some(Object::ConfigMap(cm)) => {
            let config = cm.data.as_ref().and_then(|d| d.get("config.yml")).cloned();
            let config = config.unwrap_or_default();
            assert!(
                config.contains("eu-west-1") && config.contains("AWS/RDS"),
                "{config}"
            );
        }
        other => panic!("{other:?}"),
    }
}
