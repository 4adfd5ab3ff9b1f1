# Shared by hack/test, hack/demo and hack/cluster.

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

# apt_install PKG...: Debian's packages, as root, without starting their
# services (what uses them runs them as ordinary processes). It waits for
# another apt-get (the test servers' and the real node's installs can meet
# in one run) and refreshes the package lists only when an install without
# that fails: a new machine may have none, a warm one has them.
apt_install() {
  local policy=/usr/sbin/policy-rc.d made_policy=false rc=0
  local apt=(apt-get -o DPkg::Lock::Timeout=300 -q)
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && made_policy=true
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${apt[@]}" install -y --no-install-recommends "$@" ||
    { "${apt[@]}" update && "${apt[@]}" install -y --no-install-recommends "$@"; } || rc=$?
  if $made_policy; then rm -f "$policy"; fi
  return "$rc"
}

# Minutes and seconds of a number of seconds: 12m38s.
mmss() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

# Runs a command that would be silent for minutes, its output appended to a
# log file, and prints a line at least every 20 s: the time so far and, for
# cargo, its count of crates and what it compiles now, on stderr. A newcomer
# must see that a first build is moving. On failure, the log's end is shown.
with_progress() { # label log-file command...
  local label=$1 log=$2; shift 2
  local start=$SECONDS next=20 rc=0 pid
  CARGO_TERM_PROGRESS_WHEN=always CARGO_TERM_PROGRESS_WIDTH=200 "$@" >>"$log" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    if ((SECONDS - start >= next)); then
      printf '%s %s%s\n' "$label" "$(mmss $((SECONDS - start)))" "$(cargo_progress "$log")" | cut -c1-79 >&2
      next=$((next + 20))
    fi
  done
  wait "$pid" || rc=$?
  if ((rc != 0)); then
    tail -n 30 "$log" >&2
    echo "exit $rc; the whole output is in $log" >&2
  fi
  return "$rc"
}

# cargo's progress bar, which it redraws with \r, read back from its log:
# ", 312/348 crates, now k8s-openapi".
cargo_progress() { # log-file
  local bar
  bar=$(tr '\r' '\n' <"$1" | grep -oE '[0-9]+/[0-9]+: .*' | tail -n 1) || return 0
  [[ -z $bar ]] || printf ', %s crates, now %s' "${bar%%:*}" "${bar#*: }"
}

# test_binaries [CARGO-TEST-ARGS...]: one line per test executable that
# `cargo test ARGS` builds: its target's name and its path (built if need be).
# With TESTS_UNDER=DIR, only those of the packages in DIR. Pick a package
# so (with --workspace), not with -p: `cargo test -p wandb-e2e` resolves its
# dependencies' features alone, so it builds serde, syn & co. a second time
# (two minutes cold) where `--workspace` reuses what `cargo test` built.
test_binaries() {
  cargo test --locked --no-run --message-format=json-render-diagnostics "$@" | TESTS_UNDER=${TESTS_UNDER:-} python3 -c '
import json, os, sys
under = os.environ["TESTS_UNDER"]
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["profile"]["test"]:
        if under and not m["manifest_path"].startswith(under):
            continue
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
