# Shared by hack/test and hack/demo.

# Puts cargo on PATH, installing Rust with rustup if the machine has none.
ensure_rust() {
  if ! command -v cargo >/dev/null 2>&1 && [[ -f "$HOME/.cargo/env" ]]; then
    source "$HOME/.cargo/env"
  fi
  if ! command -v cargo >/dev/null 2>&1; then
    echo "installing Rust (rustup)"
    curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --component rustfmt,clippy
    source "$HOME/.cargo/env"
  fi
}

# test_binaries [CARGO-TEST-ARGS...]: one line per test executable that
# `cargo test ARGS` builds: its target's name and its path (built if need be).
test_binaries() {
  cargo test --locked --no-run --message-format=json-render-diagnostics "$@" | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["profile"]["test"]:
        print(m["target"]["name"], m["executable"])'
}

# tests_that_ran LOG: the tests that passed, summed over the `test result:`
# lines of cargo test and the test binaries in LOG (ignored tests run with
# --ignored count as passed there), as the closing line: `tests: N passed, M failed`.
tests_that_ran() {
  awk '/^test result: / {
         for (i = 1; i < NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i }
       }
       END { printf "tests: %d passed, %d failed\n", p, f }' "$1"
}
