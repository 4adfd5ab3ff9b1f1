//! `wandb-operator check` against real servers on loopback: MariaDB, Redis
//! (plain and TLS), an S3-compatible server (moto) and a Kafka broker
//! (kfake, franz-go's in-memory implementation of the Kafka protocol),
//! started by `hack/test-servers start`. ClickHouse, and Kafka's failure
//! modes, are answered by small protocol fakes of this test, and so is the
//! Kubernetes API for Secret references.
//!
//! A test that needs the servers fails, with the command to start them, when
//! they are not running: nothing is skipped silently.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

// The suite's helpers, for every module of it (`use super::*`).
use fake_http::*;
use run::*;
use servers::*;

mod bucket;
mod clickhouse;
mod command;
mod fake_http;
mod kafka;
mod mysql;
mod redis;
mod run;
mod secrets;
mod servers;
mod unreachable;
