//! Release documents other than the built-in one: a whole new service from
//! a document alone, its values keys known without a line of Rust.

use serde_json::{Value, json};
use wandb_render::catalog::{BUILTIN_YAML, Catalog};
use wandb_render::{Manifest, Object, Release, render};
use wandb_values::{SetKind, Source};

/// The built-in document with a service `newsvc` added: a Deployment behind
/// a Service, its own ConfigMap, env from a group and from a values key of
/// its own, a route, and the defaults of its values block.
fn with_a_new_service() -> Catalog {
    let mut doc: Value = wandb_values::load::parse_yaml("doc", BUILTIN_YAML).unwrap();
    doc["values"]["newsvc"] = json!({
        "install": false,
        "image": {"repository": "example/newsvc", "tag": "1.2.3"},
        "greeting": "hello",
        "workers": 4,
    });
    doc["services"]["newsvc"] = json!({
        "kind": "Deployment",
        "service": {"ports": [{"port": 8080, "name": "http", "protocol": "TCP"}]},
        "envFrom": [{"configMap": "newsvc-configmap"}],
        "envGroups": ["mysql"],
        "env": {
            "NEWSVC_WORKERS": {"value": ".workers"},
            "NEWSVC_HOST": {"value": "global.host", "format": "{}/newsvc"},
        },
        "containers": {"newsvc": {
            "args": ["serve"],
            "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
            "readinessProbe": {"httpGet": {"path": "/ready", "port": "http"}},
        }},
    });
    doc["configMaps"]["{release}-newsvc-configmap"] = json!({
        "component": "newsvc",
        "when": "newsvc.install",
        "data": {"GREETING": {"value": "newsvc.greeting"}},
    });
    doc["routes"]["list"].as_array_mut().unwrap().push(
        json!({"group": "newsvc", "path": "/newsvc", "service": "{release}-newsvc",
                     "port": 8080, "when": "newsvc.install"}),
    );
    for order in ["/routes/nginx/order", "/routes/ingressOrder"] {
        let list = doc
            .pointer_mut(order)
            .and_then(Value::as_array_mut)
            .unwrap();
        list.push(json!("newsvc"));
    }
    // As a user would write it: YAML text.
    let text = serde_saphyr::to_string(&doc).unwrap();
    Catalog::from_yaml(&text).unwrap_or_else(|e| panic!("{e}"))
}

fn render_with(catalog: &Catalog, sets: &[&str]) -> (Vec<Manifest>, Vec<String>) {
    let sources: Vec<Source> = sets
        .iter()
        .map(|s| Source::Set(SetKind::Typed, s.to_string()))
        .collect();
    let loaded = wandb_values::load(&sources, &mut wandb_values::NoFiles, catalog.additions())
        .unwrap_or_else(|e| panic!("{e:?}"));
    let warnings = loaded.warnings.iter().map(ToString::to_string).collect();
    let ms = render(catalog, &loaded.values, &Release::new("wandb", "default"));
    (ms, warnings)
}

fn find<'a>(ms: &'a [Manifest], kind: &str, name: &str) -> Option<&'a Object> {
    ms.iter()
        .map(|m| &m.object)
        .find(|o| o.kind() == kind && o.name() == name)
}

fn json_of(o: &Object) -> Value {
    serde_json::to_value(o).unwrap()
}

#[test]
fn a_new_service_comes_from_a_document_alone() {
    let catalog = with_a_new_service();
    let (off, _) = render_with(&catalog, &[]);
    assert!(
        find(&off, "Deployment", "wandb-newsvc").is_none(),
        "off by default"
    );

    let (ms, warnings) = render_with(
        &catalog,
        &[
            "newsvc.install=true",
            "newsvc.greeting=bonjour",
            "newsvc.workers=8",
            "newsvc.replicaCount=2",
        ],
    );
    assert!(warnings.is_empty(), "its keys are known: {warnings:?}");
    let deployment = json_of(find(&ms, "Deployment", "wandb-newsvc").expect("its Deployment"));
    assert_eq!(deployment["spec"]["replicas"], 2);
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["image"], "example/newsvc:1.2.3");
    let env: Vec<(&str, &Value)> = container["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["name"].as_str().unwrap(), e))
        .collect();
    let value = |name: &str| {
        env.iter()
            .find(|(n, _)| *n == name)
            .unwrap_or_else(|| panic!("no {name}"))
            .1
    };
    assert_eq!(value("NEWSVC_WORKERS")["value"], "8");
    assert_eq!(
        value("NEWSVC_HOST")["value"],
        "http://localhost:8080/newsvc"
    );
    assert_eq!(value("MYSQL_PORT")["value"], "3306", "from the mysql group");
    assert_eq!(
        container["envFrom"][0]["configMapRef"]["name"],
        "wandb-newsvc-configmap"
    );
    let config = json_of(find(&ms, "ConfigMap", "wandb-newsvc-configmap").expect("its ConfigMap"));
    assert_eq!(config["data"]["GREETING"], "bonjour");
    let service = json_of(find(&ms, "Service", "wandb-newsvc").expect("its Service"));
    assert_eq!(service["spec"]["ports"][0]["port"], 8080);
    let ingress = json_of(find(&ms, "Ingress", "wandb").expect("the Ingress"));
    let paths = ingress["spec"]["rules"][0]["http"]["paths"]
        .as_array()
        .unwrap();
    let route = paths
        .iter()
        .find(|p| p["path"] == "/newsvc")
        .expect("its path");
    assert_eq!(route["backend"]["service"]["name"], "wandb-newsvc");
    let nginx = json_of(find(&ms, "ConfigMap", "wandb-nginx-configmap").unwrap());
    assert!(
        nginx["data"]["nginx.conf"]
            .as_str()
            .unwrap()
            .contains("    location /newsvc {\n      proxy_pass http://wandb-newsvc:8080;\n"),
        "{}",
        nginx["data"]["nginx.conf"]
    );
}

#[test]
fn a_new_services_keys_are_checked_by_their_defaults() {
    let catalog = with_a_new_service();
    let sources = [Source::Set(
        SetKind::Json,
        r#"newsvc.greeting=["a"]"#.into(),
    )];
    let errors =
        wandb_values::load(&sources, &mut wandb_values::NoFiles, catalog.additions()).unwrap_err();
    assert_eq!(
        errors[0].to_string(),
        "newsvc.greeting: expected a value, found a list"
    );
    let (_, warnings) = render_with(&catalog, &["newsvc.greting=x"]);
    assert!(
        warnings[0].starts_with("newsvc.greting: unknown key"),
        "{warnings:?}"
    );
}

#[test]
fn the_printed_document_renders_as_the_built_in_one() {
    let printed = Catalog::from_yaml(BUILTIN_YAML).unwrap();
    let builtin = Catalog::builtin().unwrap();
    for sets in [
        &[][..],
        &[
            "global.api.enabled=true",
            "weave-trace.install=true",
            "mcp-server.install=true",
        ][..],
        &[
            "global.olap.history.enabled=true",
            "global.mysql.password=x",
            "bufstream.install=true",
        ][..],
    ] {
        let (a, _) = render_with(&printed, sets);
        let (b, _) = render_with(builtin, sets);
        assert_eq!(
            wandb_render::objects::to_yaml(&a),
            wandb_render::objects::to_yaml(&b)
        );
    }
}
