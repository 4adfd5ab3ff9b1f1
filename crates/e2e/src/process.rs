//! Subprocesses with timeouts, their output, their lines as they come, their use of the machine.

use std::io::{Read, Write};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// What a command did.
#[derive(Debug)]
pub struct Output {
    /// None if it was killed at its timeout.
    pub status: Option<ExitStatus>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
    /// The command line, for messages.
    pub command: String,
}

impl Output {
    pub fn success(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }

    pub fn timed_out(&self) -> bool {
        self.status.is_none()
    }

    /// Panics with the command, its status and its output unless it succeeded.
    #[track_caller]
    pub fn assert_success(&self) {
        assert!(
            self.success(),
            "{} failed:\n{}{}",
            self.describe_status(),
            self.stderr,
            self.stdout
        );
    }

    /// "exit status: 1", "timed out after 60 s", ...
    pub fn describe_status(&self) -> String {
        match self.status {
            Some(s) => format!("`{}`: {s}", self.command),
            None => format!(
                "`{}`: timed out after {:.0} s and was killed",
                self.command,
                self.elapsed.as_secs_f64()
            ),
        }
    }
}

fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

type Buffer = Arc<Mutex<Vec<u8>>>;

fn reader(mut from: impl Read + Send + 'static) -> (Buffer, JoinHandle<()>) {
    let buf: Buffer = Arc::default();
    let sink = buf.clone();
    let handle = thread::spawn(move || {
        let mut chunk = [0u8; 8192];
        while let Ok(n) = from.read(&mut chunk) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&chunk[..n]);
        }
    });
    (buf, handle)
}

fn take(buf: &Buffer) -> String {
    String::from_utf8_lossy(&std::mem::take(&mut *buf.lock().unwrap())).into_owned()
}

/// Runs `cmd` with `stdin` as its input, killing it after `timeout`.
pub fn run(cmd: Command, stdin: Option<&[u8]>, timeout: Duration) -> Output {
    spawn_and_wait(cmd, stdin, timeout, false)
}

/// Like [`run`], with stdout and stderr sent into one pipe so that their
/// lines keep the order in which the command wrote them; all of it is in
/// `stdout`, `stderr` is empty.
pub fn run_merged(cmd: Command, stdin: Option<&[u8]>, timeout: Duration) -> Output {
    spawn_and_wait(cmd, stdin, timeout, true)
}

fn spawn_and_wait(
    mut cmd: Command,
    stdin: Option<&[u8]>,
    timeout: Duration,
    merged: bool,
) -> Output {
    let command = describe(&cmd);
    let start = Instant::now();
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let mut merged_reader = None;
    if merged {
        let (r, w) = std::io::pipe().expect("pipe");
        cmd.stdout(w.try_clone().expect("pipe"));
        cmd.stderr(w);
        merged_reader = Some(r);
    } else {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    }
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run `{command}`: {e}"));
    // The Command holds the write end of the merged pipe: drop it, or the
    // reader never sees the end of the output.
    drop(cmd);
    let mut readers = Vec::new();
    let (out, err) = if let Some(r) = merged_reader {
        let (out, h) = reader(r);
        readers.push(h);
        (out, Arc::default())
    } else {
        let (out, h1) = reader(child.stdout.take().unwrap());
        let (err, h2) = reader(child.stderr.take().unwrap());
        readers.extend([h1, h2]);
        (out, err)
    };
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        let input = input.to_vec();
        // A writer thread: the child may fill its output pipes before it
        // has read all its input. A child that exits early breaks the pipe,
        // which is fine.
        readers.push(thread::spawn(move || {
            let _ = pipe.write_all(&input);
        }));
    }
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if start.elapsed() >= timeout => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("waiting for `{command}`: {e}"),
        }
    };
    // Give the readers a moment to drain the pipes, but do not hang on a
    // grandchild that keeps them open.
    let drain = Instant::now();
    while readers.iter().any(|h| !h.is_finished()) && drain.elapsed() < Duration::from_secs(5) {
        thread::sleep(Duration::from_millis(10));
    }
    for h in readers {
        if h.is_finished() {
            let _ = h.join();
        }
    }
    Output {
        status,
        stdout: take(&out),
        stderr: take(&err),
        elapsed: start.elapsed(),
        command,
    }
}

/// What /proc says of a process: resident memory now and at its peak, and
/// the CPU time it used (user + system).
#[derive(Clone, Copy, Debug, Default)]
pub struct ProcUsage {
    pub rss_kib: u64,
    pub peak_rss_kib: u64,
    pub cpu_seconds: f64,
}

/// /proc/PID/status (VmRSS, VmHWM) and /proc/PID/stat (utime + stime);
/// `None` once the process is gone.
pub fn proc_usage(pid: u32) -> Option<ProcUsage> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 here.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ProcUsage {
        rss_kib: kib("VmRSS:"),
        peak_rss_kib: kib("VmHWM:"),
        cpu_seconds: ticks as f64 / clock_ticks() as f64,
    })
}

/// sysconf(_SC_CLK_TCK), by getconf(1); 100 if that fails.
fn clock_ticks() -> u64 {
    static TICKS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .filter(|t| *t > 0)
            .unwrap_or(100)
    })
}

/// The stdout lines of a running command, each with when it was read.
/// Dropping it kills the command.
pub struct Lines {
    child: Child,
    lines: Arc<Mutex<Vec<(Instant, String)>>>,
    reader: Option<JoinHandle<()>>,
}

impl Lines {
    pub fn spawn(mut cmd: Command) -> Lines {
        use std::io::BufRead;
        let command = describe(&cmd);
        cmd.stdout(Stdio::piped()).stderr(Stdio::null());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run `{command}`: {e}"));
        let stdout = child.stdout.take().expect("stdout");
        let lines: Arc<Mutex<Vec<(Instant, String)>>> = Arc::default();
        let sink = lines.clone();
        let reader = thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                sink.lock().unwrap().push((Instant::now(), line));
            }
        });
        Lines {
            child,
            lines,
            reader: Some(reader),
        }
    }

    /// The lines so far.
    pub fn lines(&self) -> Vec<(Instant, String)> {
        self.lines.lock().unwrap().clone()
    }

    /// Stops the command; returns every line it printed.
    pub fn stop(mut self) -> Vec<(Instant, String)> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        self.lines()
    }
}

impl Drop for Lines {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
