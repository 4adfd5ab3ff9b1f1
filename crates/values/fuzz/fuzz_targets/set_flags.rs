//! Arbitrary strings as `--set`-style flags of every kind, then typed and
//! validated.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wandb_values_fuzz::set_flags(data));
