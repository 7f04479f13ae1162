#!/usr/bin/env bash
# The rebalancing evidence in docs/rebalancing.md: the backtest on the 2022 life-cycle series of three zone
# triples with the NASA demand trace, for the plain rule and REBALANCE_MARGIN 0, 20 and 50 g.
# Needs ../shared/data (the carbon series and the NASA trace) and a release build.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/real-data.sh
source scripts/real-data.sh

echo "| zones | rule | share captured | actions per hour | under-provisioned minutes (carbon-blind) |"
echo "|---|---|---|---|---|"
for triple in "a=DK-DK1,b=FR,c=LV" "a=DK-DK1,b=LT,c=LV" "a=CH,b=DK-DK1,c=DK-DK2"; do
  for margin in off 0 20 50; do
    "$BIN" backtest --regions "$triple" --carbon-dir "$carbon" --carbon-start 2022-01-01 \
      --demand "$demand" --demand-peak 12 --rebalance-margin "$margin" -o json |
      python3 -c '
import json, sys
d = json.load(sys.stdin)
zones = "/".join(r["zone"] for r in d["regions"])
rule = "plain rule" if sys.argv[1] == "off" else "margin " + sys.argv[1] + " g"
share = d["shareCaptured"] * 100
per_hour = d["scalingActionsPerDay"]["policy"] / 24
policy_under = d["underProvisionedMinutes"]["policy"]
blind_under = d["underProvisionedMinutes"]["blind"]
print(f"| {zones} | {rule} | {share:.1f}% | {per_hour:.3f} | {policy_under:.0f} ({blind_under:.0f}) |")
' "$margin"
  done
done
