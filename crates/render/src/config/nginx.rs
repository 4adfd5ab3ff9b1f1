//! The nginx front proxy: which paths go to which service.

use crate::context::Ctx;
use crate::objects::Manifest;

use super::config_map;

pub(super) fn nginx(ctx: &Ctx) -> Vec<Manifest> {
    vec![config_map(
        ctx,
        "nginx",
        "nginx-configmap",
        vec![("nginx.conf", nginx_conf(ctx))],
    )]
}

/// The nginx front proxy's configuration.
fn nginx_conf(ctx: &Ctx) -> String {
    let v = ctx.values;
    let g = &v.global;
    let root = if v.frontend.install == Some(true) {
        format!("http://{}:8080", ctx.name("frontend"))
    } else {
        format!("http://{}:8080", ctx.name("app"))
    };
    let mut locations: Vec<(String, String, Vec<String>)> = vec![
        ("/".into(), root, vec![]),
        (
            "/console".into(),
            format!("http://{}:8082", ctx.name("console")),
            vec![],
        ),
    ];
    if g.api.enabled {
        let api = format!("http://{}:8081", ctx.name("api"));
        for path in api_paths(ctx) {
            locations.push((path.to_string(), api.clone(), vec![]));
        }
    }
    if v.weave_trace.install == Some(true) {
        locations.push((
            "/traces".into(),
            format!("http://{}:8722", ctx.name("weave-trace")),
            vec![],
        ));
    }
    if v.mcp_server.base.install == Some(true) {
        // Streaming: the proxy_pass line comes first here, as upstream's.
        let mut lines = vec![format!("proxy_pass http://{}:8080", ctx.name("mcp-server"))];
        lines.extend(
            [
                "proxy_buffering off",
                "proxy_cache off",
                "proxy_read_timeout 86400s",
                "proxy_set_header Connection ''",
                "proxy_http_version 1.1",
                "chunked_transfer_encoding off",
            ]
            .map(String::from),
        );
        locations.push(("/mcp".into(), String::new(), lines));
    }
    for (path, upstream) in &v.nginx.additional_services {
        let headers = upstream
            .headers
            .iter()
            .map(|(h, val)| format!("proxy_set_header {h} {val}"))
            .collect();
        locations.push((format!("/{path}"), upstream.host.clone(), headers));
    }
    let mut conf = String::from(
        "worker_processes  auto;\n\nerror_log  /var/log/nginx/error.log notice;\npid        /tmp/nginx.pid;\n\n\
         events {\n    worker_connections  1024;\n}\n\nhttp {\n  server {\n    listen 8080;\n    \
         proxy_set_header Host $host:8080;\n    client_max_body_size 0;\n",
    );
    for (path, upstream, extra) in locations {
        conf.push_str(&format!("    location {path} {{\n"));
        for line in extra {
            conf.push_str(&format!("      {line};\n"));
        }
        // An empty upstream: the lines carry their own proxy_pass.
        if !upstream.is_empty() {
            conf.push_str(&format!("      proxy_pass {upstream};\n"));
        }
        conf.push_str("    }\n");
    }
    conf.push_str("  }\n}\n");
    conf
}

/// Paths routed to the api service when it runs.
pub fn api_paths(ctx: &Ctx) -> Vec<&'static str> {
    let p = &ctx.values.global.api.additional_paths;
    let mut paths = vec!["/api", "/graphql", "/graphql2"];
    for (on, list) in [
        (p.analytics, &["/analytics"][..]),
        (p.oidc, &["/oidc"][..]),
        (p.proxy, &["/proxy"][..]),
        (p.files, &["/files"][..]),
        (p.debug, &["/debug"][..]),
        (p.service_redirect, &["/service-redirect"][..]),
        (p.service_dangerzone, &["/service-dangerzone"][..]),
        (p.scim, &["/scim"][..]),
        (p.admin, &["/admin/audit_logs"][..]),
        (p.artifacts, &["/artifacts", "/artifactsV2"][..]),
    ] {
        if on {
            paths.extend_from_slice(list);
        }
    }
    paths
}
