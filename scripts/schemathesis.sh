#!/usr/bin/env bash
# API conformance: runs schemathesis (pinned, from PyPI) with every check against the real
# `tessera serve` (debug build) on a free loopback port, with a temporary data dir and a known
# API key, for a bounded time. Fails on any failure. Called by .ci/run; run it alone with
#   scripts/schemathesis.sh            (ST_MAX_TIME=SECONDS to change the budget, default 100)
# Needs python3 (3.9+) with venv and network access to PyPI on first run.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
ST_VERSION=4.32.5
max_time=${ST_MAX_TIME:-100}
target=${CARGO_TARGET_DIR:-$root/target}
venv=${ST_VENV:-$target/schemathesis-$ST_VERSION}
if [ ! -x "$venv/bin/st" ]; then
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q "schemathesis==$ST_VERSION"
fi
venv=$(realpath "$venv")
cargo build -q --bin tessera
bin=$(realpath "$target/debug/tessera")

tmp=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
key="tsk_schemathesis_$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
mkdir -p "$tmp/models"
cat > "$tmp/tessera.toml" <<TOML
[store]
path = "$tmp/profiles.redb"
[privacy]
key_file = "$tmp/hash.key"
[model]
dir = "$tmp/models"
[server]
listen = "127.0.0.1:$port"
audit_log = "$tmp/audit.jsonl"
label_log = "$tmp/labels.jsonl"
TOML
TESSERA_API_KEY="$key" "$bin" serve --config "$tmp/tessera.toml" > "$tmp/serve.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/healthz" > /dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { cat "$tmp/serve.log"; exit 1; }
  sleep 0.1
done

# The hooks only make generated score requests satisfy what JSON Schema cannot say (key events
# in press order, held at most 10 s); see scripts/schemathesis_hooks.py.
# ST_SCHEMA=FILE tests against another copy of the document (the served one by default).
location=("http://127.0.0.1:$port/openapi.json")
if [ -n "${ST_SCHEMA:-}" ]; then location=("$(realpath "$ST_SCHEMA")" --url "http://127.0.0.1:$port"); fi
status=0
# Run from the temp dir: schemathesis keeps a `.schemathesis/` cache in its working directory.
(cd "$tmp" && PYTHONPATH="$root/scripts" SCHEMATHESIS_HOOKS=schemathesis_hooks \
  "$venv/bin/st" run "${location[@]}" \
  --checks all \
  --header "Authorization: Bearer $key" \
  --max-time "$max_time" \
  --workers 2 \
  --seed 20261130 \
  --suppress-health-check too_slow,filter_too_much \
  --report junit --report-dir "$target/schemathesis-report") \
  || status=$?
if [ "$status" -ne 0 ]; then
  echo "schemathesis: failures (server log follows)"
  tail -n 50 "$tmp/serve.log"
fi
exit "$status"
