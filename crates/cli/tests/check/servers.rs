//! The servers `hack/test-servers start` runs, from its env file.

use super::*;

pub struct Servers {
    pub mysql_port: String,
    pub mysql_password: String,
    pub redis_port: String,
    pub redis_tls_port: String,
    pub redis_password: String,
    pub ca: String,
    pub other_ca: String,
    pub s3_port: String,
    pub s3_access: String,
    pub s3_secret: String,
    pub kafka_port: String,
}

pub fn env_file() -> PathBuf {
    let dir = std::env::var("WANDB_TEST_SERVERS_DIR")
        .unwrap_or_else(|_| "/tmp/wandb-test-servers".to_string());
    PathBuf::from(dir).join("env")
}

/// The running servers, or a panic that says how to start them.
pub fn servers() -> Servers {
    let path = env_file();
    let start = "start them with `hack/test-servers start` (from the repository root), \
                 then run the tests again";
    let text = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "the test servers are not running ({} is missing): {start}",
            path.display()
        )
    });
    let env: BTreeMap<&str, &str> = text.lines().filter_map(|l| l.split_once('=')).collect();
    let get = |k: &str| -> String {
        env.get(k)
            .unwrap_or_else(|| panic!("{} has no {k}: {start}", path.display()))
            .to_string()
    };
    let s = Servers {
        mysql_port: get("MYSQL_PORT"),
        mysql_password: get("MYSQL_PASSWORD"),
        redis_port: get("REDIS_PORT"),
        redis_tls_port: get("REDIS_TLS_PORT"),
        redis_password: get("REDIS_PASSWORD"),
        ca: get("CA"),
        other_ca: get("OTHER_CA"),
        s3_port: get("S3_PORT"),
        s3_access: get("S3_ACCESS_KEY"),
        s3_secret: get("S3_SECRET_KEY"),
        kafka_port: get("KAFKA_PORT"),
    };
    for (name, port) in [
        ("MariaDB", &s.mysql_port),
        ("Redis", &s.redis_port),
        ("Redis TLS", &s.redis_tls_port),
        ("moto (S3)", &s.s3_port),
        ("kfake (Kafka)", &s.kafka_port),
    ] {
        let addr = format!("127.0.0.1:{port}");
        if TcpStream::connect_timeout(&addr.parse().unwrap(), Duration::from_secs(2)).is_err() {
            panic!("the test server {name} does not answer on {addr}: {start}");
        }
    }
    s
}

impl Servers {
    pub fn mysql(&self, password: &str, database: &str) -> Vec<String> {
        sets(&[
            "global.mysql.host=127.0.0.1",
            &format!("global.mysql.port={}", self.mysql_port),
            &format!("global.mysql.password={password}"),
            &format!("global.mysql.database={database}"),
        ])
    }
    pub fn redis(&self, password: &str) -> Vec<String> {
        let mut out = sets(&[
            "global.redis.host=127.0.0.1",
            &format!("global.redis.port={}", self.redis_port),
        ]);
        if !password.is_empty() {
            out.extend(sets(&[&format!("global.redis.password={password}")]));
        }
        out
    }
    pub fn bucket(&self, bucket: &str, secret: &str) -> Vec<String> {
        let mut out = sets(&[
            &format!("global.bucket.name=127.0.0.1:{}/{bucket}", self.s3_port),
            &format!("global.bucket.accessKey={}", self.s3_access),
        ]);
        out.push("--set-string".into());
        out.push(format!("global.bucket.secretKey={secret}"));
        out
    }
}

pub fn sets(pairs: &[&str]) -> Vec<String> {
    pairs
        .iter()
        .flat_map(|p| ["--set".to_string(), p.to_string()])
        .collect()
}
