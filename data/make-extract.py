#!/usr/bin/env python3
"""Rebuilds the extract in this folder from ../shared/data (see README.md here). Stdlib only."""
import csv
import datetime
import pathlib
import tarfile

HERE = pathlib.Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "data"
START = datetime.datetime(2022, 10, 31, tzinfo=datetime.timezone.utc)
DAYS = 14
# Row i of a umassos file is the hour starting 2022-01-01T00:00Z + i h.
FIRST_ROW = int((START - datetime.datetime(2022, 1, 1, tzinfo=datetime.timezone.utc)).total_seconds()) // 3600
# NASA second 0 is 1995-07-01 00:00:01 EDT (a Saturday); 1995-07-03 is the Monday after.
NASA_FIRST_SECOND = 2 * 86400


def stamp(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


for zone in ["DK-DK1", "FR", "LV"]:
    src = SHARED / "carbon" / "umassos-decarbonization-potential_2022_LCA" / f"{zone}.csv"
    rows = list(csv.reader(src.open()))[1:]
    with (HERE / "carbon" / f"{zone}.csv").open("w") as out:
        out.write("timestamp,lifecycle_gco2eq_per_kwh\n")
        for i in range(DAYS * 24):
            out.write(f"{stamp(START + datetime.timedelta(hours=i))},{rows[FIRST_ROW + i][0]}\n")

with tarfile.open(SHARED / "demand" / "nasa" / "workload.tbz2", "r:bz2") as archive:
    member = next(m for m in archive.getmembers() if m.name.endswith("workload.txt"))
    per_second = archive.extractfile(member).read().split()
with (HERE / "demand" / "nasa-1995-07-03_14d_5min.csv").open("w") as out:
    out.write("timestamp,value\n")
    for k in range(DAYS * 24 * 12):
        first = NASA_FIRST_SECOND + k * 300
        requests = sum(int(v) for v in per_second[first:first + 300])
        out.write(f"{stamp(START + datetime.timedelta(minutes=5 * k))},{round(requests / 300, 4):g}\n")
