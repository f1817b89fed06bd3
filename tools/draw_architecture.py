"""Draws docs/architecture.png: the packages of bot/, the core's ports, and who implements them.

Run `python tools/draw_architecture.py` after changing the picture's facts below.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.patches import FancyBboxPatch

OUT = Path(__file__).resolve().parents[1] / "docs" / "architecture.png"

# name: (x, y, width, height, colour, lines)
BOXES = {
    "adapters": (
        0.2,
        6.2,
        3.4,
        1.6,
        "#dbe9f6",
        ["bot.adapters", "telegram · discord · console", "only translate"],
    ),
    "app": (
        4.3,
        6.2,
        3.4,
        1.6,
        "#f6e7c8",
        ["bot.app (+ runner, cli)", "build(settings) -> App", "wires everything once"],
    ),
    "config": (8.4, 6.2, 3.0, 1.6, "#eeeeee", ["bot.config", "every section's model"]),
    "core": (
        2.6,
        2.6,
        6.4,
        2.9,
        "#d9f0d3",
        [
            "bot.core",
            "Dialogue: risk first, then flow / command / intent",
            "Flow states · CommandRegistry · GroupAdmin",
            "ports.py: NluEngine  Signposts  Conversations",
            "CaseDesk  MessageCounter  NoticeSink  CoreFacade",
        ],
    ),
    "nlu": (0.0, 0.2, 2.6, 1.5, "#fde0dd", ["bot.nlu", "NluEngine"]),
    "signposts": (2.9, 0.2, 2.8, 1.5, "#fde0dd", ["bot.signposts", "+ bot.helplines", "Signposts"]),
    "storage": (
        6.0,
        0.2,
        2.6,
        1.5,
        "#fde0dd",
        ["bot.storage.Store", "Conversations", "MessageCounter"],
    ),
    "escalation": (
        8.9,
        0.2,
        2.8,
        1.5,
        "#fde0dd",
        ["bot.escalation", "CaseService: CaseDesk", "outbox -> NoticeSink"],
    ),
}
# (from, to, label): "uses" arrows point at what is used
ARROWS = [
    ("adapters", "core", "CoreFacade\n(Inbound -> Outcome)"),
    ("app", "core", "builds"),
    ("app", "config", ""),
    ("nlu", "core", "implements"),
    ("signposts", "core", "implements"),
    ("storage", "core", "implements"),
    ("escalation", "core", "implements"),
]


def centre(name: str) -> tuple[float, float]:
    x, y, w, h, *_ = BOXES[name]
    return x + w / 2, y + h / 2


def edge(name: str, towards: tuple[float, float]) -> tuple[float, float]:
    """Where the line from the box's centre towards `towards` leaves the box."""
    _, _, w, h, *_ = BOXES[name]
    cx, cy = centre(name)
    dx, dy = towards[0] - cx, towards[1] - cy
    scale = min(
        (w / 2) / abs(dx) if dx else float("inf"),
        (h / 2) / abs(dy) if dy else float("inf"),
    )
    return cx + dx * scale, cy + dy * scale


def main() -> None:
    fig, ax = plt.subplots(figsize=(12, 8.4))
    ax.set_xlim(-0.2, 11.9)
    ax.set_ylim(-0.1, 8.1)
    ax.axis("off")
    for x, y, w, h, colour, lines in BOXES.values():
        ax.add_patch(
            FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.05", fc=colour, ec="#444444")
        )
        ax.text(x + w / 2, y + h - 0.35, lines[0], ha="center", va="center", weight="bold")
        for i, line in enumerate(lines[1:], 1):
            ax.text(x + w / 2, y + h - 0.35 - 0.42 * i, line, ha="center", va="center", size=9)
    for source, target, label in ARROWS:
        start = edge(source, centre(target))
        end = edge(target, centre(source))
        ax.annotate("", end, start, arrowprops={"arrowstyle": "->", "color": "#333333"})
        if label:
            mx, my = (start[0] + end[0]) / 2, (start[1] + end[1]) / 2
            ax.text(mx + 0.08, my, label, size=8, color="#333333", ha="left", va="center")
    ax.text(
        5.85,
        8.0,
        "Signpost: the core imports only its ports; arrows point at what a package imports",
        ha="center",
        size=11,
    )
    fig.savefig(OUT, dpi=110, bbox_inches="tight")


if __name__ == "__main__":
    main()
