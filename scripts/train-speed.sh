#!/usr/bin/env bash
# Training speed (issue 11): generates a seeded event log of about 1,000,000 rows, then times a
# full `tessera train` on it with /usr/bin/time, and prints the replay rate (events/s, reading,
# parsing and replaying together; and per CPU-second), the fit seconds, the whole run's wall and
# CPU seconds, its peak memory, and the load average before and after (the machine may be shared).
#
#   scripts/train-speed.sh [USERS=18500] [DAYS=60] [MODEL=logistic] [CORES=2]
#
# 18,500 users × 60 days gives about 1.0 M rows with the generator of this commit. CORES pins the
# train to that many CPUs with taskset (when present) and sets POLARS_MAX_THREADS and
# RAYON_NUM_THREADS to match. TESSERA_BIN=path skips the build; KEEP=DIR keeps the data and model
# there (and reuses a data file already there).
set -euo pipefail
cd "$(dirname "$0")/.."
users=${1:-18500}
days=${2:-60}
model=${3:-logistic}
cores=${4:-2}

if [ -z "${TESSERA_BIN:-}" ]; then
  cargo build --release --bin tessera
fi
bin=${TESSERA_BIN:-${CARGO_TARGET_DIR:-target}/release/tessera}
if [ -n "${KEEP:-}" ]; then
  work=$KEEP
  mkdir -p "$work"
else
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
fi
data=$work/events-${users}x${days}.parquet

if [ ! -f "$data" ]; then
  echo "train-speed: generating $users users x $days days"
  "$bin" gen-data --users "$users" --days "$days" --seed 7 --out "$data"
fi

pin=()
if command -v taskset >/dev/null; then
  last=$((cores - 1))
  pin=(taskset -c "0-$last")
fi
export POLARS_MAX_THREADS=$cores RAYON_NUM_THREADS=$cores
rm -rf "$work/model"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
/usr/bin/time -f '%e %M %U %S' -o "$work/time.txt" \
  "${pin[@]}" "$bin" train --data "$data" --model "$model" --out "$work/model" | tee "$work/train.txt"
read -r wall_s peak_kb user_s sys_s < "$work/time.txt"
echo "load before and after: $load_before / $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$work/model/metrics.json" "$wall_s" "$peak_kb" "$user_s" "$sys_s" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
wall_s, peak_kb = float(sys.argv[2]), int(sys.argv[3])
cpu_s = float(sys.argv[4]) + float(sys.argv[5])
rows = m["data"]["description"]["rows"]
sec = m["seconds"]
replay = sec.get("replay", 0.0)
print(f"rows {rows}  labelled {m['data']['labelled_rows']}")
print(f"replay (read + parse + replay) {replay:.1f} s = {rows / replay:,.0f} events/s")
if "replay_cpu" in sec:
    rc = sec["replay_cpu"]
    print(f"replay CPU (user + sys, all threads) {rc:.1f} s = {rows / rc:,.0f} events per CPU-second")
print(f"fit {sec.get('fit', 0.0):.1f} s  calibrate {sec.get('calibrate', 0.0):.1f} s  "
      f"evaluate {sec.get('evaluate', 0.0):.1f} s")
print(f"whole train {wall_s:.1f} s wall, {cpu_s:.1f} s CPU (user + sys)  peak RSS {peak_kb / 1024:,.0f} MiB")
print(f"test ROC AUC {m['test']['roc_auc']:.4f}")
PY
