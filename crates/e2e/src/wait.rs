//! Polling a condition with a deadline.

use std::thread::{self};
use std::time::{Duration, Instant};

/// Calls `check` every `every` until it returns `Ok`, and returns its value
/// and how long that took. Panics after `timeout` with the last `Err`,
/// which should say what was seen.
#[track_caller]
pub fn wait_for<T>(
    what: &str,
    timeout: Duration,
    every: Duration,
    check: impl FnMut() -> Result<T, String>,
) -> (T, Duration) {
    match try_wait_for(timeout, every, check) {
        Ok(done) => done,
        Err(last) => panic!(
            "{what}: not within {:.0} s; last seen: {last}",
            timeout.as_secs_f64()
        ),
    }
}

/// [`wait_for`] that gives the last `Err` after `timeout` instead of
/// panicking, for a wait whose failure the test reports itself.
pub fn try_wait_for<T>(
    timeout: Duration,
    every: Duration,
    mut check: impl FnMut() -> Result<T, String>,
) -> Result<(T, Duration), String> {
    let start = Instant::now();
    loop {
        match check() {
            Ok(v) => return Ok((v, start.elapsed())),
            Err(last) if start.elapsed() >= timeout => return Err(last),
            Err(_) => thread::sleep(every),
        }
    }
}
