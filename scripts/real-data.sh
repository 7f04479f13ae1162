# Sourced by the scripts that make the evidence tables from the full datasets: BIN (the release
# build), carbon (the 2022 life-cycle series of every zone) and demand (the NASA trace, extracted
# to a temporary file removed on exit). SHARED points at ../shared/data unless set.
# shellcheck shell=bash disable=SC2034 # the variables are for the scripts that source this
BIN=${BIN:-target/release/carbonctl}
SHARED=${SHARED:-../shared/data}
carbon="$SHARED/carbon/umassos-decarbonization-potential_2022_LCA"
demand=$(mktemp)
trap 'rm -f "$demand"' EXIT
tar -xjOf "$SHARED/demand/nasa/workload.tbz2" > "$demand"
