//! The wandb-base keys that shape a service's objects: which of them exist
//! (`service.enabled`, `role.create`, `serviceAccount.create`,
//! `podDisruptionBudget.enabled`), their names (`deploymentPostfix`) and
//! what a container or pod gets from `strategy`, `lifecycle`, `envFrom`,
//! `portsTpls` and `podAnnotationsTpls`.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Container, PodSpec};
use wandb_render::builtin::load;
use wandb_render::builtin::render;
use wandb_render::{Manifest, Object, Phase, Release};
use wandb_values::{NoFiles, SetKind, Source};

/// `--set-json` flags over the defaults.
fn sources(sets: &[&str]) -> Vec<Source> {
    sets.iter()
        .map(|s| Source::Set(SetKind::Json, s.to_string()))
        .collect()
}

fn objects(sets: &[&str]) -> Vec<Manifest> {
    let values = load(&sources(sets), &mut NoFiles)
        .unwrap_or_else(|e| panic!("{e:?}"))
        .values;
    render(&values, &Release::new("wandb", "default"))
}

/// The values' error messages.
fn errors(sets: &[&str]) -> String {
    match load(&sources(sets), &mut NoFiles) {
        Ok(_) => panic!("{sets:?} was accepted"),
        Err(e) => format!("{e:?}"),
    }
}

fn find<'a>(ms: &'a [Manifest], kind: &str, name: &str) -> Option<&'a Manifest> {
    ms.iter()
        .find(|m| m.object.kind() == kind && m.object.name() == name)
}

fn has(ms: &[Manifest], kind: &str, name: &str) -> bool {
    find(ms, kind, name).is_some()
}

fn deployment<'a>(ms: &'a [Manifest], name: &str) -> &'a Deployment {
    match find(ms, "Deployment", name).map(|m| &m.object) {
        Some(Object::Deployment(d)) => d,
        _ => panic!("Deployment/{name} missing"),
    }
}

fn pod(d: &Deployment) -> &PodSpec {
    d.spec.as_ref().unwrap().template.spec.as_ref().unwrap()
}

fn container<'a>(d: &'a Deployment, name: &str) -> &'a Container {
    pod(d)
        .containers
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("container {name} missing"))
}

fn json<T: serde::Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap()
}

#[test]
fn service_enabled_false_leaves_the_service_out_and_true_adds_upstreams_default() {
    let ms = objects(&["app.service.enabled=false"]);
    assert!(!has(&ms, "Service", "wandb-app"));
    assert!(has(&ms, "Deployment", "wandb-app-bc"));

    // lumen-agent has no Service of its own: upstream's default port.
    let ms = objects(&[
        "lumen-agent.install=true",
        "lumen-agent.service.enabled=true",
    ]);
    let Some(Object::Service(s)) = find(&ms, "Service", "wandb-lumen-agent").map(|m| &m.object)
    else {
        panic!("Service/wandb-lumen-agent missing")
    };
    let spec = json(&s.spec);
    assert_eq!(
        spec["ports"],
        serde_json::json!([{"name": "http", "port": 80, "protocol": "TCP", "targetPort": "http"}])
    );
    assert_eq!(spec["selector"]["app.kubernetes.io/name"], "lumen-agent");
    assert!(!has(
        &objects(&["lumen-agent.install=true"]),
        "Service",
        "wandb-lumen-agent"
    ));
}

fn service(ms: &[Manifest], name: &str) -> serde_json::Value {
    match find(ms, "Service", name).map(|m| &m.object) {
        Some(Object::Service(s)) => json(s),
        _ => panic!("Service/{name} missing"),
    }
}

#[test]
fn a_services_headless_internal_ports_and_health_check_keys_beat_the_catalogs() {
    // On AWS the api's Service carries the catalog's health check path;
    // the user's path beats it, and `internal` or `headless` drops it.
    let aws = r#"global.cloudProvider="aws""#;
    let api = "global.api.enabled=true";
    let path = |ms: &[Manifest]| {
        service(ms, "wandb-api")["metadata"]["annotations"]
            ["alb.ingress.kubernetes.io/healthcheck-path"]
            .clone()
    };
    assert_eq!(path(&objects(&[aws, api])), "/ready");
    let ms = objects(&[
        aws,
        api,
        r#"api.service.loadBalancerHealthCheckPath="/healthz""#,
    ]);
    assert_eq!(path(&ms), "/healthz");
    assert!(path(&objects(&[aws, api, "api.service.internal=true"])).is_null());
    let ms = objects(&[aws, api, "api.service.headless=true"]);
    assert!(path(&ms).is_null());
    assert_eq!(service(&ms, "wandb-api")["spec"]["clusterIP"], "None");

    // A headless catalog Service made a plain one; the user's ports replace the catalog's.
    let ms = objects(&[
        "history-reader.install=true",
        "history-reader.service.headless=false",
        r#"history-reader.service.ports=[{"name":"grpc","port":9999}]"#,
    ]);
    let s = service(&ms, "wandb-history-reader");
    assert!(s["spec"]["clusterIP"].is_null());
    assert_eq!(
        s["spec"]["ports"],
        serde_json::json!([{"name": "grpc", "port": 9999, "targetPort": 9999}])
    );

    // On GCP, the BackendConfig takes the Service's healthCheck.
    let ms = objects(&[
        r#"global.cloudProvider="gcp""#,
        r#"app.service.healthCheck={"requestPath":"/ready","port":8080}"#,
    ]);
    let Some(Object::Custom(b)) =
        find(&ms, "BackendConfig", "wandb-app-backend-config").map(|m| &m.object)
    else {
        panic!("BackendConfig/wandb-app-backend-config missing")
    };
    assert_eq!(
        b.spec["healthCheck"],
        serde_json::json!({"requestPath": "/ready", "port": 8080})
    );
    assert_eq!(b.spec["timeoutSec"], 120);
}

#[test]
fn deployment_postfix_renames_the_deployment_and_its_autoscaler_target_only() {
    let ms = objects(&[r#"parquet.deploymentPostfix="blue""#]);
    let d = deployment(&ms, "wandb-parquet-blue");
    assert!(!has(&ms, "Deployment", "wandb-parquet-bc"));
    // Services and selectors keep the plain name: other services call it.
    let selector = json(&d.spec.as_ref().unwrap().selector);
    assert_eq!(selector["matchLabels"]["app.kubernetes.io/name"], "parquet");
    assert!(has(&ms, "Service", "wandb-parquet"));
    let Some(Object::HorizontalPodAutoscaler(h)) =
        find(&ms, "HorizontalPodAutoscaler", "wandb-parquet").map(|m| &m.object)
    else {
        panic!("parquet autoscales at size small")
    };
    assert_eq!(
        h.spec.as_ref().unwrap().scale_target_ref.name,
        "wandb-parquet-blue"
    );

    let ms = objects(&[r#"app.deploymentPostfix="""#]);
    assert!(has(&ms, "Deployment", "wandb-app"));
    assert!(errors(&[r#"app.deploymentPostfix="Blue""#]).contains("app.deploymentPostfix"));
}

#[test]
fn strategy_type_and_rolling_update_set_the_rollout() {
    let strategy = |sets: &[&str]| {
        json(
            &deployment(&objects(sets), "wandb-app-bc")
                .spec
                .as_ref()
                .unwrap()
                .strategy,
        )
    };
    assert_eq!(
        strategy(&[]),
        serde_json::json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}})
    );
    assert_eq!(
        strategy(&[r#"app.strategy.type="Recreate""#]),
        serde_json::json!({"type": "Recreate"})
    );
    assert_eq!(
        strategy(&[r#"app.strategy.rollingUpdate={"maxSurge":"50%"}"#]),
        serde_json::json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "50%", "maxUnavailable": 0}})
    );
    // glue recreates by default; the user's type wins.
    let ms = objects(&[
        "global.glue.enabled=true",
        r#"glue.strategy.type="RollingUpdate""#,
    ]);
    let glue = json(
        &deployment(&ms, "wandb-glue")
            .spec
            .as_ref()
            .unwrap()
            .strategy,
    );
    assert_eq!(glue["type"], "RollingUpdate");
    assert!(errors(&[r#"app.strategy.type="Recreate-x""#]).contains("app.strategy.type"));
}

#[test]
fn a_containers_lifecycle_merges_over_the_catalogs() {
    let ms = objects(&[r#"app.containers.app.lifecycle.postStart={"exec":{"command":["true"]}}"#]);
    let l = json(&container(deployment(&ms, "wandb-app-bc"), "app").lifecycle);
    assert_eq!(
        l["postStart"]["exec"]["command"],
        serde_json::json!(["true"])
    );
    assert_eq!(
        l["preStop"]["exec"]["command"],
        serde_json::json!(["sleep", "25"])
    );

    let ms = objects(&[r#"app.containers.app.lifecycle.preStop.exec.command=["sleep","5"]"#]);
    let l = json(&container(deployment(&ms, "wandb-app-bc"), "app").lifecycle);
    assert_eq!(
        l["preStop"]["exec"]["command"],
        serde_json::json!(["sleep", "5"])
    );
}

#[test]
fn a_containers_env_from_beats_the_components() {
    let ms = objects(&[
        r#"app.envFrom={"shared":"configMapRef","only-component":"configMapRef"}"#,
        r#"app.containers.app.envFrom={"shared":"secretRef","{{ .Release.Name }}-own":"secretRef"}"#,
    ]);
    let env_from = json(&container(deployment(&ms, "wandb-app-bc"), "app").env_from);
    let entries = env_from.as_array().unwrap();
    let entry = |name: &str| {
        entries
            .iter()
            .find(|e| e.as_object().unwrap().values().any(|v| v["name"] == name))
            .unwrap_or_else(|| panic!("no envFrom {name}"))
    };
    assert!(entry("shared").get("secretRef").is_some());
    assert!(entry("wandb-own").get("secretRef").is_some());
    assert!(entry("only-component").get("configMapRef").is_some());
    assert!(
        errors(&[r#"app.containers.app.envFrom={"x":"secret"}"#])
            .contains("app.containers.app.envFrom.x")
    );
}

#[test]
fn ports_tpls_replace_the_catalogs_port_groups() {
    let ports = |sets: &[&str]| -> Vec<String> {
        container(deployment(&objects(sets), "wandb-parquet-bc"), "parquet")
            .ports
            .iter()
            .flatten()
            .map(|p| {
                format!(
                    "{}:{}",
                    p.name.clone().unwrap_or_default(),
                    p.container_port
                )
            })
            .collect()
    };
    let default = ports(&[]);
    assert!(default.contains(&"lumen:16060".to_string()));
    let without_lumen = ports(&["parquet.containers.parquet.portsTpls=[]"]);
    assert_eq!(without_lumen.len(), default.len() - 1);
    assert!(!without_lumen.contains(&"lumen:16060".to_string()));
    let more = ports(&[
        r#"parquet.containers.parquet.portsTpls=["{{ include \"wandb.lumen.gorilla.containerPort\" . }}","- name: metrics\n  containerPort: 9100\n"]"#,
    ]);
    assert!(more.contains(&"lumen:16060".to_string()));
    assert!(more.contains(&"metrics:9100".to_string()));
    // Upstream turns this into an error string inside the ports list.
    assert!(
        errors(&[r#"parquet.containers.parquet.portsTpls=["probe-item"]"#])
            .contains("parquet.containers.parquet.portsTpls[0]")
    );
}

#[test]
fn pod_annotations_tpls_replace_the_catalogs_annotation_groups() {
    let annotations = |sets: &[&str]| {
        json(
            &deployment(&objects(sets), "wandb-parquet-bc")
                .spec
                .as_ref()
                .unwrap()
                .template
                .metadata
                .as_ref()
                .unwrap()
                .annotations,
        )
    };
    assert_eq!(annotations(&[])["lumen.wandb.ai/agent"], "true");
    let a = annotations(&[r#"parquet.podAnnotationsTpls=["team: {{ .Release.Name }}-ml"]"#]);
    assert_eq!(a["team"], "wandb-ml");
    assert!(a.get("lumen.wandb.ai/agent").is_none());
    let a = annotations(&[
        r#"parquet.podAnnotationsTpls=["{{ include \"wandb.lumen.agent.target\" . }}"]"#,
    ]);
    assert_eq!(a["lumen.wandb.ai/agent"], "true");
    // Upstream writes the string where the annotations map goes.
    assert!(
        errors(&[r#"mcp-server.podAnnotationsTpls=["probe-item"]"#])
            .contains("mcp-server.podAnnotationsTpls[0]")
    );
}

#[test]
fn role_create_and_type_choose_the_rbac() {
    let ms = objects(&[]);
    assert!(has(&ms, "ClusterRole", "wandb-console"));
    assert!(has(&ms, "Role", "wandb-app"));

    let ms = objects(&["console.role.create=false", "app.role.create=false"]);
    for kind in ["ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"] {
        assert!(!has(&ms, kind, "wandb-console"), "{kind}");
        assert!(!has(&ms, kind, "wandb-app"), "{kind}");
    }

    // A Role holds every rule, the cluster-wide reads included.
    let ms = objects(&[r#"console.role.type="Role""#]);
    assert!(!has(&ms, "ClusterRole", "wandb-console"));
    assert!(!has(&ms, "ClusterRoleBinding", "wandb-console"));
    let Some(Object::Role(r)) = find(&ms, "Role", "wandb-console").map(|m| &m.object) else {
        panic!("Role/wandb-console missing")
    };
    assert!(json(&r.rules).to_string().contains("namespaces"));

    // A service with no built-in Role gets the user's rules.
    let ms = objects(&[
        "anaconda2.install=true",
        "anaconda2.role.create=true",
        r#"anaconda2.role.rules=[{"apiGroups":[""],"resources":["pods"],"verbs":["get"]}]"#,
    ]);
    assert!(has(&ms, "Role", "wandb-anaconda2"));
    assert!(has(&ms, "RoleBinding", "wandb-anaconda2"));
    assert!(errors(&[r#"console.role.type="Cluster""#]).contains("console.role.type"));
}

#[test]
fn a_hooks_pod_disruption_budget_and_service_account_follow_the_values() {
    let ms = objects(&["appRenamePreHook.podDisruptionBudget.enabled=true"]);
    let pdb = find(&ms, "PodDisruptionBudget", "wandb-app-rename-pre-hook").expect("a PDB");
    // Upstream does not make it a hook.
    assert_eq!(pdb.phase, Phase::Main);
    assert!(pdb.object.metadata().annotations.is_none());
    let ms = objects(&["app.podDisruptionBudget.enabled=false"]);
    assert!(!has(&ms, "PodDisruptionBudget", "wandb-app"));

    let sets = [
        "global.olap.history.enabled=true",
        "clickhouseMigrationJob.install=true",
    ];
    let job_sa = |ms: &[Manifest]| match find(ms, "Job", "wandb-ch-migrate").map(|m| &m.object) {
        Some(Object::Job(j)) => j
            .spec
            .as_ref()
            .unwrap()
            .template
            .spec
            .as_ref()
            .unwrap()
            .service_account_name
            .clone(),
        _ => panic!("Job/wandb-ch-migrate missing"),
    };
    let ms = objects(&sets);
    assert!(!has(
        &ms,
        "ServiceAccount",
        "wandb-clickhouse-migration-job"
    ));
    assert_eq!(job_sa(&ms).as_deref(), Some("default"));
    let ms = objects(&[
        sets[0],
        sets[1],
        "clickhouseMigrationJob.serviceAccount.create=true",
    ]);
    let sa =
        find(&ms, "ServiceAccount", "wandb-clickhouse-migration-job").expect("a ServiceAccount");
    assert!(
        sa.object
            .metadata()
            .annotations
            .as_ref()
            .unwrap()
            .contains_key("helm.sh/hook")
    );
    assert_eq!(
        job_sa(&ms).as_deref(),
        Some("wandb-clickhouse-migration-job")
    );

    let ms = objects(&[
        "parquet-metadata-cache.install=true",
        "parquet-metadata-cache.serviceAccount.create=false",
    ]);
    assert!(!has(&ms, "ServiceAccount", "wandb-parquet-metadata-cache"));
    let d = deployment(&ms, "wandb-parquet-metadata-cache");
    assert_eq!(pod(d).service_account_name.as_deref(), Some("default"));
}

#[test]
fn a_services_volumes_and_a_containers_volume_mounts_replace_the_catalogs() {
    let names = |items: Option<Vec<String>>| items.unwrap_or_default();
    let on = "global.api.enabled=true";
    let ms = objects(&[on]);
    let api = deployment(&ms, "wandb-api");
    let volumes = |d: &Deployment| {
        names(
            pod(d)
                .volumes
                .as_ref()
                .map(|v| v.iter().map(|v| v.name.clone()).collect()),
        )
    };
    let mounts = |d: &Deployment| {
        names(
            container(d, "api")
                .volume_mounts
                .as_ref()
                .map(|m| m.iter().map(|m| m.mount_path.clone()).collect()),
        )
    };
    assert!(volumes(api).contains(&"temp-dir".to_string()));

    let ms = objects(&[
        on,
        r#"api.volumes=[{"name":"extra","emptyDir":{}}]"#,
        r#"api.containers.api.volumeMounts=[{"name":"extra","mountPath":"/extra"}]"#,
    ]);
    let api = deployment(&ms, "wandb-api");
    let (volumes, mounts) = (volumes(api), mounts(api));
    assert!(volumes.contains(&"extra".to_string()), "{volumes:?}");
    assert!(!volumes.contains(&"temp-dir".to_string()), "{volumes:?}");
    // The install-wide CA certificates stay.
    assert!(
        volumes.contains(&"wandb-ca-certs".to_string()),
        "{volumes:?}"
    );
    assert!(mounts.contains(&"/extra".to_string()), "{mounts:?}");
    assert!(!mounts.iter().any(|m| m.contains("tmp")), "{mounts:?}");

    // A volume that is not one is refused, naming the key.
    let e = errors(&[r#"api.volumes=[{"name":"x","emptyDir":"big"}]"#]);
    assert!(e.contains("api.volumes"), "{e}");
}

#[test]
fn a_containers_ports_and_a_services_spread_replace_the_catalogs() {
    let ms = objects(&[r#"app.containers.app.ports=[{"name":"probe","containerPort":9999}]"#]);
    let app = deployment(&ms, "wandb-app-bc");
    let ports: Vec<_> = container(app, "app")
        .ports
        .iter()
        .flatten()
        .map(|p| p.container_port)
        .collect();
    assert_eq!(ports, [9999]);

    let spread =
        |ms: &[Manifest]| json(&pod(deployment(ms, "wandb-app-bc")).topology_spread_constraints);
    assert_eq!(spread(&objects(&[])).as_array().map(Vec::len), Some(2));
    let ms = objects(&[
        r#"app.topologySpreadConstraints=[{"maxSkew":2,"topologyKey":"kubernetes.io/hostname","whenUnsatisfiable":"DoNotSchedule"}]"#,
    ]);
    let got = spread(&ms);
    assert_eq!(got.as_array().map(Vec::len), Some(1));
    assert_eq!(got[0]["maxSkew"], 2);
    assert_eq!(
        got[0]["labelSelector"]["matchLabels"]["app.kubernetes.io/name"],
        "app"
    );
}

#[test]
fn a_services_list_replaces_the_catalogs_extra_services() {
    assert!(has(&objects(&[]), "Service", "wandb-parquet-grpc"));
    let ms = objects(&[
        r#"parquet.services=[{"name":"wandb-parquet-extra","enabled":true,"ports":[{"name":"x","port":7000}]},{"name":"wandb-parquet-off","ports":[{"port":1}]}]"#,
    ]);
    assert!(!has(&ms, "Service", "wandb-parquet-grpc"));
    assert!(!has(&ms, "Service", "wandb-parquet-off"), "not enabled");
    let s = service(&ms, "wandb-parquet-extra");
    assert_eq!(s["spec"]["ports"][0]["port"], 7000);
    assert_eq!(s["spec"]["selector"]["app.kubernetes.io/name"], "parquet");
}
