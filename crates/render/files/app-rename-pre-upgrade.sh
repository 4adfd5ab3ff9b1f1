#!/bin/bash
# Before an upgrade from a release whose Deployments had no "-bc" suffix:
# keep the old Deployments running until their replacements are ready.
set -u
for service in app parquet weave weave-trace; do
  old="${RELEASE}-${service}"
  if out=$(kubectl -n "$NAMESPACE" get deployment "$old" -o name 2>&1); then
    kubectl -n "$NAMESPACE" annotate deployment "$old" helm.sh/resource-policy=keep --overwrite || exit 1
  elif ! grep -qi 'not found' <<<"$out"; then
    echo "checking deployment $old: $out" >&2
    exit 1
  fi
done
