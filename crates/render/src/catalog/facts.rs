//! The facts a document may name: what truly needs code (a connection
//! string from several settings, the bucket chosen among two, a list joined
//! from switches). `crate::facts` computes them; the document names them
//! `{fact: bucketUrl}`. A fact is text; as a condition it holds when "true".

use std::fmt;

macro_rules! facts {
    ($($(#[doc = $doc:literal])* $variant:ident = $name:literal,)*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Fact {
            $($(#[doc = $doc])* $variant,)*
        }

        impl Fact {
            pub const ALL: &[Fact] = &[$(Fact::$variant,)*];

            /// The document's name of the fact.
            pub fn name(self) -> &'static str {
                match self {
                    $(Fact::$variant => $name,)*
                }
            }
        }
    };
}

facts! {
    /// The bucket's connection URL, with `$(BUCKET_...)` references.
    BucketUrl = "bucketUrl",
    /// The bucket's name (the in-cluster object store's when that runs).
    BucketName = "bucketName",
    /// The path in the bucket.
    BucketPath = "bucketPath",
    /// The bucket's region (`us-east-1` for the in-cluster object store).
    BucketRegion = "bucketRegion",
    /// The bucket's KMS key.
    BucketKmsKey = "bucketKmsKey",
    /// The Secret holding the bucket's keys.
    BucketSecret = "bucketSecret",
    /// The key of that Secret holding the access key.
    BucketAccessKeyName = "bucketAccessKeyName",
    /// The key of that Secret holding the secret key.
    BucketSecretKeyName = "bucketSecretKeyName",
    /// The access key, as given in the values.
    BucketAccessKey = "bucketAccessKey",
    /// The secret key, as given in the values.
    BucketSecretKey = "bucketSecretKey",
    /// Whether the install runs its own object store.
    ObjectStoreInCluster = "objectStoreInCluster",
    /// Whether the install runs its own Kafka.
    KafkaInCluster = "kafkaInCluster",
    /// The Redis connection string, with `$(REDIS_...)` references.
    RedisConnectionString = "redisConnectionString",
    /// The executor's task queue: the Redis connection and its concurrency.
    ExecutorTaskQueue = "executorTaskQueue",
    /// Redis's host: the values', else the in-cluster one's.
    RedisHost = "redisHost",
    /// Redis's port, without the `?params` upstream allows after it.
    RedisPort = "redisPort",
    /// `?k=v&...` of the Redis connection.
    RedisParams = "redisParams",
    /// The Secret holding Redis's password.
    RedisSecret = "redisSecret",
    /// MySQL's host: the values', else the in-cluster one's.
    MysqlHost = "mysqlHost",
    /// The Secret holding MySQL's password.
    MysqlPasswordSecret = "mysqlPasswordSecret",
    /// Whether a CA certificate for MySQL is given.
    MysqlHasCa = "mysqlHasCa",
    /// The path of MySQL's CA certificate in the container.
    MysqlCaPath = "mysqlCaPath",
    /// ClickHouse's host: the values', else the in-cluster one's.
    ClickhouseHost = "clickhouseHost",
    /// ClickHouse's port: the values', else the in-cluster one's.
    ClickhousePort = "clickhousePort",
    /// The Secret holding ClickHouse's password.
    ClickhouseSecret = "clickhouseSecret",
    /// Kafka's broker host: the values', else the in-cluster Kafka's or bufstream's.
    KafkaBrokerHost = "kafkaBrokerHost",
    /// The Secret holding Kafka's client password.
    KafkaSecret = "kafkaSecret",
    /// The key of that Secret.
    KafkaSecretKey = "kafkaSecretKey",
    /// The Kafka client user (the in-cluster Kafka's only).
    KafkaUser = "kafkaUser",
    /// The Kafka client password (the in-cluster Kafka's only).
    KafkaPassword = "kafkaPassword",
    /// The run-updates-shadow topic.
    KafkaTopic = "kafkaTopic",
    /// Where file streams are produced.
    FileStreamProducer = "fileStreamProducer",
    /// Where the service consumes file streams (its own subscription).
    FileStreamStoreConsumer = "fileStreamStoreConsumer",
    /// Where run updates are produced.
    RunUpdateShadowProducer = "runUpdateShadowProducer",
    /// Where the service consumes run updates (its own subscription).
    RunUpdateShadowQueue = "runUpdateShadowQueue",
    /// The history stores gorilla reads, in order.
    HistoryStore = "historyStore",
    /// The live history stores.
    LiveHistoryStore = "liveHistoryStore",
    /// Where file stream workers write.
    FileStreamWorkerStore = "fileStreamWorkerStore",
    /// The tracer of the service, when it samples traces.
    Tracer = "tracer",
    /// The Secret holding the OIDC client secret.
    OidcSecret = "oidcSecret",
    /// The Secret holding the license, and its key.
    LicenseSecret = "licenseSecret",
    LicenseKey = "licenseKey",
    /// The sweep provider: anaconda2 when it runs, else the app.
    SweepProvider = "sweepProvider",
    /// The origins gorilla allows: `app.extraCors`, and the host with OIDC.
    CorsOrigins = "corsOrigins",
    /// The internal JWTs' subjects and issuers, as JSON.
    InternalJwtMap = "internalJwtMap",
    /// The console's `BUCKET_ACCESS_IDENTITY`, from its env.
    BucketAccessIdentity = "bucketAccessIdentity",
    /// The number of the object an env is for (a ClickHouse shard's).
    Index = "index",
    /// etcd's initial cluster: each member's peer URL.
    EtcdInitialCluster = "etcdInitialCluster",
    /// Whether ClickHouse runs more than one server.
    ClickhouseClustered = "clickhouseClustered",
    /// Whether any OLAP feature is on.
    OlapAnyFeature = "olapAnyFeature",
    /// The lumen agent's Google credentials, when a workload identity is set.
    LumenGoogleCredsPath = "lumenGoogleCredsPath",
    /// The lumen agent's GCP workload identity credentials, as JSON.
    LumenGcpCredentials = "lumenGcpCredentials",
    /// Whether the mcp-server has a Weave trace backend to use.
    McpWeaveTools = "mcpWeaveTools",
    /// Whether the mcp-server's Weave trace URL is given in its env.
    McpExplicitTraceUrl = "mcpExplicitTraceUrl",
    /// The mcp-server's Datadog service and environment.
    McpDdService = "mcpDdService",
    McpDdEnv = "mcpDdEnv",
    /// The mcp-server's Datadog API key's key in its Secret.
    McpDdApiKeyKey = "mcpDdApiKeyKey",
}

impl Fact {
    pub fn parse(name: &str) -> Result<Fact, String> {
        Fact::ALL
            .iter()
            .copied()
            .find(|f| f.name() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = Fact::ALL.iter().map(|f| f.name()).collect();
                format!("{name:?} is not a fact; the facts are {}", names.join(", "))
            })
    }
}

impl fmt::Display for Fact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
