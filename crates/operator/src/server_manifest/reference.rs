//! `<repository>:<version>`: where a server manifest is pulled from.

use super::http::{is_loopback, split_host_port};

/// A server manifest's place in an OCI registry.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Reference {
    /// The repository as the values give it (what messages show).
    pub repository: String,
    /// The registry's host (and port): `us-docker.pkg.dev`.
    pub registry: String,
    /// The repository within the registry: `wandb-production/public/wandb/server-manifest`.
    pub name: String,
    pub tag: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    #[error("{0:?} is not a version (letters, digits, `.`, `_`, `-`; at most 128)")]
    Tag(String),
    #[error("{0:?} is not an OCI repository (`registry.example.com/path/name`)")]
    Repository(String),
}

impl Reference {
    pub fn new(repository: &str, version: &str) -> Result<Reference, ReferenceError> {
        let valid_tag = !version.is_empty()
            && version.len() <= 128
            && !version.starts_with(['.', '-'])
            && version
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !valid_tag {
            return Err(ReferenceError::Tag(version.to_string()));
        }
        let bad = || ReferenceError::Repository(repository.to_string());
        let trimmed = repository
            .trim_start_matches("oci://")
            .trim_end_matches('/');
        let (first, rest) = trimmed.split_once('/').ok_or_else(bad)?;
        // As Docker reads a reference: the first part is a registry when it
        // has a dot or a port, or is localhost.
        let (registry, name) =
            if first.contains(['.', ':']) || first == "localhost" || first.starts_with('[') {
                (first.to_string(), rest.to_string())
            } else {
                ("registry-1.docker.io".to_string(), trimmed.to_string())
            };
        let name_ok = !name.is_empty()
            && name.split('/').all(|part| {
                !part.is_empty()
                    && part.chars().all(|c| {
                        c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
                    })
            });
        if !name_ok || split_host_port(&registry).is_none() {
            return Err(bad());
        }
        Ok(Reference {
            repository: repository.to_string(),
            registry,
            name,
            tag: version.to_string(),
        })
    }

    /// The registry's base URL: HTTPS, or plain HTTP on loopback (tests).
    pub fn base_url(&self) -> String {
        let host = split_host_port(&self.registry)
            .map(|(h, _)| h)
            .unwrap_or_default();
        let scheme = if is_loopback(&host) { "http" } else { "https" };
        format!("{scheme}://{}", self.registry)
    }
}

impl std::fmt::Display for Reference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.repository, self.tag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn w_and_b_s_repository_and_a_version() {
        let r = Reference::new(
            "us-docker.pkg.dev/wandb-production/public/wandb/server-manifest",
            "0.84.0",
        )
        .unwrap();
        assert_eq!(r.registry, "us-docker.pkg.dev");
        assert_eq!(r.name, "wandb-production/public/wandb/server-manifest");
        assert_eq!(r.base_url(), "https://us-docker.pkg.dev");
        assert_eq!(
            r.to_string(),
            "us-docker.pkg.dev/wandb-production/public/wandb/server-manifest:0.84.0"
        );
    }

    #[test]
    fn loopback_registries_are_plain_http_and_bare_names_docker_hub() {
        let r = Reference::new("127.0.0.1:5000/wandb/server-manifest", "0.83.0").unwrap();
        assert_eq!(r.base_url(), "http://127.0.0.1:5000");
        let r = Reference::new("wandb/server-manifest", "1").unwrap();
        assert_eq!(
            (r.registry.as_str(), r.name.as_str()),
            ("registry-1.docker.io", "wandb/server-manifest")
        );
    }

    #[test]
    fn bad_versions_and_repositories_are_refused() {
        let repo = "registry.example.com/wandb/server-manifest";
        for tag in ["", "../x", "0.84.0/x", "-x", "a b"] {
            assert_eq!(
                Reference::new(repo, tag),
                Err(ReferenceError::Tag(tag.into())),
                "{tag:?}"
            );
        }
        for repo in [
            "",
            "registry.example.com",
            "registry.example.com/Upper",
            "a//b",
        ] {
            assert!(Reference::new(repo, "1").is_err(), "{repo:?}");
        }
    }
}
