#!/usr/bin/env bash
# The model-family comparison of the README ("Model families and calibration"): every family
# trained on the main generator's log, scored on its own held-out test split and on the
# independently written holdout world (trained on neither), and trained on an RBA-layout login
# file; prints the Markdown tables the README shows.
#
#   scripts/compare-families.sh [WORK_DIR]
#
# TESSERA_BIN=path skips the release build. The generated files and model directories stay in
# WORK_DIR (default: a temporary directory, removed afterwards).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${TESSERA_BIN:-}" ]; then
  cargo build --release --bin tessera
fi
bin=${TESSERA_BIN:-${CARGO_TARGET_DIR:-target}/release/tessera}
if [ -n "${1:-}" ]; then
  work=$1
  mkdir -p "$work"
else
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
fi
families=(logistic forest boosting freeman anomaly)

echo "compare: generating the three datasets" >&2
"$bin" gen-data --users 2000 --days 60 --seed 7 --out "$work/main.parquet" >&2
"$bin" gen-data --world holdout --users 2000 --days 60 --seed 11 --out "$work/holdout.parquet" >&2
"$bin" gen-data --format rba --users 2500 --days 30 --seed 7 --out "$work/rba.csv" >&2

for f in "${families[@]}"; do
  echo "compare: training $f" >&2
  "$bin" train --data "$work/main.parquet" --model "$f" --seed 1 --out "$work/models/$f" >/dev/null
  "$bin" train --format rba --data "$work/rba.csv" --model "$f" --seed 1 \
    --out "$work/models/rba-$f" >/dev/null
done
args=()
for f in "${families[@]}"; do args+=(--model "$f"); done
"$bin" eval models --data "$work/holdout.parquet" --dir "$work/models" "${args[@]}" --model rules \
  --json >"$work/holdout.json"

python3 - "$work" "${families[@]}" <<'PY'
import json, sys
work, families = sys.argv[1], sys.argv[2:]
def load(name):
    return json.load(open(f"{work}/models/{name}/metrics.json"))
def table(title, cols):
    # cols: [(name, evaluation)]
    print(f"\n**{title}**\n")
    print("| metric | " + " | ".join(n for n, _ in cols) + " |")
    print("|---|" + "---:|" * len(cols))
    rows = [
        ("ROC AUC", lambda e: e["roc_auc"]),
        ("PR AUC", lambda e: e["pr_auc"]),
        ("recall at 1 % genuine challenged", lambda e: e["recall_at"][0]["recall"]),
        ("recall at 5 % genuine challenged", lambda e: e["recall_at"][1]["recall"]),
        ("Brier score", lambda e: e["brier"]),
        ("genuine with trust ≥ 99", lambda e: e["trust_99_genuine"]),
        ("attacks with trust ≥ 99", lambda e: e["trust_99_attacks"]),
    ]
    for label, f in rows:
        print(f"| {label} | " + " | ".join(f"{f(e):.4f}" for _, e in cols) + " |")
    tactics = sorted({t for _, e in cols for t in e["per_tactic"]})
    for t in tactics:
        n = next(e["per_tactic"][t]["events"] for _, e in cols if t in e["per_tactic"])
        vals = []
        for _, e in cols:
            x = e["per_tactic"].get(t)
            vals.append(f"{x['recall_at_5pct']:.2f}" if x else "–")
        print(f"| recall at 5 %: {t} ({n}) | " + " | ".join(vals) + " |")
main = [(f, load(f)["test"]) for f in families]
main.append(("rules", load(families[0])["baselines"]["rules"]))
table("Main world, held-out test split (last 20 % by time)", main)
cal = {f: load(f)["calibration"]["chosen"] for f in families}
print("\ncalibration chosen on validation: " + ", ".join(f"{f} {c}" for f, c in cal.items()))
ho = json.load(open(f"{work}/holdout.json"))
table("Holdout world (trained on the main world; no model or parameter tuned on it)",
      [(n, ho[n]) for n in families + ["rules"]])
rba = [(f, load(f"rba-{f}")["test"]) for f in families]
rba.append(("rules", load(f"rba-{families[0]}")["baselines"]["rules"]))
table("RBA-layout login file, held-out test split", rba)
PY
