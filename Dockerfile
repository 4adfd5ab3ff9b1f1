# The operator image: one static binary on a distroless base, as non-root.
#   docker build -t ghcr.io/wandb-operator/wandb-operator:0.1.0 .
FROM rust:1.95-bookworm AS build
RUN rustup target add x86_64-unknown-linux-musl \
 && apt-get update && apt-get install -y --no-install-recommends musl-tools \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY crates crates
RUN cargo build --release --locked --target x86_64-unknown-linux-musl -p wandb-operator \
 && cp target/x86_64-unknown-linux-musl/release/wandb-operator /wandb-operator

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /wandb-operator /usr/local/bin/wandb-operator
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/wandb-operator"]
CMD ["run"]
