//! Two values files in block style joined into one, comments kept: the
//! chart's values.yaml is the chart's own defaults with the built-in release
//! document's values laid over them (a key of both is merged; a key of the
//! document alone is added where the document has it).

/// A key of a block-style YAML map: its line, the comments and blank lines
/// before it, and what it holds (its own keys, or lines taken as they are).
#[derive(Debug, Clone, PartialEq)]
struct Node {
    before: Vec<String>,
    line: String,
    body: Body,
}

#[derive(Debug, Clone, PartialEq)]
enum Body {
    Keys(Vec<Node>),
    Lines(Vec<String>),
}

/// `bottom` with `top` laid over it.
pub fn merge(bottom: &str, top: &str) -> String {
    let lines = |t: &str| t.lines().map(str::to_string).collect::<Vec<_>>();
    let (mut merged, tail) = parse(&lines(bottom), 0);
    let (over, over_tail) = parse(&lines(top), 0);
    lay(&mut merged, over);
    let mut out = Vec::new();
    write(&merged, &mut out);
    out.extend(tail);
    out.extend(over_tail);
    let mut text = out.join("\n");
    text.push('\n');
    text
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

fn is_key(line: &str) -> bool {
    let t = line.trim_start();
    !t.starts_with('#') && !t.starts_with('-') && t.contains(':')
}

fn key(line: &str) -> &str {
    line.trim_start().split(':').next().unwrap_or_default()
}

/// The keys at `depth` of `lines`, and the comments after the last one.
fn parse(lines: &[String], depth: usize) -> (Vec<Node>, Vec<String>) {
    let mut nodes = Vec::new();
    let mut before = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = &lines[i];
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            before.push(line.clone());
            i += 1;
            continue;
        }
        let end = (i + 1..lines.len())
            .find(|&j| {
                let l = &lines[j];
                !l.trim().is_empty() && !l.trim_start().starts_with('#') && indent(l) <= depth
            })
            .unwrap_or(lines.len());
        // Comments right before the next key are that key's.
        let mut body_end = end;
        while body_end > i + 1 && end < lines.len() {
            let l = &lines[body_end - 1];
            if l.trim().is_empty() || (l.trim_start().starts_with('#') && indent(l) <= depth) {
                body_end -= 1;
            } else {
                break;
            }
        }
        let inner = &lines[i + 1..body_end];
        let child_depth = inner
            .iter()
            .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
            .map(|l| indent(l));
        let body = match child_depth {
            Some(d)
                if d > depth
                    && inner
                        .iter()
                        .filter(|l| {
                            !l.trim().is_empty()
                                && indent(l) == d
                                && !l.trim_start().starts_with('#')
                        })
                        .all(|l| is_key(l)) =>
            {
                let (keys, tail) = parse(inner, d);
                let mut keys = keys;
                if !tail.is_empty() {
                    keys.push(Node {
                        before: tail,
                        line: String::new(),
                        body: Body::Lines(Vec::new()),
                    });
                }
                Body::Keys(keys)
            }
            _ => Body::Lines(inner.to_vec()),
        };
        nodes.push(Node {
            before: std::mem::take(&mut before),
            line: line.clone(),
            body,
        });
        i = body_end;
    }
    (nodes, before)
}

/// Lays `over`'s keys over `nodes`': a key of both with keys of its own on
/// both sides is merged, any other key of `over` replaces or joins.
fn lay(nodes: &mut Vec<Node>, over: Vec<Node>) {
    for o in over {
        if o.line.is_empty() {
            nodes.push(o);
            continue;
        }
        match nodes
            .iter_mut()
            .find(|n| !n.line.is_empty() && key(&n.line) == key(&o.line))
        {
            Some(n) => match (&mut n.body, o.body) {
                (Body::Keys(mine), Body::Keys(theirs)) => lay(mine, theirs),
                (_, theirs) => {
                    n.line = o.line;
                    n.body = theirs;
                }
            },
            None => nodes.push(o),
        }
    }
}

fn write(nodes: &[Node], out: &mut Vec<String>) {
    for n in nodes {
        out.extend(n.before.iter().cloned());
        if !n.line.is_empty() {
            out.push(n.line.clone());
        }
        match &n.body {
            Body::Keys(keys) => write(keys, out),
            Body::Lines(lines) => out.extend(lines.iter().cloned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_of_both_merge_and_comments_stay() {
        let bottom = "# the stores\nmysql:\n  install: true\n  # how much\n  persistence:\n    size: 20Gi\nredis:\n  install: true\n";
        let top = "# W&B\napp:\n  install: true\n# images\nmysql:\n  image:\n    repository: mysql\n    tag: \"8.0\"\n";
        let merged = merge(bottom, top);
        assert_eq!(
            merged,
            "# the stores\nmysql:\n  install: true\n  # how much\n  persistence:\n    size: 20Gi\n  image:\n    repository: mysql\n    tag: \"8.0\"\nredis:\n  install: true\n# W&B\napp:\n  install: true\n"
        );
        let a: serde_json::Value = serde_saphyr::from_str(&merged).unwrap();
        assert_eq!(a["mysql"]["image"]["tag"], "8.0");
        assert_eq!(a["mysql"]["persistence"]["size"], "20Gi");
    }
}
