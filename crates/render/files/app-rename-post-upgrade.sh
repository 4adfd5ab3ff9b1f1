#!/bin/bash
# After the upgrade: once each "-bc" Deployment is available, remove the old
# Deployment it replaces.
set -u
for service in app parquet weave weave-trace; do
  old="${RELEASE}-${service}"
  if out=$(kubectl -n "$NAMESPACE" get deployment "$old" -o name 2>&1); then
    kubectl -n "$NAMESPACE" rollout status "deployment/${old}-bc" || exit 1
    kubectl -n "$NAMESPACE" delete deployment "$old" || exit 1
  elif ! grep -qi 'not found' <<<"$out"; then
    echo "checking deployment $old: $out" >&2
    exit 1
  fi
done
