"""The plain carbonctl rule as a plain CPython loop: the reference `benches/backtest.rs` sets
beside the Rust replay of the same year (standard library only).

Reads the inputs the benchmark writes (JSON: hourly carbon per region, demand per tick and the
policy), replays scale-up/scale-down with holds, cooldown and per-region bounds, every region
starting at its floor, and prints the seconds the loop took and the actions it made, so the
benchmark can check both replays agree before comparing their times.
"""

import json
import sys
import time


def replay(x):
    names = x["regions"]
    carbon = x["carbon"]
    demand = x["demand"]
    start, interval = x["from"], x["interval"]
    up_at, down_at = x["scaleUpThreshold"], x["scaleDownThreshold"]
    cycles, cooldown = x["holdCycles"], x["cooldownSecs"]
    lo, hi = x["min"], x["max"]
    n = len(names)
    replicas = [lo] * n
    hold_up = hold_down = 0
    last_scale = None
    actions = 0
    for k, d in enumerate(demand):
        now = start + k * interval
        hour = (now - start) // 3600
        total = sum(replicas)
        if total > 0:
            cpu = min(d / total * 100.0, 100.0)
        else:
            cpu = 100.0 if d > 0 else 0.0
        if cpu > up_at:
            hold_up, hold_down, delta = min(hold_up + 1, cycles), 0, 1
            count = hold_up
        elif cpu < down_at:
            hold_up, hold_down, delta = 0, min(hold_down + 1, cycles), -1
            count = hold_down
        else:
            hold_up = hold_down = 0
            continue
        if count < cycles:
            continue
        if last_scale is not None and now - last_scale < cooldown:
            continue
        order = sorted(range(n), key=lambda i: (carbon[i][hour], names[i]))
        if delta < 0:
            order.reverse()
        for i in order:
            if (delta > 0 and replicas[i] < hi) or (delta < 0 and replicas[i] > lo):
                replicas[i] += delta
                hold_up = hold_down = 0
                last_scale = now
                actions += 1
                break
    return actions


def main():
    with open(sys.argv[1]) as f:
        x = json.load(f)
    started = time.perf_counter()
    actions = replay(x)
    print(f"{time.perf_counter() - started:.6f} {actions}")


if __name__ == "__main__":
    main()
