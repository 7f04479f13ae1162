#!/usr/bin/env bash
# The "Replicas or HPA floors" tables of docs/backtest.md: the backtest in floors mode (--scale-target
# hpa-min, default HPA model) next to replicas mode, on the 2022 life-cycle series of three zone
# triples with the NASA demand trace. Extra arguments go to every run and name the rows, e.g.
# `scripts/floors-table.sh --scale-up-threshold 50 --scale-down-threshold 20`.
# Needs ../shared/data and a release build.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/real-data.sh
source scripts/real-data.sh

settings=${*:-defaults}
echo "| zones | settings | mode | kgCO2eq | kg avoided (counterfactual kg) | share captured | under-provisioned minutes (counterfactual) | carbonctl actions per day | replica-hours |"
echo "|---|---|---|---|---|---|---|---|---|"
for triple in "a=DK-DK1,b=FR,c=LV" "a=DK-DK1,b=LT,c=LV" "a=CH,b=DK-DK1,c=DK-DK2"; do
  "$BIN" backtest --regions "$triple" --carbon-dir "$carbon" --carbon-start 2022-01-01 \
    --demand "$demand" --demand-peak 12 --scale-target hpa-min "$@" -o json |
    python3 -c '
import json, sys
d = json.load(sys.stdin)
zones = "/".join(r["zone"] for r in d["regions"])
for mode, label in (("replicas", "replicas"), ("hpaMin", "hpa-min")):
    m = d["floors"][mode]
    share = "n/a" if m["shareCaptured"] is None else "%.1f%%" % (m["shareCaptured"] * 100)
    print("| %s | %s | %s | %.3f | %.3f (%.3f) | %s | %.0f (%.0f) | %.1f | %.0f |" % (
        zones, sys.argv[1], label, m["emissionsKg"], m["avoidedKg"], m["counterfactualKg"], share,
        m["underProvisionedMinutes"], m["counterfactualUnderProvisionedMinutes"],
        m["actionsPerDay"], m["replicaHours"]))
' "$settings"
done
