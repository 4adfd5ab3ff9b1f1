//! Stopping an install: the W&B services scaled to zero while the stores,
//! their data and the generated secrets stay as they are (for a database
//! maintenance or to save cost). The stores' exporters and the telemetry
//! collectors keep running too: they watch what keeps running. Pure: it changes what is applied, and the
//! usual apply and prune do the rest, so undoing it applies the services'
//! own replicas again.

use serde_json::json;

use wandb_render::Catalog;

use crate::desired::{DesiredObject, Stage};

/// Changes the desired objects of a stopped install: the services'
/// Deployments and StatefulSets at 0 replicas, their CronJobs suspended, and
/// their autoscalers left out (and so pruned): an autoscaler cannot hold a
/// workload at 0.
pub fn scale_to_zero(objects: &mut Vec<DesiredObject>, catalog: &Catalog) {
    let is_service =
        |o: &DesiredObject| o.stage == Stage::Services && catalog.service(&o.component).is_some();
    objects.retain(|o| {
        !(is_service(o) && matches!(o.kind.as_str(), "HorizontalPodAutoscaler" | "ScaledObject"))
    });
    for o in objects.iter_mut().filter(|o| is_service(o)) {
        match o.kind.as_str() {
            "Deployment" | "StatefulSet" => o.body["spec"]["replicas"] = json!(0),
            "CronJob" => o.body["spec"]["suspend"] = json!(true),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn object(kind: &str, component: &str, stage: Stage, body: Value) -> DesiredObject {
        DesiredObject {
            api_version: "v1".into(),
            kind: kind.into(),
            name: format!("wandb-{component}"),
            namespace: Some("wandb".into()),
            component: component.into(),
            stage,
            start: stage,
            body,
            generated: vec![],
        }
    }

    #[test]
    fn services_go_to_zero_and_stores_keep_running() {
        let mut objects = vec![
            object(
                "StatefulSet",
                "mysql",
                Stage::Stores,
                json!({"spec": {"replicas": 1}}),
            ),
            object(
                "Deployment",
                "app",
                Stage::Services,
                json!({"spec": {"replicas": 2}}),
            ),
            object(
                "Deployment",
                "parquet",
                Stage::Services,
                json!({"spec": {}}),
            ),
            object(
                "HorizontalPodAutoscaler",
                "parquet",
                Stage::Services,
                json!({}),
            ),
            object("ScaledObject", "weave", Stage::Services, json!({})),
            object(
                "CronJob",
                "parquet",
                Stage::Services,
                json!({"spec": {"schedule": "@daily"}}),
            ),
            object(
                "Deployment",
                "prometheus",
                Stage::Services,
                json!({"spec": {"replicas": 1}}),
            ),
            object(
                "Job",
                "mysqlMigrationJob",
                Stage::Migrations,
                json!({"spec": {}}),
            ),
            object("Secret", "mysql", Stage::Config, json!({})),
        ];
        let before = objects.clone();
        scale_to_zero(&mut objects, Catalog::builtin().unwrap());
        let keys: Vec<String> = objects.iter().map(DesiredObject::key).collect();
        assert_eq!(
            keys,
            [
                "StatefulSet/wandb-mysql",
                "Deployment/wandb-app",
                "Deployment/wandb-parquet",
                "CronJob/wandb-parquet",
                "Deployment/wandb-prometheus",
                "Job/wandb-mysqlMigrationJob",
                "Secret/wandb-mysql",
            ]
        );
        assert_eq!(objects[0], before[0], "a store changed");
        assert_eq!(objects[1].body["spec"]["replicas"], 0);
        assert_eq!(objects[2].body["spec"]["replicas"], 0);
        assert_eq!(objects[3].body["spec"]["suspend"], true);
        assert_eq!(objects[4], before[6], "an exporter changed");
        assert_eq!(objects[5], before[7], "a migration changed");
        assert_eq!(objects[6], before[8], "a secret changed");
    }
}
