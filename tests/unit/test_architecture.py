"""The shape of the package: the core loads none of its implementations, and no package loops."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUTSIDE_THE_CORE = ("sqlalchemy", "bot.storage", "bot.escalation", "bot.adapters", "bot.app")


def test_the_dialogue_core_loads_no_storage_escalation_or_adapter() -> None:
    probe = "import sys, bot.core.dialogue; print('\\n'.join(sorted(sys.modules)))"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert "bot.core.dialogue" in loaded
    leaked = [m for m in loaded if m.startswith(OUTSIDE_THE_CORE)]
    assert leaked == [], f"bot.core.dialogue pulls in {leaked}"


def package_graph() -> dict[str, set[str]]:
    """`bot.<package or module>` → the other ones it imports (at any depth inside it)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for path in (ROOT / "bot").rglob("*.py"):
        here = ".".join(path.relative_to(ROOT).with_suffix("").parts[:2])
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                there = ".".join(name.split(".")[:2])
                if name.startswith("bot.") and there != here:
                    graph[here].add(there)
    return graph


def find_loop(graph: dict[str, set[str]]) -> list[str] | None:
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        for target in sorted(graph.get(node, ())):
            loop = visit(target, [*path, node])
            if loop:
                return loop
        done.add(node)
        return None

    for start in sorted(graph):
        loop = visit(start, [])
        if loop:
            return loop
    return None


def test_the_packages_of_bot_import_each_other_without_loops() -> None:
    graph = package_graph()
    assert "bot.storage" in graph["bot.app"], "the graph reader found no imports"
    assert find_loop(graph) is None, " → ".join(find_loop(graph) or [])


def test_the_loop_finder_finds_a_loop() -> None:
    assert find_loop({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_loop({"a": {"b"}, "b": set()}) is None
