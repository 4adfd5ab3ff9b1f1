//! Pod volumes and container mounts: the catalog's volume groups, the CA
//! certificates every W&B pod mounts, and the catalog's own volumes.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    ConfigMapVolumeSource, EmptyDirVolumeSource, KeyToPath, SecretVolumeSource, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::overrides::UserContainer;
use super::{Build, non_empty_or};
use crate::catalog::{ContainerSpec, VolumeGroup};
use crate::context::Ctx;
use crate::k8s::{config_map_volume, empty_dir, mount};

impl Build<'_, '_> {
    /// Whether the pods mount the install-wide volumes (CA certificates):
    /// the catalog's choice unless `globalOptOut.volumes` says otherwise.
    fn global_volumes(&self) -> bool {
        match self.values.global_opt_out.volumes {
            Some(opt_out) => !opt_out,
            None => self.spec.global_volumes,
        }
    }

    pub(super) fn volume_mounts(
        &self,
        spec: &ContainerSpec,
        user: UserContainer,
    ) -> Vec<VolumeMount> {
        // The user's `volumeMounts` replace the catalog's own list.
        let own = user
            .over
            .and_then(|o| o.volume_mounts.as_deref())
            .unwrap_or(&spec.volume_mounts);
        let mut mounts = Vec::new();
        for group in &spec.volume_mount_groups {
            mounts.extend(group_mounts(self.ctx, *group));
        }
        if self.global_volumes() {
            mounts.extend(ca_cert_mounts(self.ctx));
        }
        for m in own {
            // A listed mount beats a group's at the same path (a volume may
            // be mounted at several).
            match mounts
                .iter_mut()
                .find(|x| x.name == m.name && x.mount_path == m.mount_path)
            {
                Some(x) => *x = m.clone(),
                None => mounts.push(m.clone()),
            }
        }
        mounts
    }

    pub(super) fn volumes(&self, local: &[Volume], groups: &[VolumeGroup]) -> Vec<Volume> {
        let mut volumes = Vec::new();
        for group in groups {
            volumes.extend(group_volumes(self.ctx, *group));
        }
        if self.global_volumes() {
            volumes.extend(ca_cert_volumes(self.ctx));
        }
        for v in local {
            let mut v = v.clone();
            if let Some(cm) = v.config_map.as_mut() {
                cm.name = self.ctx.expand(&cm.name);
            }
            if let Some(s) = v.secret.as_mut() {
                s.secret_name = s.secret_name.as_ref().map(|n| self.ctx.expand(n));
            }
            // An empty medium is the default, which the API server leaves out.
            if let Some(e) = v.empty_dir.as_mut() {
                e.medium = e.medium.take().filter(|m| !m.is_empty());
            }
            // A listed volume beats a catalog group's of the same name, in
            // its place (upstream lists some of those volumes in its values).
            match volumes.iter_mut().find(|x| x.name == v.name) {
                Some(x) => *x = v,
                None => volumes.push(v),
            }
        }
        volumes
    }
}

/// The CA certificate volumes every W&B pod mounts.
pub fn ca_cert_volumes(ctx: &Ctx) -> Vec<Volume> {
    let g = &ctx.values.global;
    let mut out = vec![
        empty_dir("wandb-ca-certs-root"),
        config_map_volume("wandb-ca-certs", &ctx.name("ca-certs"), None, false),
        config_map_volume(
            "wandb-ca-certs-user",
            &non_empty_or(&g.ca_certs_config_map, "noCertProvided"),
            None,
            true,
        ),
        Volume {
            name: "redis-ca".into(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(ctx.redis_secret()),
                items: Some(vec![KeyToPath {
                    key: "REDIS_CA_CERT".into(),
                    path: "redis_ca.pem".into(),
                    mode: None,
                }]),
                optional: Some(true),
                default_mode: None,
            }),
            ..Default::default()
        },
    ];
    if ctx.mysql_has_ca() {
        out.push(mysql_ca_volume(ctx));
    }
    out
}

/// The MySQL CA certificate: from the Secret or ConfigMap the values name,
/// or the install's own Secret when the values give the certificate itself.
fn mysql_ca_volume(ctx: &Ctx) -> Volume {
    let file = ctx.mysql_ca_file();
    let item = |key: String| {
        Some(vec![KeyToPath {
            key,
            path: file.clone(),
            mode: None,
        }])
    };
    match &ctx.values.global.mysql.ca_cert {
        wandb_values::ValueOrRef::Ref { value_from } => {
            if let Some(r) = &value_from.config_map_key_ref {
                Volume {
                    name: "mysql-ca".into(),
                    config_map: Some(ConfigMapVolumeSource {
                        name: r.name.clone(),
                        items: item(r.key.clone()),
                        ..Default::default()
                    }),
                    ..Default::default()
                }
            } else {
                let r = value_from.secret_key_ref.clone().unwrap_or_default();
                Volume {
                    name: "mysql-ca".into(),
                    secret: Some(SecretVolumeSource {
                        secret_name: Some(r.name),
                        items: item(r.key),
                        ..Default::default()
                    }),
                    ..Default::default()
                }
            }
        }
        wandb_values::ValueOrRef::Value(_) => Volume {
            name: "mysql-ca".into(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(ctx.name("mysql-ca-cert")),
                items: item("MYSQL_CA_CERT".into()),
                ..Default::default()
            }),
            ..Default::default()
        },
    }
}

/// Where every W&B container mounts the CA certificate volumes.
pub fn ca_cert_mounts(ctx: &Ctx) -> Vec<VolumeMount> {
    let mut out = vec![
        mount(
            "wandb-ca-certs-root",
            "/usr/local/share/ca-certificates/",
            None,
        ),
        mount(
            "wandb-ca-certs",
            "/usr/local/share/ca-certificates/inline",
            None,
        ),
        mount(
            "wandb-ca-certs-user",
            "/usr/local/share/ca-certificates/configmap",
            None,
        ),
        mount(
            "redis-ca",
            "/etc/ssl/certs/redis_ca.pem",
            Some("redis_ca.pem"),
        ),
    ];
    if ctx.mysql_has_ca() {
        let file = ctx.mysql_ca_file();
        out.push(mount(
            "mysql-ca",
            &format!("/etc/ssl/certs/{file}"),
            Some(&file),
        ));
    }
    out
}

fn group_volumes(ctx: &Ctx, group: VolumeGroup) -> Vec<Volume> {
    let g = &ctx.values.global;
    match group {
        VolumeGroup::InternalSigner if g.local_service.bypass => vec![Volume {
            name: "wandb-internal-signer-root".into(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(ctx.name("internal-signer")),
                ..Default::default()
            }),
            ..Default::default()
        }],
        VolumeGroup::GcsFuse if ctx.values.parquet.fuse.enabled => {
            let b = ctx.bucket();
            if b.provider == "gcs" && g.cloud_provider == "gcp" {
                let attrs = BTreeMap::from([
                    ("bucketName".to_string(), b.name.clone()),
                    ("mountOptions".to_string(), "implicit-dirs,file-cache:enable-parallel-downloads:true,metadata-cache:stat-cache-max-size-mb:-1,metadata-cache:type-cache-max-size-mb:-1,file-system:kernel-list-cache-ttl-secs:-1,metadata-cache:ttl-secs:-1".to_string()),
                    ("fileCacheCapacity".to_string(), ctx.values.parquet.fuse.file_cache_capacity.to_string()),
                    ("fileCacheForRangeRead".to_string(), "true".to_string()),
                    ("gcsfuseMetadataPrefetchOnMount".to_string(), "true".to_string()),
                ]);
                vec![Volume {
                    name: "fuse".into(),
                    csi: Some(k8s_openapi::api::core::v1::CSIVolumeSource {
                        driver: "gcsfuse.csi.storage.gke.io".into(),
                        read_only: Some(true),
                        volume_attributes: Some(attrs),
                        ..Default::default()
                    }),
                    ..Default::default()
                }]
            } else {
                vec![empty_dir("fuse")]
            }
        }
        VolumeGroup::LumenStaging => vec![empty_dir("lumen-staging-dir")],
        VolumeGroup::LumenWif if !g.lumen.gcp_workload_identity.audience.is_empty() => vec![
            Volume {
                name: "gcp-ksa".into(),
                projected: Some(k8s_openapi::api::core::v1::ProjectedVolumeSource {
                    sources: Some(vec![k8s_openapi::api::core::v1::VolumeProjection {
                        service_account_token: Some(
                            k8s_openapi::api::core::v1::ServiceAccountTokenProjection {
                                path: "token".into(),
                                expiration_seconds: Some(3600),
                                audience: Some(g.lumen.gcp_workload_identity.audience.clone()),
                            },
                        ),
                        ..Default::default()
                    }]),
                    default_mode: None,
                }),
                ..Default::default()
            },
            config_map_volume("gcp-wif-config", &ctx.name("lumen-gcp-wif"), None, false),
        ],
        VolumeGroup::LumenRules => vec![config_map_volume(
            "lumen-managed-install",
            &ctx.name("lumen-rules"),
            None,
            false,
        )],
        VolumeGroup::WeaveCache => {
            let c = &ctx.values.weave.cache;
            vec![Volume {
                name: "cache".into(),
                empty_dir: Some(EmptyDirVolumeSource {
                    medium: (!c.medium.is_empty()).then(|| c.medium.clone()),
                    size_limit: (!c.size.is_empty()).then(|| Quantity(c.size.to_string())),
                }),
                ..Default::default()
            }]
        }
        _ => vec![],
    }
}

fn group_mounts(ctx: &Ctx, group: VolumeGroup) -> Vec<VolumeMount> {
    let g = &ctx.values.global;
    match group {
        VolumeGroup::InternalSigner if g.local_service.bypass => {
            vec![mount("wandb-internal-signer-root", "/vol/env", None)]
        }
        VolumeGroup::GcsFuse if ctx.values.parquet.fuse.enabled => {
            vec![mount("fuse", &format!("/{}", ctx.bucket().name), None)]
        }
        VolumeGroup::LumenStaging => vec![mount("lumen-staging-dir", "/vol/staging", None)],
        VolumeGroup::LumenWif if !g.lumen.gcp_workload_identity.audience.is_empty() => vec![
            VolumeMount {
                read_only: Some(true),
                ..mount("gcp-ksa", "/var/run/secrets/tokens/gcp-ksa", None)
            },
            VolumeMount {
                read_only: Some(true),
                ..mount("gcp-wif-config", "/var/secrets/gcp", None)
            },
        ],
        VolumeGroup::LumenRules => vec![VolumeMount {
            read_only: Some(true),
            ..mount(
                "lumen-managed-install",
                "/app/definitions/collector/managed-install.yaml",
                Some("managed-install.yaml"),
            )
        }],
        _ => vec![],
    }
}
