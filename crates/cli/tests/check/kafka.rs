//! Kafka: kfake, and fake brokers.

use super::*;

/// A Kafka broker that answers one ApiVersions v0 request per connection.
fn fake_kafka() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut len = [0u8; 4];
            if stream.read_exact(&mut len).is_err() {
                continue;
            }
            let mut req = vec![0u8; i32::from_be_bytes(len) as usize];
            if stream.read_exact(&mut req).is_err() {
                continue;
            }
            assert_eq!(&req[..4], &[0, 18, 0, 0], "ApiVersions v0");
            let mut body = req[4..8].to_vec(); // the correlation id
            body.extend_from_slice(&0i16.to_be_bytes());
            body.extend_from_slice(&3i32.to_be_bytes());
            for (k, max) in [(0i16, 9i16), (1, 13), (18, 3)] {
                body.extend_from_slice(&k.to_be_bytes());
                body.extend_from_slice(&0i16.to_be_bytes());
                body.extend_from_slice(&max.to_be_bytes());
            }
            let mut out = (body.len() as i32).to_be_bytes().to_vec();
            out.extend_from_slice(&body);
            let _ = stream.write_all(&out);
        }
    });
    port
}

#[test]
fn kafka_broker_passes() {
    let s = servers();
    let o = check(&sets(&[
        "global.kafka.brokerHost=127.0.0.1",
        &format!("global.kafka.brokerPort={}", s.kafka_port),
    ]));
    line(&o, "PASS", "kafka", "connect");
    let versions = line(&o, "PASS", "kafka", "api versions");
    assert!(versions.contains("Produce and Fetch"), "{versions}");
    assert_eq!(code(&o), 0, "{}", stdout(&o));
}

#[test]
fn kafka_api_versions_fake_broker_passes() {
    let port = fake_kafka();
    let o = check(&sets(&[
        "global.kafka.brokerHost=127.0.0.1",
        &format!("global.kafka.brokerPort={port}"),
    ]));
    line(&o, "PASS", "kafka", "connect");
    assert!(line(&o, "PASS", "kafka", "api versions").contains("3 APIs, Produce and Fetch"));
    assert_eq!(code(&o), 0, "{}", stdout(&o));
}

#[test]
fn kafka_port_that_is_not_kafka_fails() {
    // A server of another protocol, answering at once and hanging up.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
        }
    });
    let o = check(&sets(&[
        "global.kafka.brokerHost=127.0.0.1",
        &format!("global.kafka.brokerPort={port}"),
    ]));
    line(&o, "FAIL", "kafka", "api versions");
    assert!(hint(&o, "kafka", "api versions").contains("Kafka broker"));
}
