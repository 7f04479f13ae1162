#!/usr/bin/env bash
# The forecast evidence in docs/rebalancing.md: the backtest on the 2022 life-cycle series of the
# two zone triples whose cleanest zone changes about three times a day, with the NASA demand trace,
# for rebalancing on the latest values (REBALANCE_MARGIN 20, 25, 30 and 35 g) and on forecasts
# (REBALANCE_FORECAST 2h, 3h and 4h at 20 g, perfect and degraded; see src/backtest/forecast.rs).
# Needs ../shared/data (the carbon series and the NASA trace) and a release build.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/real-data.sh
source scripts/real-data.sh

echo "| zones | rebalancing on | share captured | rebalancing steps | under-provisioned minutes |"
echo "|---|---|---|---|---|"
for triple in "a=DK-DK1,b=LT,c=LV" "a=CH,b=DK-DK1,c=DK-DK2"; do
  for rule in "latest 20" "latest 25" "latest 30" "latest 35" \
    "2h:perfect 20" "3h:perfect 20" "4h:perfect 20" \
    "2h:degraded 20" "3h:degraded 20" "4h:degraded 20"; do
    read -r signal margin <<<"$rule"
    extra=()
    if [ "$signal" != latest ]; then
      extra=(--rebalance-forecast "${signal%%:*}" --forecast "${signal#*:}")
    fi
    "$BIN" backtest --regions "$triple" --carbon-dir "$carbon" --carbon-start 2022-01-01 \
      --demand "$demand" --demand-peak 12 --rebalance-margin "$margin" "${extra[@]}" -o json |
      python3 -c '
import json, sys
d = json.load(sys.stdin)
zones = "/".join(r["zone"] for r in d["regions"])
signal, margin = sys.argv[1], sys.argv[2]
if signal == "latest":
    rule = f"latest values, margin {margin} g"
else:
    horizon, model = signal.split(":")
    rule = f"{model} {horizon} forecast, margin {margin} g"
share = d["shareCaptured"] * 100
steps = d["actions"]["policy"]["rebalance"]
under = d["underProvisionedMinutes"]["policy"]
print(f"| {zones} | {rule} | {share:.2f}% | {steps} | {under:.0f} |")
' "$signal" "$margin"
  done
done
