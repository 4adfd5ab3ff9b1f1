//! The nginx front proxy's configuration: the document's routes, in nginx's
//! order of their groups, then the user's `nginx.additionalServices`.

use crate::context::Ctx;
use crate::objects::Manifest;

use super::config_map;

/// The front proxy's configuration, when the document routes through one.
pub(super) fn nginx(ctx: &Ctx) -> Vec<Manifest> {
    if ctx.catalog.routes.nginx.order.is_empty() {
        return Vec::new();
    }
    vec![config_map(
        ctx,
        "nginx",
        "nginx-configmap",
        vec![("nginx.conf", nginx_conf(ctx))],
    )]
}

/// A `location` block: lines before `proxy_pass`, the upstream (none when
/// empty), lines after.
struct Location {
    path: String,
    before: Vec<String>,
    upstream: String,
    after: Vec<String>,
}

/// The nginx front proxy's configuration.
fn nginx_conf(ctx: &Ctx) -> String {
    let routes = &ctx.catalog.routes;
    let mut locations: Vec<Location> = ctx
        .routes_in_order(&routes.nginx.order, false)
        .into_iter()
        .map(|(route, service)| Location {
            path: route.path.clone(),
            before: Vec::new(),
            upstream: format!("http://{service}:{}", route.port),
            after: route.nginx_lines.clone(),
        })
        .collect();
    for (path, upstream) in &ctx.values.nginx.additional_services {
        locations.push(Location {
            path: format!("/{path}"),
            before: upstream
                .headers
                .iter()
                .map(|(h, val)| format!("proxy_set_header {h} {val}"))
                .collect(),
            upstream: upstream.host.clone(),
            after: Vec::new(),
        });
    }
    let mut conf = routes.nginx.header.clone();
    for l in locations {
        conf.push_str(&format!("    location {} {{\n", l.path));
        for line in &l.before {
            conf.push_str(&format!("      {line};\n"));
        }
        if !l.upstream.is_empty() {
            conf.push_str(&format!("      proxy_pass {};\n", l.upstream));
        }
        for line in &l.after {
            conf.push_str(&format!("      {line};\n"));
        }
        conf.push_str("    }\n");
    }
    conf.push_str(&routes.nginx.footer);
    conf
}
