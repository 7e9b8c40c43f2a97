#!/usr/bin/env bash
# Report memory (issue 12): does `tessera report` stay within the same memory on a log ten times
# longer? Takes an event log (e.g. the 1,003,065-event log `scripts/train-speed.sh 20100 60`
# keeps with KEEP=DIR), writes nine earlier copies of it beside the original (timestamps moved
# back by whole spans of the log, request ids renamed, the same customers, devices and
# addresses, every copy in the past), then reports over the first copy alone and over all ten,
# sampling the process's anonymous and file-backed resident memory every 5 s, and prints each
# run's peak and the outcome counts (ten times the first's when every outcome joined).
#
#   scripts/report-memory.sh LOG.parquet [WORKDIR]
#
# Needs Python with polars (`.ci/run`'s venv: TESSERA_NOTEBOOK_VENV, or PYTHON=...). Freed
# pages go back to the system as they are freed (MIMALLOC_PURGE_DELAY=0), so the peaks are what
# the report holds, not what the allocator keeps for reuse. TESSERA_BIN=path skips the build.
set -euo pipefail
cd "$(dirname "$0")/.."
log=${1:?usage: scripts/report-memory.sh LOG.parquet [WORKDIR]}
work=${2:-$(mktemp -d)}
python=${PYTHON:-${TESSERA_NOTEBOOK_VENV:-/var/tmp/tessera-ci/venv}/bin/python}
if [ -z "${TESSERA_BIN:-}" ]; then
  cargo build --release --bin tessera
fi
bin=${TESSERA_BIN:-${CARGO_TARGET_DIR:-target}/release/tessera}
mkdir -p "$work/x10"

"$python" - "$log" "$work/x10" <<'EOF'
import sys
import polars as pl

src, out = sys.argv[1], sys.argv[2]
df = pl.read_parquet(src)
span = df["ts_ms"].max() - df["ts_ms"].min() + 86_400_000
for k in range(10):
    shift = (k - 9) * span
    d = df.with_columns(pl.col("ts_ms") + shift)
    if k != 9:
        # The payload's own timestamp moves with the row; request ids get the copy's prefix.
        parts = pl.col("payload").str.extract_groups(r'^(.*?"timestamp":")([^"]+)(".*)$')
        stamp = pl.from_epoch(pl.col("ts_ms"), time_unit="ms").dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
        d = d.with_columns(parts.alias("p")).with_columns(
            pl.concat_str([pl.col("p").struct.field("1"), stamp, pl.col("p").struct.field("3")])
            .str.replace_all('"request_id":"r-', f'"request_id":"r{k}-', literal=True)
            .alias("payload"),
            pl.col("request_id").str.replace("^r-", f"r{k}-"),
        ).drop("p")
    d.write_parquet(f"{out}/part-{k:02d}.parquet")
EOF

run() { # name, glob
  local out="$work/$1" samples="$work/$1.rss"
  rm -rf "$out" "$samples"
  MIMALLOC_PURGE_DELAY=0 "$bin" report --events "$2" --out "$out" >"$work/$1.log" 2>&1 &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    grep -E 'RssAnon|RssFile' "/proc/$pid/status" 2>/dev/null | awk '{printf "%d ", $2/1024}' >>"$samples" || true
    echo >>"$samples"
    sleep 5
  done
  wait "$pid"
  awk 'NF==2 { if ($1+$2 > peak) { peak = $1+$2; anon = $1 } } END { printf "%s: peak RSS %d MiB (anonymous %d MiB)\n", name, peak, anon }' name="$1" "$samples"
  tail -n 1 "$work/$1.log"
}
run one "$work/x10/part-00.parquet"
run ten "$work/x10/part-*.parquet"
echo "work: $work"
