#!/bin/bash
# Adds the server's settings to the frontend's env.js at container start:
# every SERVER_FLAG_* variable as SERVER_FLAGS, and the flags the frontend
# reads by name.
set -u
env_js="$BUILD_DIR/env.js"

set_config() {
  [ -w "$env_js" ] && printf 'Object.assign(window.CONFIG, {%s: %s});\n' "$1" "$2" >> "$env_js"
}

write_server_flags() {
  local flags="" var
  for var in "${!SERVER_FLAG_@}"; do
    flags+="\"${var#SERVER_FLAG_}\": \"${!var}\","
  done
  printf 'const SERVER_FLAGS = { %s};\n' "${flags%,}" >> "$env_js"
  set_config SERVER_FLAGS SERVER_FLAGS
}

write_named_flags() {
  if [ "${CI:-}" = "1" ]; then set_config CI true; fi
  if [ "$(printf '%s' "${DISABLE_TELEMETRY:-}" | tr '[:upper:]' '[:lower:]')" = "true" ]; then
    set_config DISABLE_TELEMETRY true
  fi
  if [ "${WEAVE_ENABLED:-}" = "true" ]; then set_config WEAVE_BACKEND_HOST '"/__weave"'; fi
  if [ "${WEAVE_TRACES_ENABLED:-}" = "true" ]; then set_config TRACE_BACKEND_BASE_URL '"/traces"'; fi
  if [ "${ENABLE_RBAC_UI:-}" = "true" ]; then set_config ENABLE_RBAC_UI true; fi
  if [ "${OPERATOR_ENABLED:-}" = "true" ]; then set_config OPERATOR_ENABLED true; fi
  local store="${GORILLA_CUSTOMER_SECRET_STORE_SOURCE:-}"
  if [ -n "$store" ] && [ "$store" != "noop://" ]; then set_config ENABLE_SECRET_STORE true; fi
  set_config BANNERS "${BANNERS:-{\}}"
  if [ "${ENABLE_REGISTRY_UI:-}" = "true" ]; then set_config ENABLE_REGISTRY_UI true; fi
}

if grep -q 'const SERVER_FLAGS =' "$env_js" 2>/dev/null; then
  echo "env.js already patched"
else
  write_server_flags
  write_named_flags
fi
