#!/usr/bin/env bash
# Load test for `tessera serve`: installs wrk (Debian package) when missing, builds and starts a
# release server on loopback with a throwaway data dir, then drives POST /v1/score and the trivial
# GET /healthz with the same connection count in one run, printing throughput and
# p50/p99/p99.9 latency for each.
#
#   scripts/load.sh [CONNECTIONS=64] [DURATION=20s] [THREADS=2]
# TESSERA_BIN=path skips the build; AUDIT_OFF=1 runs without the audit log (diagnosis only).
#
# The score body varies nothing per request (one user, one device): it measures the serving path
# (auth, JSON, engine incl. redb ledger write, audit group commit), not cache behaviour.
set -euo pipefail
cd "$(dirname "$0")/.."
conns=${1:-64}
duration=${2:-20s}
threads=${3:-2}
port=${PORT:-18480}

if ! command -v wrk >/dev/null; then
  echo "load: installing wrk (apt)"
  apt-get update -qq && apt-get install -y -qq wrk
fi
if [ -z "${TESSERA_BIN:-}" ]; then
  cargo build --release --bin tessera
fi
bin=${TESSERA_BIN:-${CARGO_TARGET_DIR:-target}/release/tessera}

work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
key=load-test-key-$(date +%s)
audit_file=$work/audit.jsonl
if [ -n "${AUDIT_OFF:-}" ]; then audit_file=""; fi
cat > "$work/tessera.toml" <<TOML
[store]
path = "$work/profiles.redb"
[privacy]
key_file = "$work/hash.key"
[server]
listen = "127.0.0.1:$port"
audit_log = "$audit_file"
label_log = "$work/labels.jsonl"
rate_per_s = 1000000.0
rate_burst = 1000000
TOML
TESSERA_API_KEY=$key "$bin" serve --config "$work/tessera.toml" > "$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 50); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.2
done

now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
body=$(printf '{"schema":1,"user_id":"load-user","timestamp":"%s","channel":"web_widget","network":{"ip":"31.0.12.34"},"device":{"id":"load-phone","platform":"iOS","timezone":"Europe/Paris","languages":["fr-FR"]},"typing":{"events":[{"key":"letter","down_ms":0,"up_ms":95},{"key":"letter","down_ms":180,"up_ms":270},{"key":"letter","down_ms":390,"up_ms":480},{"key":"space","down_ms":600,"up_ms":680},{"key":"letter","down_ms":800,"up_ms":890}]}}' "$now")
cat > "$work/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $key"
LUA
cat > "$work/report.lua" <<'LUA'
done = function(summary, latency, requests)
  local s = summary.duration / 1e6
  io.write(string.format("RESULT rps=%.0f p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f requests=%d errors=%d non2xx=%d\n",
    summary.requests / s, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency:percentile(99.9) / 1000, summary.requests,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
LUA
cat "$work/report.lua" >> "$work/post.lua"

run() { # name url script...
  local name=$1; shift
  local line
  line=$(wrk -t"$threads" -c"$conns" -d"$duration" "$@" | grep '^RESULT')
  echo "$name ${line#RESULT }"
}
echo "load: $conns connections, $duration each, $threads wrk threads, $(nproc) cores"
run "GET  /healthz " -s "$work/report.lua" "http://127.0.0.1:$port/healthz"
run "POST /v1/score" -s "$work/post.lua" "http://127.0.0.1:$port/v1/score"
if [ -z "${AUDIT_OFF:-}" ]; then
  echo "audit records written: $(wc -l < "$work/audit.jsonl")"
  "$bin" audit verify "$work/audit.jsonl" | sed 's/^/audit: /'
fi
