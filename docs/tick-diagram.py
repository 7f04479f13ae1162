#!/usr/bin/env python3
"""Draws docs/tick.svg, one carbonctl tick, from the layout below (standard library only).

    python3 docs/tick-diagram.py          write docs/tick.svg
    python3 docs/tick-diagram.py --check  exit 1 if docs/tick.svg is not what the layout draws
                                          (hack/check-manifests.sh runs it, so the two cannot drift)
"""
import sys
from html import escape
from pathlib import Path

W, H = 900, 440
BOX_W, BOX_H = 190, 58

# name: (x, y, title, subtitle, fill); x, y are the box's top-left corner.
BOXES = {
    "nodes": (250, 50, "API server", "nodes, Deployments, HPAs", "#eef3fb"),
    "metrics": (470, 50, "metrics-server", "NodeMetrics", "#eef3fb"),
    "carbon": (690, 50, "carbon API", "intensity per zone, cached", "#eaf7ea"),
    "state": (20, 200, "state ConfigMap", "holds, cooldown, caches", "#fdf6e3"),
    "decide": (470, 200, "settle and decide", "pure: no I/O, no clock", "#f3eefb"),
    "claim": (250, 350, "claim", "compare-and-swap write", "#fdf6e3"),
    "scale": (470, 350, "conditional scale", "at most one replica", "#fbeeee"),
    "event": (690, 350, "Event", "on the object changed", "#fbeeee"),
}

# (from, to, step label); arrows leave and enter the nearest box sides.
ARROWS = [
    ("state", "decide", "1 read"),
    ("nodes", "decide", "2 list"),
    ("metrics", "decide", "2 list"),
    ("carbon", "decide", "3 refresh"),
    ("decide", "claim", "4 decision"),
    ("claim", "state", "5 write"),
    ("claim", "scale", "6"),
    ("scale", "event", "6"),
]


def centre(name):
    x, y, *_ = BOXES[name]
    return x + BOX_W / 2, y + BOX_H / 2


def edge(name, towards):
    """The point on box `name`'s border on the line to `towards`."""
    (cx, cy), (tx, ty) = centre(name), towards
    dx, dy = tx - cx, ty - cy
    if dx == 0 and dy == 0:
        return cx, cy
    scale = min(
        (BOX_W / 2) / abs(dx) if dx else float("inf"),
        (BOX_H / 2) / abs(dy) if dy else float("inf"),
    )
    return cx + dx * scale, cy + dy * scale


def draw():
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
        f'viewBox="0 0 {W} {H}" font-family="sans-serif">',
        "<title>One carbonctl tick</title>",
        '<defs><marker id="head" markerWidth="10" markerHeight="8" refX="9" refY="4" '
        'orient="auto"><path d="M0,0 L10,4 L0,8 z" fill="#444"/></marker></defs>',
        f'<rect width="{W}" height="{H}" fill="white"/>',
    ]
    for a, b, label in ARROWS:
        x1, y1 = edge(a, centre(b))
        x2, y2 = edge(b, centre(a))
        out.append(
            f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
            'stroke="#444" stroke-width="1.5" marker-end="url(#head)"/>'
        )
        mx, my = (x1 + x2) / 2, (y1 + y2) / 2
        out.append(
            f'<text x="{mx + 4:.1f}" y="{my - 5:.1f}" font-size="12" fill="#333">'
            f"{escape(label)}</text>"
        )
    for x, y, title, subtitle, fill in BOXES.values():
        out.append(
            f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="8" '
            f'fill="{fill}" stroke="#555"/>'
        )
        out.append(
            f'<text x="{x + BOX_W / 2:.0f}" y="{y + 24}" font-size="15" font-weight="bold" '
            f'text-anchor="middle">{escape(title)}</text>'
        )
        out.append(
            f'<text x="{x + BOX_W / 2:.0f}" y="{y + 44}" font-size="12" fill="#444" '
            f'text-anchor="middle">{escape(subtitle)}</text>'
        )
    out.append(
        '<text x="20" y="28" font-size="16" font-weight="bold">One tick: a CronJob runs '
        "carbonctl once a minute</text>"
    )
    out.append(
        f'<text x="20" y="{H - 14}" font-size="12" fill="#444">Steps as in the README\'s "How '
        "a tick works\"; 7, one log line per tick, is not drawn.</text>"
    )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    target = Path(__file__).with_name("tick.svg")
    drawn = draw()
    if sys.argv[1:] == ["--check"]:
        if not target.exists() or target.read_text() != drawn:
            print(f"{target} is not what {Path(__file__).name} draws; run it", file=sys.stderr)
            return 1
        return 0
    if sys.argv[1:]:
        print(__doc__, file=sys.stderr)
        return 2
    target.write_text(drawn)
    return 0


if __name__ == "__main__":
    sys.exit(main())
