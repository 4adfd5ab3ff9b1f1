//! A fake HTTP server on loopback, for ClickHouse's HTTP interface and the
//! Kubernetes API.

use super::*;

/// A request: method, path, headers (lower-case names), body.
pub type Request = (String, String, BTreeMap<String, String>, Vec<u8>);

/// An HTTP/1.1 server on loopback answering each request with `answer`'s
/// status, content type and body, one request per connection.
pub fn fake_http(answer: fn(&Request) -> (u16, &'static str, String)) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let _ = serve_one(stream, answer);
        }
    });
    port
}

pub fn serve_one(
    stream: TcpStream,
    answer: fn(&Request) -> (u16, &'static str, String),
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut first = String::new();
    reader.read_line(&mut first)?;
    let mut parts = first.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let mut headers = BTreeMap::new();
    loop {
        let mut l = String::new();
        reader.read_line(&mut l)?;
        let l = l.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.insert(k.trim().to_lowercase(), v.trim().to_string());
        }
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body)?;
    let (status, content_type, text) = answer(&(method, path, headers, body));
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    )?;
    stream.flush()
}
