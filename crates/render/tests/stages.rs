//! Every object of a render is marked with the stage the operator applies it
//! in, by whoever builds it: configuration first, then the stores, the
//! migrations, the services, the post-install jobs; test pods never.

use wandb_render::builtin::load;
use wandb_render::builtin::render;
use wandb_render::{Ctx, Manifest, Release, Stage};
use wandb_values::{Disk, Source, StoreKind, Values};

fn values(yaml: &str) -> Values {
    let every_service = Source::File(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/values/every-service.yaml"
        )
        .into(),
    );
    let extra = Source::Inline {
        name: "extra.yaml".into(),
        yaml: yaml.into(),
    };
    load(&[every_service, extra], &mut Disk)
        .unwrap_or_else(|e| panic!("{e:?}"))
        .values
}

fn stage(ms: &[Manifest], kind: &str, name: &str) -> Stage {
    ms.iter()
        .find(|m| m.object.kind() == kind && m.object.name() == name)
        .unwrap_or_else(|| panic!("no {kind}/{name}"))
        .stage
}

#[test]
fn a_full_install_is_marked_stage_by_stage() {
    // Every service, and bufstream + etcd besides Kafka's place.
    for extra in ["{}", "bufstream:\n  install: true\n"] {
        let values = values(extra);
        let release = Release::new("wandb", "default");
        let ms = render(&values, &release);
        let catalog = wandb_render::Catalog::builtin().unwrap();
        let evaluated = wandb_render::template::evaluate(catalog, &values, &release);
        let ctx = Ctx::new(catalog, &evaluated, &release);

        // Every store that runs in the cluster has its StatefulSets, all in Stores.
        for store in StoreKind::ALL.into_iter().filter(|s| ctx.in_cluster(*s)) {
            let sets: Vec<&Manifest> = ms
                .iter()
                .filter(|m| m.component == store.key() && m.object.kind() == "StatefulSet")
                .collect();
            assert!(!sets.is_empty(), "{store:?} has no StatefulSet");
            for m in sets {
                assert_eq!(m.stage, Stage::Stores, "{}", m.object.name());
            }
        }
        // And only stores are in Stores.
        for m in ms.iter().filter(|m| m.stage == Stage::Stores) {
            assert!(
                StoreKind::ALL.iter().any(|s| s.key() == m.component),
                "{} {}",
                m.object.kind(),
                m.object.name()
            );
        }

        assert_eq!(stage(&ms, "Job", "wandb-smj"), Stage::Migrations);
        assert_eq!(stage(&ms, "Job", "wandb-ch-migrate"), Stage::Migrations);
        assert_eq!(
            stage(&ms, "Job", "wandb-app-rename-pre-hook"),
            Stage::Migrations
        );
        assert_eq!(
            stage(&ms, "Job", "wandb-app-rename-post-hook"),
            Stage::PostInstall
        );
        // The app-rename hooks touch no store: each starts with an earlier
        // stage (the catalog's startsWith); the rest start with their own.
        let start = |kind: &str, name: &str| {
            ms.iter()
                .find(|m| m.object.kind() == kind && m.object.name() == name)
                .map(|m| m.start())
        };
        assert_eq!(
            start("Job", "wandb-app-rename-pre-hook"),
            Some(Stage::Stores)
        );
        assert_eq!(
            start("Job", "wandb-app-rename-post-hook"),
            Some(Stage::Services)
        );
        assert_eq!(start("Job", "wandb-smj"), Some(Stage::Migrations));
        assert_eq!(start("Job", "wandb-ch-migrate"), Some(Stage::Migrations));
        assert_eq!(start("Deployment", "wandb-app-bc"), Some(Stage::Services));
        assert_eq!(stage(&ms, "Deployment", "wandb-app-bc"), Stage::Services);
        assert_eq!(stage(&ms, "Deployment", "wandb-api"), Stage::Services);
        assert_eq!(stage(&ms, "CronJob", "wandb-lumen-agent"), Stage::Services);
        assert_eq!(
            stage(&ms, "Deployment", "wandb-prometheus-mysql-exporter"),
            Stage::Services
        );
        assert_eq!(stage(&ms, "Secret", "wandb-mysql"), Stage::Config);
        assert_eq!(
            stage(&ms, "ConfigMap", "wandb-bucket-configmap"),
            Stage::Config
        );
        assert_eq!(stage(&ms, "Service", "wandb-app"), Stage::Config);
        for m in &ms {
            let kind = m.object.kind();
            if matches!(kind, "Secret" | "ConfigMap" | "ServiceAccount" | "Service")
                && m.stage != Stage::Test
            {
                assert_eq!(m.stage, Stage::Config, "{kind}/{}", m.object.name());
            }
            if kind == "Pod" {
                assert_eq!(m.stage, Stage::Test, "{}", m.object.name());
            }
        }
        assert!(ms.iter().any(|m| m.object.kind() == "Pod"), "test pods");
    }
}

/// A hook whose user-set phase puts it in an earlier stage than the one the
/// catalog says it starts with keeps its own: an object never starts later
/// than its stage.
#[test]
fn an_object_never_starts_after_its_own_stage() {
    let ms = render(
        &values("appRenamePostHook:\n  helmHook:\n    hook: pre-install,pre-upgrade\n"),
        &Release::new("wandb", "default"),
    );
    let hook = ms
        .iter()
        .find(|m| m.object.kind() == "Job" && m.object.name() == "wandb-app-rename-post-hook")
        .expect("the post-upgrade hook's Job");
    assert_eq!(hook.stage, Stage::Migrations);
    assert_eq!(hook.start(), Stage::Migrations);
}
