//! A paused install and a stopped one.

use super::*;

#[tokio::test]
async fn a_paused_install_is_left_alone_and_repaired_on_resume() {
    let (fake, ctx, wandb) = installed(values()).await;
    let paused = edited(&wandb, |w| w.spec.paused = true);
    let action = engine::reconcile(&paused, &ctx).await.expect("reconciled");
    assert_eq!(
        action,
        Action::await_change(),
        "a paused install is not requeued"
    );
    let requests = fake.take_requests();
    assert_eq!(
        requests,
        vec![Seen {
            method: Method::PATCH,
            path: format!("{RESOURCE}/status"),
            patch: "apply"
        }],
        "a pause writes its condition and nothing else"
    );
    let (is_paused, reason, message) = condition(&status(&fake), types::PAUSED);
    assert_eq!(
        (is_paused.as_str(), reason.as_str()),
        ("True", reasons::PAUSED)
    );
    assert!(message.contains("spec.paused"), "{message}");
    assert_eq!(condition(&status(&fake), types::READY).0, "True");

    // Someone deletes a Deployment by hand: nothing is read or written.
    let app = path_of_component(&wandb, "Deployment", "app");
    fake.state().objects.remove(&app);
    let paused = with_status(paused, &fake);
    engine::reconcile(&paused, &ctx).await.expect("reconciled");
    assert_eq!(fake.take_requests(), vec![], "requests while paused");
    assert!(fake.get(&app).is_none());

    // Resumed: the Deployment comes back.
    let resumed = edited(&paused, |w| w.spec.paused = false);
    engine::reconcile(&resumed, &ctx).await.expect("reconciled");
    assert_eq!(applied(&fake.take_requests()), vec![app.clone()]);
    assert!(fake.get(&app).is_some());
    assert_eq!(condition(&status(&fake), types::PAUSED).0, "False");
}

#[tokio::test]
async fn the_paused_annotation_pauses_as_the_spec_does() {
    let (fake, ctx, wandb) = installed(values()).await;
    let mut paused = wandb.clone();
    paused
        .metadata
        .annotations
        .get_or_insert_with(Default::default)
        .insert(
            wandb_operator_core::pause::PAUSED_ANNOTATION.into(),
            "true".into(),
        );
    let app = path_of_component(&wandb, "Deployment", "app");
    fake.state().objects.remove(&app);
    engine::reconcile(&paused, &ctx).await.expect("reconciled");
    assert!(applied(&fake.take_requests()).is_empty());
    let (is_paused, _, message) = condition(&status(&fake), types::PAUSED);
    assert_eq!(is_paused, "True");
    assert!(message.contains("apps.wandb.com/paused"), "{message}");
}

#[tokio::test]
async fn a_stopped_install_scales_the_services_to_zero_and_keeps_its_data() {
    let (fake, ctx, wandb) = installed(values()).await;
    let objects = desired(&wandb);
    let is_service = |o: &&DesiredObject| {
        o.kind == "Deployment"
            && wandb_render::Catalog::builtin()
                .unwrap()
                .service(&o.component)
                .is_some()
    };
    let services: Vec<&DesiredObject> = objects.iter().filter(is_service).collect();
    // The stores' exporters watch the stores, which keep running.
    let others: Vec<(String, Value)> = objects
        .iter()
        .filter(|o| o.kind == "Deployment" && !is_service(o))
        .map(|o| (path(o), fake.get(&path(o)).expect("a Deployment")))
        .collect();
    assert!(services.len() >= 4 && !others.is_empty(), "{services:?}");
    let autoscalers: BTreeSet<String> = objects
        .iter()
        .filter(|o| o.kind == "HorizontalPodAutoscaler")
        .map(path)
        .collect();
    assert!(
        !autoscalers.is_empty(),
        "the default install has autoscalers"
    );
    let data: Vec<(String, Value)> = fake
        .state()
        .objects
        .iter()
        .filter(|(p, _)| p.contains("/persistentvolumeclaims/") || p.contains("/secrets/"))
        .map(|(p, o)| (p.clone(), o.clone()))
        .collect();
    let stores: Vec<(String, Value)> = objects
        .iter()
        .filter(|o| o.stage == Stage::Stores)
        .map(|o| (path(o), fake.get(&path(o)).expect("a store")))
        .collect();

    let stopped = edited(&wandb, |w| w.spec.stopped = true);
    engine::reconcile(&stopped, &ctx).await.expect("reconciled");
    let requests = fake.take_requests();
    assert_eq!(
        deleted(&requests).into_iter().collect::<BTreeSet<_>>(),
        autoscalers,
        "the autoscalers are removed, and nothing else"
    );
    for o in &services {
        let live = fake.get(&path(o)).expect("the Deployment stays");
        assert_eq!(live["spec"]["replicas"], 0, "{}", o.key());
    }
    for (p, before) in stores.iter().chain(&others) {
        assert_eq!(fake.get(p).as_ref(), Some(before), "{p} changed");
    }
    for (p, before) in &data {
        assert_eq!(fake.get(p).as_ref(), Some(before), "{p} changed");
    }
    let (ready, reason, _) = condition(&status(&fake), types::READY);
    assert_eq!(
        (ready.as_str(), reason.as_str()),
        ("False", reasons::STOPPED)
    );

    // Started again: the values' replicas (an autoscaler's minimum, where
    // one has them) and the autoscalers are back.
    let started = edited(&with_status(stopped, &fake), |w| w.spec.stopped = false);
    engine::reconcile(&started, &ctx).await.expect("reconciled");
    fake.take_requests();
    let floors = wandb_operator_core::readiness::autoscaler_floors(
        objects.iter().map(|o| (o.kind.as_str(), &o.body)),
    );
    for o in &services {
        let live = fake.get(&path(o)).expect("the Deployment");
        let expected = o.body["spec"]["replicas"]
            .as_i64()
            .or_else(|| floors.get(&o.key()).copied())
            .expect("replicas or an autoscaler");
        assert_eq!(live["spec"]["replicas"], expected, "{}", o.key());
    }
    for p in &autoscalers {
        assert!(fake.get(p).is_some(), "{p} is not back");
    }
    assert_eq!(condition(&status(&fake), types::READY).0, "True");
}
