"""How the project builds its release binaries: static (glibc, +crt-static)
for x86_64, as the image needs. hack/image builds the operator so, and
hack/bench builds its criterion benchmark the same way, so that the
benchmark reuses the image's release build of every dependency instead of
compiling them all a second time (minutes on a new machine).
"""

import os

TARGET = "x86_64-unknown-linux-gnu"


def env():
    """The environment of a static release build: RUSTFLAGS with +crt-static."""
    flags = (os.environ.get("RUSTFLAGS", "") + " -C target-feature=+crt-static").strip()
    return dict(os.environ, RUSTFLAGS=flags)


def args():
    """cargo's arguments for it, after `build --release` or `bench` (whose
    profile is release's, in the same folder)."""
    return ["--locked", "--target", TARGET]


def binary(repo, name):
    """Where such a build puts a binary."""
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(repo, "target"))
    return os.path.join(target, TARGET, "release", name)
