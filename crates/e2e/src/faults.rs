//! What the fault and load suites share: the full-run switch, a seeded random source.

use std::time::{Duration, SystemTime};

/// Whether the long versions of the fault and load tests run
/// (`WANDB_E2E_FULL=1`); the short ones assert the same properties.
pub fn full_run() -> bool {
    matches!(
        std::env::var("WANDB_E2E_FULL").as_deref(),
        Ok("1" | "true" | "yes")
    )
}

/// A small random generator (xorshift64*) for fault timings: seeded from
/// `WANDB_E2E_SEED` if set, else from the clock, and the seed printed, so
/// that a run can be repeated.
pub struct Rng(u64);

impl Rng {
    pub fn seeded(what: &str) -> Rng {
        let seed = std::env::var("WANDB_E2E_SEED")
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or_else(|| {
                SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
                    ^ u64::from(std::process::id())
            });
        eprintln!("[e2e] {what}: random seed {seed} (WANDB_E2E_SEED={seed} repeats it)");
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..=max`, to the millisecond.
    pub fn duration(&mut self, max: Duration) -> Duration {
        let ms = max.as_millis() as u64;
        Duration::from_millis(self.next_u64() % (ms + 1))
    }
}
