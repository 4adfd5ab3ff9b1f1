//! The routes into W&B: one list, from which both the nginx front proxy's
//! configuration and the Ingress paths are written.

use serde::Deserialize;

use super::condition::Condition;
use super::source::Source;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Routes {
    pub nginx: Nginx,
    /// The Ingress's paths: the routes of each group, in this order.
    #[serde(default)]
    pub ingress_order: Vec<String>,
    #[serde(default)]
    pub list: Vec<Route>,
}

/// The nginx front proxy's configuration around its `location` blocks.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Nginx {
    /// Before the locations.
    #[serde(default)]
    pub header: String,
    /// After them.
    #[serde(default)]
    pub footer: String,
    /// The locations: the routes of each group, in this order (the user's
    /// `nginx.additionalServices` after them).
    #[serde(default)]
    pub order: Vec<String>,
}

/// A path and the Service that serves it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Route {
    /// What an Ingress's `defaultBackend` may name to send `/` here.
    pub name: Option<String>,
    /// Its group, as `nginx.order` and `ingressOrder` name it.
    pub group: String,
    pub path: String,
    /// The Service's name.
    pub service: Source,
    pub port: i32,
    /// Routed only when this holds.
    pub when: Option<Condition>,
    /// nginx directives after `proxy_pass` (a streaming route's).
    #[serde(default)]
    pub nginx_lines: Vec<String>,
    /// On the primary Ingress only, not its secondary twin.
    #[serde(default)]
    pub primary_ingress_only: bool,
}
