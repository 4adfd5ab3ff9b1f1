//! The stores' values: upstream's keys are known, bad ones are errors naming
//! the key, and a Bitnami `master`/`controller` block beats the top level.

use wandb_render::builtin::load;
use wandb_values::{Loaded, Problem, Source, Store};

use wandb_values::NoFiles;

fn load_yaml(yaml: &str) -> Result<Loaded, Vec<Problem>> {
    let source = Source::Inline {
        name: "test.yaml".into(),
        yaml: yaml.into(),
    };
    load(&[source], &mut NoFiles)
}

fn error_paths(yaml: &str) -> Vec<String> {
    match load_yaml(yaml) {
        Ok(_) => panic!("{yaml} loaded"),
        Err(problems) => problems.into_iter().map(|p| p.path).collect(),
    }
}

#[test]
fn upstreams_store_keys_are_known() {
    // Keys of upstream's values.yaml (its `{{ include }}` defaults too) and
    // keys users set on its subcharts.
    let loaded = load_yaml(
        "bufstream:\n  install: true\n  zone: a\n  storage:\n    use: '{{ (include \"wandb.bucket\" . | fromYaml).provider }}'\n    \
         s3:\n      bucket: '{{ include \"wandb.bufstream.bucket.name\" . }}'\n  metadata:\n    use: etcd\n    etcd:\n      \
         addresses:\n        - host: \"{{ .Release.Name }}-etcd.{{ .Release.Namespace }}.svc.cluster.local\"\n          port: 2379\n  \
         bufstream:\n    deployment:\n      resources:\n        requests:\n          cpu: \"1\"\n\
         etcd:\n  autoCompactionMode: periodic\n  extraEnvVars:\n    - name: A\n      value: b\n\
         mysql:\n  priorityClassName: pc\n  extraEnv:\n    A: b\n  persistence:\n    existingClaim: mine\n\
         redis:\n  auth:\n    enabled: true\n  master:\n    nodeSelector:\n      a: b\n    podLabels:\n      a: b\n\
         kafka:\n  kraft:\n    clusterId: x\n  controller:\n    tolerations: []\n\
         clickhouse:\n  shards: 2\n  persistentVolumeClaimRetentionPolicy:\n    enabled: false\n",
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    assert_eq!(loaded.values.bufstream.zone, "a");
    assert_eq!(loaded.values.clickhouse.shards, Some(2));
}

#[test]
fn bad_store_values_name_their_key() {
    assert!(
        error_paths("bufstream:\n  bufstream:\n    deployment:\n      replicaCount: -1\n")
            .contains(&"bufstream.bufstream.deployment.replicaCount".to_string())
    );
    assert!(
        error_paths("redis:\n  master:\n    replicaCount: -2\n")
            .contains(&"redis.master.replicaCount".to_string())
    );
    assert!(
        error_paths("bufstream:\n  kafka:\n    numPartitions: many\n")
            .contains(&"bufstream.kafka.numPartitions".to_string())
    );
}

#[test]
fn a_master_block_beats_the_top_level_and_keeps_the_rest() {
    let loaded = load_yaml(
        "redis:\n  priorityClassName: top\n  nodeSelector:\n    pool: top\n  podLabels:\n    a: top\n    b: top\n\
         \x20 master:\n    nodeSelector:\n      pool: master\n    podLabels:\n      b: master\n",
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    let r = &loaded.values.redis;
    let merged: Store = r.master.over(&r.base);
    assert_eq!(merged.node_selector["pool"], "master");
    assert_eq!(merged.priority_class_name, "top");
    assert_eq!(merged.pod_labels["a"], "top");
    assert_eq!(merged.pod_labels["b"], "master");
    assert_eq!(merged.image.base.repository, "bitnamilegacy/redis");
}
