//! Arbitrary bytes as a values YAML document, through the whole loader and,
//! when the values load, through the render.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wandb_values_fuzz::values_yaml(data));
