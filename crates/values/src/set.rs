//! `--set` and its siblings, with Helm's syntax and type inference.
//!
//! `a.b=c,d[0].e=f,g={x,y}`; `\` escapes the next character (`a\.b=c` sets
//! the key `a.b`); `--set` infers booleans, integers and `null` the way Helm
//! does; `--set-string` keeps strings; `--set-file` reads the value from a
//! file; `--set-json` takes JSON values; `--set-literal` takes the rest of the
//! flag verbatim.

use serde_json::{Map, Number, Value};

/// Helm refuses list indexes above this, so a typo cannot allocate gigabytes.
pub const MAX_LIST_INDEX: usize = 65_536;

/// One flag may grow lists by at most this many entries in all (`a[65536]=1`
/// adds 65,537), so that many large indexes cannot allocate gigabytes either.
pub const MAX_LIST_GROWTH: usize = 4 * (MAX_LIST_INDEX + 1);

/// A key path has at most this many segments (`a.b[0]` has three): the
/// values nest no deeper than a values file may.
pub const MAX_KEY_SEGMENTS: usize = crate::load::MAX_DEPTH;

/// How the value part of an assignment is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetKind {
    /// `--set`: `true`/`false`/`null`/integers become typed; `{a,b}` is a list.
    Typed,
    /// `--set-string`: every value stays a string.
    String,
    /// `--set-file`: the value names a file whose contents become the value.
    File,
    /// `--set-json`: the value is JSON.
    Json,
    /// `--set-literal`: one key, and everything after the first `=` is the value.
    Literal,
}

impl SetKind {
    pub fn flag(self) -> &'static str {
        match self {
            SetKind::Typed => "--set",
            SetKind::String => "--set-string",
            SetKind::File => "--set-file",
            SetKind::Json => "--set-json",
            SetKind::Literal => "--set-literal",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{flag} {arg:?}: {message}")]
pub struct SetError {
    pub flag: &'static str,
    pub arg: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Key(String),
    Index(usize),
}

/// Applies one flag's assignments to `dest`. `read_file` is used only for
/// `--set-file`, so that parsing stays free of I/O and testable.
pub fn apply(
    kind: SetKind,
    arg: &str,
    dest: &mut Value,
    read_file: &mut dyn FnMut(&str) -> Result<String, String>,
) -> Result<(), SetError> {
    let err = |message: String| SetError {
        flag: kind.flag(),
        arg: arg.to_string(),
        message,
    };
    let mut parser = Parser {
        text: arg,
        chars: arg.chars().collect(),
        offsets: arg.char_indices().map(|(offset, _)| offset).collect(),
        pos: 0,
    };
    let mut growth_left = MAX_LIST_GROWTH;
    if parser.chars.is_empty() {
        return Err(err("expected key=value, found nothing".into()));
    }
    loop {
        let path = parser.key_path().map_err(err)?;
        if path.len() > MAX_KEY_SEGMENTS {
            return Err(err(format!(
                "key {:?} nests {} levels deep, more than the {MAX_KEY_SEGMENTS} allowed",
                crate::one_line(&display_path(&path, ""), 60),
                path.len()
            )));
        }
        let value = match kind {
            SetKind::Literal => Value::String(parser.rest()),
            SetKind::Json => parser.json_value().map_err(err)?,
            SetKind::Typed | SetKind::String => parser.plain_value(kind).map_err(err)?,
            SetKind::File => {
                let file = parser.scalar_text();
                Value::String(read_file(&file).map_err(err)?)
            }
        };
        set_path(dest, &path, value, &mut growth_left).map_err(err)?;
        if parser.at_end() {
            return Ok(());
        }
        // Only a ',' can end a value before the end of the flag.
        parser.pos += 1;
        if parser.at_end() {
            return Ok(());
        }
    }
}

struct Parser<'a> {
    text: &'a str,
    chars: Vec<char>,
    /// Byte offset in `text` of each of `chars`.
    offsets: Vec<usize>,
    pos: usize,
}

impl Parser<'_> {
    fn at_end(&self) -> bool {
        self.pos >= self.chars.len()
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    /// Reads `a.b[0].c` up to and including the `=`.
    fn key_path(&mut self) -> Result<Vec<Segment>, String> {
        let mut path = Vec::new();
        let mut key = String::new();
        let mut key_started = false;
        loop {
            let Some(c) = self.peek() else {
                let shown = display_path(&path, &key);
                return Err(format!("key {shown:?} has no value (expected key=value)"));
            };
            self.pos += 1;
            match c {
                '\\' => {
                    let Some(next) = self.peek() else {
                        return Err("a trailing '\\' escapes nothing".into());
                    };
                    key.push(next);
                    key_started = true;
                    self.pos += 1;
                }
                '=' => {
                    if key_started {
                        path.push(Segment::Key(std::mem::take(&mut key)));
                    }
                    if path.is_empty() {
                        return Err("a key is missing before '='".into());
                    }
                    return Ok(path);
                }
                '.' => {
                    if key_started {
                        path.push(Segment::Key(std::mem::take(&mut key)));
                        key_started = false;
                    } else if !matches!(path.last(), Some(Segment::Index(_))) {
                        return Err(format!(
                            "empty key segment in {:?}",
                            display_path(&path, &key)
                        ));
                    }
                }
                '[' => {
                    if key_started {
                        path.push(Segment::Key(std::mem::take(&mut key)));
                        key_started = false;
                    } else if path.is_empty() {
                        return Err("a list index needs a key before it, as in list[0]".into());
                    }
                    path.push(Segment::Index(self.index()?));
                }
                ',' => {
                    let shown = display_path(&path, &key);
                    return Err(format!("key {shown:?} has no value (expected key=value)"));
                }
                other => {
                    key.push(other);
                    key_started = true;
                }
            }
        }
    }

    /// Reads the digits of `[N]` after the `[`, and the `]`.
    fn index(&mut self) -> Result<usize, String> {
        let mut digits = String::new();
        loop {
            match self.peek() {
                Some(']') => {
                    self.pos += 1;
                    break;
                }
                Some(c) => {
                    digits.push(c);
                    self.pos += 1;
                }
                None => return Err("a list index is missing its closing ']'".into()),
            }
        }
        let index: usize = digits
            .trim()
            .parse()
            .map_err(|_| format!("list index {digits:?} is not a non-negative integer"))?;
        if index > MAX_LIST_INDEX {
            return Err(format!(
                "list index {index} is greater than the maximum supported index {MAX_LIST_INDEX}"
            ));
        }
        Ok(index)
    }

    /// Reads text up to an unescaped ',' (not consumed) or the end.
    fn scalar_text(&mut self) -> String {
        let mut text = String::new();
        while let Some(c) = self.peek() {
            match c {
                ',' => break,
                '\\' => {
                    self.pos += 1;
                    if let Some(next) = self.peek() {
                        text.push(next);
                        self.pos += 1;
                    } else {
                        text.push('\\');
                    }
                }
                other => {
                    text.push(other);
                    self.pos += 1;
                }
            }
        }
        text
    }

    fn plain_value(&mut self, kind: SetKind) -> Result<Value, String> {
        if self.peek() == Some('{') {
            self.pos += 1;
            return self.list_value(kind);
        }
        let text = self.scalar_text();
        Ok(typed(text, kind == SetKind::String))
    }

    /// Reads `a,b}` after the `{` of a `{a,b}` list value.
    fn list_value(&mut self, kind: SetKind) -> Result<Value, String> {
        let mut items = Vec::new();
        let mut item = String::new();
        loop {
            match self.peek() {
                None => return Err("a list value is missing its closing '}'".into()),
                Some('}') => {
                    self.pos += 1;
                    if !item.is_empty() || !items.is_empty() {
                        items.push(typed(std::mem::take(&mut item), kind == SetKind::String));
                    }
                    break;
                }
                Some(',') => {
                    self.pos += 1;
                    items.push(typed(std::mem::take(&mut item), kind == SetKind::String));
                }
                Some('\\') => {
                    self.pos += 1;
                    if let Some(next) = self.peek() {
                        item.push(next);
                        self.pos += 1;
                    }
                }
                Some(c) => {
                    item.push(c);
                    self.pos += 1;
                }
            }
        }
        match self.peek() {
            None | Some(',') => Ok(Value::Array(items)),
            Some(c) => Err(format!("unexpected {c:?} after a {{...}} list value")),
        }
    }

    fn json_value(&mut self) -> Result<Value, String> {
        // The rest of the flag, borrowed: copying it for each of many
        // assignments made a long flag take quadratic time.
        let rest = &self.text[self
            .offsets
            .get(self.pos)
            .copied()
            .unwrap_or(self.text.len())..];
        let mut stream = serde_json::Deserializer::from_str(rest).into_iter::<Value>();
        let value = match stream.next() {
            Some(Ok(value)) => value,
            Some(Err(e)) => return Err(format!("the value is not valid JSON: {e}")),
            None => return Err("a JSON value is missing after '='".into()),
        };
        let used = stream.byte_offset();
        self.pos += rest[..used].chars().count();
        match self.peek() {
            None | Some(',') => Ok(value),
            Some(c) => Err(format!("unexpected {c:?} after the JSON value")),
        }
    }

    fn rest(&mut self) -> String {
        let rest = self.chars[self.pos..].iter().collect();
        self.pos = self.chars.len();
        rest
    }
}

/// Helm's type inference for `--set` values.
fn typed(text: String, keep_string: bool) -> Value {
    if keep_string {
        return Value::String(text);
    }
    if text.eq_ignore_ascii_case("true") {
        return Value::Bool(true);
    }
    if text.eq_ignore_ascii_case("false") {
        return Value::Bool(false);
    }
    if text.eq_ignore_ascii_case("null") {
        return Value::Null;
    }
    if text == "0" {
        return Value::Number(0.into());
    }
    // A leading zero keeps the value a string (a zip code, an octal mode).
    if !text.starts_with('0')
        && let Ok(n) = text.parse::<i64>()
    {
        return Value::Number(Number::from(n));
    }
    Value::String(text)
}

fn display_path(path: &[Segment], tail: &str) -> String {
    let mut out = String::new();
    for segment in path {
        match segment {
            Segment::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Segment::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    if !tail.is_empty() {
        if !out.is_empty() {
            out.push('.');
        }
        out.push_str(tail);
    }
    out
}

fn set_path(
    dest: &mut Value,
    path: &[Segment],
    value: Value,
    growth_left: &mut usize,
) -> Result<(), String> {
    let Some((first, rest)) = path.split_first() else {
        *dest = value;
        return Ok(());
    };
    match first {
        Segment::Key(key) => {
            if !dest.is_object() {
                *dest = Value::Object(Map::new());
            }
            let Value::Object(map) = dest else {
                unreachable!("made an object above")
            };
            if rest.is_empty() {
                map.insert(key.clone(), value);
                return Ok(());
            }
            let child = map.entry(key.clone()).or_insert(Value::Null);
            set_path(child, rest, value, growth_left)
        }
        Segment::Index(index) => {
            if !dest.is_array() {
                *dest = Value::Array(Vec::new());
            }
            let Value::Array(items) = dest else {
                unreachable!("made an array above")
            };
            if items.len() <= *index {
                let growth = index + 1 - items.len();
                if growth > *growth_left {
                    return Err(format!(
                        "the list indexes of this flag add more than {MAX_LIST_GROWTH} list entries in all"
                    ));
                }
                *growth_left -= growth;
                items.resize(index + 1, Value::Null);
            }
            set_path(&mut items[*index], rest, value, growth_left)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(kind: SetKind, arg: &str) -> Result<Value, SetError> {
        let mut dest = json!({});
        apply(kind, arg, &mut dest, &mut |path| {
            Ok(format!("contents of {path}"))
        })?;
        Ok(dest)
    }

    #[test]
    fn nested_keys_and_inference() {
        let v = run(
            SetKind::Typed,
            "a.b=1,c=true,d=null,e=007,f=x,g=0,h=-3,i=1.5",
        )
        .unwrap();
        assert_eq!(
            v,
            json!({"a": {"b": 1}, "c": true, "d": null, "e": "007", "f": "x", "g": 0, "h": -3, "i": "1.5"})
        );
    }

    #[test]
    fn set_string_keeps_strings() {
        let v = run(SetKind::String, "a=1,b=true").unwrap();
        assert_eq!(v, json!({"a": "1", "b": "true"}));
    }

    #[test]
    fn escapes_and_lists() {
        let v = run(SetKind::Typed, r"a\.b=c,l[1]=x,m[0].n=1,v={x,2},w=a\,b,e=").unwrap();
        assert_eq!(
            v,
            json!({"a.b": "c", "l": [null, "x"], "m": [{"n": 1}], "v": ["x", 2], "w": "a,b", "e": ""})
        );
    }

    #[test]
    fn json_and_literal_and_file() {
        assert_eq!(
            run(SetKind::Json, r#"a={"b":[1,2]},c=3"#).unwrap(),
            json!({"a": {"b": [1, 2]}, "c": 3})
        );
        assert_eq!(
            run(SetKind::Literal, "a.b=x,y=z").unwrap(),
            json!({"a": {"b": "x,y=z"}})
        );
        assert_eq!(
            run(SetKind::File, "ca=/tmp/ca.pem").unwrap(),
            json!({"ca": "contents of /tmp/ca.pem"})
        );
    }

    #[test]
    fn malformed_flags_are_errors_that_name_the_key() {
        for (arg, needle) in [
            ("app.replicaCount", "\"app.replicaCount\" has no value"),
            ("a=1,b", "\"b\" has no value"),
            ("=1", "key is missing"),
            ("a[x]=1", "not a non-negative integer"),
            ("a[70000]=1", "maximum supported index"),
            ("a[1=1", "closing ']'"),
            ("a={x,y", "closing '}'"),
            ("", "found nothing"),
            ("a..b=1", "empty key segment"),
        ] {
            let err = run(SetKind::Typed, arg).unwrap_err();
            assert!(err.to_string().contains(needle), "{arg}: {err}");
        }
        // Regression: each JSON value copied the rest of the flag, so 10,000
        // assignments took half a minute.
        let many: Vec<String> = (0..10_000)
            .map(|i| format!("k{i}={{\"v\":[{i}]}}"))
            .collect();
        let started = std::time::Instant::now();
        let v = run(SetKind::Json, &many.join(",")).unwrap();
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        assert_eq!(v["k9999"], json!({"v": [9999]}));
        assert_eq!(
            run(SetKind::Json, r#"é="ü",b=[1]"#).unwrap(),
            json!({"é": "ü", "b": [1]})
        );
        // Regressions: a deep key overflowed the stack later on, and many
        // large indexes in one flag allocated gigabytes.
        let deep = format!("{}=1", vec!["a"; 10_000].join("."));
        let err = run(SetKind::Typed, &deep).unwrap_err();
        assert!(
            err.message
                .contains("nests 10000 levels deep, more than the 64 allowed"),
            "{err}"
        );
        let deep = format!("a{}=1", "[0]".repeat(65));
        assert!(run(SetKind::Typed, &deep).is_err());
        assert!(run(SetKind::Typed, &format!("{}=1", vec!["a"; 64].join("."))).is_ok());
        let many: Vec<String> = (0..5).map(|i| format!("k{i}[65536]=1")).collect();
        let err = run(SetKind::Typed, &many.join(",")).unwrap_err();
        assert!(
            err.message.contains("more than 262148 list entries"),
            "{err}"
        );
        assert!(run(SetKind::Typed, &many[..4].join(",")).is_ok());
        let err = run(SetKind::Json, "a={").unwrap_err();
        assert!(err.to_string().contains("not valid JSON"), "{err}");
    }
}
