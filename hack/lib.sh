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
