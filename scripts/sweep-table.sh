#!/usr/bin/env bash
# The settings sweep in docs/backtest-sweep.md: for each of three zone triples, the backtest of
# the 2022 life-cycle series with the NASA demand trace (12-replica peak), replayed for every
# combination of HOLD_CYCLES 1/3/5, COOLDOWN 1m/3m/10m and REBALANCE_MARGIN off/20/50, and the
# Pareto-optimal combinations printed as Markdown tables.
# Needs ../shared/data (the carbon series and the NASA trace) and a release build.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/real-data.sh
source scripts/real-data.sh

for triple in "a=DK-DK1,b=FR,c=LV" "a=DK-DK1,b=LT,c=LV" "a=CH,b=DK-DK1,c=DK-DK2"; do
  "$BIN" backtest --regions "$triple" --carbon-dir "$carbon" --carbon-start 2022-01-01 \
    --demand "$demand" --demand-peak 12 \
    --sweep hold-cycles=1,3,5 --sweep cooldown=1m,3m,10m --sweep rebalance-margin=off,20,50 \
    -o json |
    python3 -c '
import json, sys
d = json.load(sys.stdin)
zones = "/".join(r.split("=")[1] for r in d["regions"])
rows = d["rows"]
front = [r for r in rows if r["pareto"]]
print("### %s: %d of %d combinations on the Pareto front" % (zones, len(front), len(rows)))
print()
print("| HOLD_CYCLES | COOLDOWN | REBALANCE_MARGIN | kgCO2eq | share captured | actions per hour | under-provisioned minutes |")
print("|---|---|---|---|---|---|---|")
for r in front:
    s = dict(r["settings"])
    print("| %s | %s | %s | %.3f | %.1f%% | %.3f | %.0f |" % (
        s["hold-cycles"], s["cooldown"], s["rebalance-margin"], r["policyKg"],
        r["shareCaptured"] * 100, r["actionsPerHour"], r["underProvisionedMinutes"]))
print()
'
done
