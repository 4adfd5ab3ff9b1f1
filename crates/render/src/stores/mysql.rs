//! MySQL 8, its data in the PVC `{release}-mysql-data`.

use k8s_openapi::api::core::v1::{
    EnvVar, PersistentVolumeClaim, PersistentVolumeClaimVolumeSource, Probe, Volume,
};

use crate::config::config_map;
use crate::context::{Ctx, non_empty};
use crate::env::secret_ref;
use crate::k8s::{config_map_volume, empty_dir, mount};
use crate::objects::{Manifest, Object};
use wandb_values::Store;

use super::common::{
    StoreSpec, claim_spec, global_env_from, manifests, meta, network_policy, pod_security, port,
    prefixed_image, resources, selector, service, service_port, stateful_set, store_container,
    tcp_probe, with_global_extra_env,
};

pub(super) fn build(ctx: &Ctx) -> Vec<Manifest> {
    let g = &ctx.values.global;
    // Upstream's MySQL chart also takes `global.extraEnv` (its own win) and
    // `global.extraEnvFrom`.
    let store = Store {
        extra_env: with_global_extra_env(ctx, &ctx.values.mysql.extra_env),
        extra_env_vars: [
            ctx.values.mysql.extra_env_vars.clone(),
            global_env_from(ctx),
        ]
        .concat(),
        ..(*ctx.values.mysql).clone()
    };
    let v = &store;
    let claim = non_empty(&v.persistence.existing_claim).unwrap_or_else(|| ctx.name("mysql-data"));
    let name = ctx.name("mysql");
    let sel = selector(ctx, "mysql", None);
    let mut env: Vec<EnvVar> = ctx.group_env("mysqlConfig");
    env.push(secret_ref(
        "MYSQL_ROOT_PASSWORD",
        &ctx.mysql_password_secret(),
        &g.mysql.password_secret.root_password_key,
        false,
    ));
    let mut spec = StoreSpec {
        component: "mysql",
        name: name.clone(),
        selector: sel.clone(),
        values: v,
        default_registry: "",
        containers: vec![],
        volumes: vec![
            config_map_volume("initdb", &ctx.name("mysql-initdb"), None, false),
            Volume {
                name: "data".into(),
                persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                    claim_name: claim.clone(),
                    read_only: None,
                }),
                ..Default::default()
            },
            empty_dir("run"),
        ],
        pod_security: pod_security(999, 999),
        service_account: None,
        api_access: false,
    };
    let mut c = store_container(
        ctx,
        "mysql",
        &spec,
        resources("500m", "1Gi", Some("4"), "8Gi"),
    );
    c.image = Some(prefixed_image(ctx, v, spec.default_registry));
    c.ports = Some(vec![port("mysql", 3306)]);
    c.env = Some(env);
    c.liveness_probe = Some(tcp_probe(3306, 0));
    c.readiness_probe = Some(tcp_probe(3306, 0));
    c.startup_probe = Some(Probe {
        failure_threshold: Some(60),
        period_seconds: Some(5),
        initial_delay_seconds: Some(20),
        ..tcp_probe(3306, 20)
    });
    c.volume_mounts = Some(vec![
        mount("data", "/var/lib/mysql", None),
        mount(
            "initdb",
            "/docker-entrypoint-initdb.d/initdb.sql",
            Some("initdb.sql"),
        ),
        mount("initdb", "/etc/mysql/conf.d/wandb.cnf", Some("my.cnf")),
        mount("run", "/var/run/mysqld", None),
    ]);
    spec.containers = vec![c];
    let mut out = vec![config_map(
        ctx,
        "mysql",
        "mysql-initdb",
        vec![
            (
                "my.cnf",
                "[mysqld]\nbinlog_format = 'ROW'\ninnodb_online_alter_log_max_size = 268435456\n\
                 sync_binlog = 1\ninnodb_flush_log_at_trx_commit = 1\nbinlog_row_image = 'MINIMAL'\n\
                 local-infile = 1\nsort_buffer_size = 33554432\n"
                    .to_string(),
            ),
            (
                "initdb.sql",
                // Backups need RELOAD, SELECT and LOCK TABLES.
                format!(
                    "GRANT SESSION_VARIABLES_ADMIN,RELOAD,SELECT,LOCK TABLES ON *.* TO `{}`@`%`;\n",
                    ctx.mysql_user()
                ),
            ),
        ],
    )];
    // The user's own claim is theirs to make.
    if v.persistence.existing_claim.is_empty() {
        out.push(Manifest::new(
            "mysql",
            Object::PersistentVolumeClaim(PersistentVolumeClaim {
                metadata: meta(ctx, &claim, "mysql", &sel),
                spec: Some(claim_spec(ctx, v, "20Gi")),
                status: None,
            }),
        ));
    }
    out.extend(manifests(
        "mysql",
        vec![
            service(
                ctx,
                "mysql",
                &name,
                &sel,
                vec![service_port("mysql", 3306, "mysql")],
                false,
            ),
            stateful_set(ctx, &spec, 1, &name, vec![]),
        ],
    ));
    out.extend(network_policy(ctx, "mysql", &name, &sel, &[3306]));
    out
}
