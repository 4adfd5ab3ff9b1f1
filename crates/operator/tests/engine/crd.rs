//! The CRD at the operator's start: applied once, then left alone while it
//! is what this operator would apply (its digest annotation says so).

use super::*;

const CRD: &str =
    "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/weightsandbiases.apps.wandb.com";

fn patches(requests: &[Seen]) -> usize {
    requests
        .iter()
        .filter(|r| r.method == Method::PATCH && r.path == CRD)
        .count()
}

#[tokio::test]
async fn the_crd_is_applied_once_and_not_again_while_it_is_the_same() {
    let fake = FakeApi::default();
    fake.state().ready_on_apply = true;
    let client = fake.client();

    controller::ensure_crd(&client).await.expect("applied");
    assert_eq!(
        patches(&fake.take_requests()),
        1,
        "the first start applies the CRD"
    );
    let digest = fake.get(CRD).expect("the CRD")["metadata"]["annotations"]
        [wandb_operator_core::crd::DIGEST_ANNOTATION]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        digest.starts_with("sha256:"),
        "no digest on the applied CRD: {digest:?}"
    );

    // A restart of the same operator: one read of the metadata, no apply.
    controller::ensure_crd(&client).await.expect("checked");
    let requests = fake.take_requests();
    assert_eq!(
        patches(&requests),
        0,
        "a restart applied the same CRD again: {requests:?}"
    );
    assert_eq!(requests.len(), 1, "{requests:?}");

    // Another operator's CRD (another digest, or none: the chart's crds/):
    // applied over.
    let mut other = fake.get(CRD).expect("the CRD");
    other["metadata"]["annotations"][wandb_operator_core::crd::DIGEST_ANNOTATION] =
        json!("sha256:0");
    fake.insert(CRD, other);
    controller::ensure_crd(&client).await.expect("applied");
    assert_eq!(
        patches(&fake.take_requests()),
        1,
        "another CRD was not applied over"
    );
    assert_eq!(
        fake.get(CRD).expect("the CRD")["metadata"]["annotations"]
            [wandb_operator_core::crd::DIGEST_ANNOTATION],
        json!(digest)
    );
}
