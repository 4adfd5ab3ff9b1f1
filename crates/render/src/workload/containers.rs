//! A container of a service's pod: image, ports, resources, security
//! context and the user's overrides.

use k8s_openapi::api::core::v1::{Container, ContainerPort, ResourceRequirements};
use wandb_values::Image;
use wandb_values::tpls::{self, Entry};

use super::overrides::{UserContainer, overlay_json, override_container};
use super::sizing::{empty_resources, merge_resources};
use super::{Build, container_security_context, non_empty_or};
use crate::catalog::{ContainerSpec, PortGroup};

impl Build<'_, '_> {
    /// The container's image: the catalog's or the service's, with the
    /// fields a job's container sets laid over it.
    fn image(&self, container: &ContainerSpec, user: UserContainer) -> Image {
        let mut image = container
            .image
            .clone()
            .unwrap_or_else(|| self.values.image.clone());
        if let Some(top) = user.job.map(|j| &j.image) {
            for (field, value) in [
                (&mut image.repository, &top.repository),
                (&mut image.tag, &top.tag),
                (&mut image.digest, &top.digest),
                (&mut image.pull_policy, &top.pull_policy),
            ] {
                if !value.is_empty() {
                    field.clone_from(value);
                }
            }
        }
        image
    }

    /// Resources of a main container: the user's per-container and
    /// per-service settings over the catalog's over the size preset.
    fn resources(
        &self,
        container: &ContainerSpec,
        main: bool,
        user: UserContainer,
    ) -> Option<ResourceRequirements> {
        if !main {
            return empty_resources(&container.resources);
        }
        let mut r = merge_resources(self.sizing.resources.as_ref(), container.resources.as_ref());
        r = merge_resources(r.as_ref(), self.values.resources.as_ref());
        if let Some(over) = user.over {
            r = merge_resources(r.as_ref(), over.resources.as_ref());
        }
        empty_resources(&r)
    }

    /// The catalog's ports, then its port groups or, in their place, the
    /// user's `portsTpls`.
    fn ports(&self, spec: &ContainerSpec, user: UserContainer) -> Vec<ContainerPort> {
        let own = user.over.and_then(|c| c.ports.as_ref());
        let mut ports: Vec<ContainerPort> = own.unwrap_or(&spec.ports).clone();
        let tpls = user.over.and_then(|c| c.ports_tpls.as_ref());
        let Some(tpls) = tpls else {
            for group in &spec.port_groups {
                match group {
                    PortGroup::Lumen => ports.push(lumen_port()),
                }
            }
            return ports;
        };
        for text in tpls {
            // A bad entry was refused with the values.
            match tpls::ports_entry(&self.ctx.expand(text)) {
                Ok(Entry::Helper(tpls::LUMEN_PORT)) => ports.push(lumen_port()),
                Ok(Entry::Value(more)) => ports.extend(more),
                Ok(Entry::Helper(_)) | Err(_) => {}
            }
        }
        ports
    }

    pub(super) fn container(
        &self,
        name: &str,
        spec: &ContainerSpec,
        main: bool,
        user: UserContainer,
    ) -> Container {
        let ports = self.ports(spec, user);
        let env = self.env(spec, main, user);
        let env_from = self.env_from(spec, user);
        let mut security = container_security_context();
        for over in [
            spec.security_context.as_ref(),
            self.values.security_context.as_ref(),
        ]
        .into_iter()
        .flatten()
        {
            overlay_json(&mut security, over);
        }
        let image = self.image(spec, user);
        let pull_policy = non_empty_or(&image.pull_policy, &self.values.image.pull_policy);
        let mut container = Container {
            name: name.to_string(),
            image: Some(self.ctx.wandb_image(&image)),
            image_pull_policy: Some(non_empty_or(&pull_policy, "IfNotPresent")),
            command: spec.command.clone(),
            args: spec.args.clone(),
            env: (!env.is_empty()).then_some(env),
            env_from: (!env_from.is_empty()).then_some(env_from),
            ports: (!ports.is_empty()).then_some(ports),
            liveness_probe: spec.liveness_probe.clone(),
            readiness_probe: spec.readiness_probe.clone(),
            startup_probe: spec.startup_probe.clone(),
            lifecycle: spec.lifecycle.clone(),
            resources: self.resources(spec, main, user),
            security_context: Some(security),
            volume_mounts: Some(self.volume_mounts(spec, user)).filter(|m| !m.is_empty()),
            ..Default::default()
        };
        if let Some(over) = user.over {
            override_container(&mut container, over);
        }
        container
    }
}

/// The lumen agent's pull port.
fn lumen_port() -> ContainerPort {
    ContainerPort {
        name: Some("lumen".into()),
        container_port: 16060,
        protocol: Some("TCP".into()),
        ..Default::default()
    }
}
