"""Shared by the benchmark scripts: percentiles, the machine, and saving figures for the page.

Each script prints its figures and, with `--save`, writes them to `benchmarks/results/<name>.json`
with the machine, the command and the date; `benchmarks/render.py` turns those files into
`docs/benchmarks.md`. Plots go beside the page as `docs/benchmarks-<name>.png`.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import shlex
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
DOCS = REPO / "docs"


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of `values`; nan when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def p50_p99(values: list[float]) -> dict[str, float]:
    return {"p50": percentile(values, 50), "p99": percentile(values, 99), "n": len(values)}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _memory_gb() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return float("nan")


def machine() -> dict[str, Any]:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gb": round(_memory_gb(), 1),
        "os": platform.platform(terse=True),
        "python": platform.python_version(),
        "load_1min_at_start": round(load[0], 2),
    }


def rss_mb(pid: int | None = None) -> float:
    """Current resident memory of a process (this one by default), from /proc."""
    path = Path(f"/proc/{pid or 'self'}/status")
    try:
        for line in path.read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def command_line() -> str:
    script = Path(sys.argv[0]).resolve()
    try:
        shown = str(script.relative_to(REPO))
    except ValueError:
        shown = str(script)
    return shlex.join([".venv/bin/python", shown, *sys.argv[1:]])


@dataclass(frozen=True)
class Run:
    """One benchmark run: when it started and the machine (with its load: cores may be shared)."""

    started: datetime
    machine: dict[str, Any]

    @classmethod
    def begin(cls) -> Run:
        return cls(datetime.now(UTC), machine())

    def save(self, name: str, figures: dict[str, Any], notes: list[str] | None = None) -> Path:
        """Write `benchmarks/results/<name>.json`: figures plus machine, command and date."""
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / f"{name}.json"
        payload = {
            "name": name,
            "command": command_line(),
            "date": self.started.strftime("%Y-%m-%d %H:%M UTC"),
            "seconds": round((datetime.now(UTC) - self.started).total_seconds(), 1),
            "machine": self.machine,
            "figures": figures,
            "notes": notes or [],
        }
        path.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
        print(f"saved {path.relative_to(REPO)}")
        return path


def plot_path(name: str) -> Path:
    DOCS.mkdir(parents=True, exist_ok=True)
    return DOCS / f"benchmarks-{name}.png"


def pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"figure.dpi": 110, "font.size": 9, "svg.hashsalt": "signpost"})
    return plt
