"""Guided exercises read from responses/: a catalogue and one step at a time."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.texts import Texts

COMMAND_ALIASES = {"breathe": "box", "ground": "grounding"}


@dataclass(frozen=True, slots=True)
class Exercise:
    key: str
    title: str
    steps: tuple[str, ...]


def catalogue(texts: Texts) -> dict[str, Exercise]:
    """Every exercise in `exercises.<key>.title/steps`, in file order."""
    found: dict[str, Exercise] = {}
    for entry in texts.entries:
        if entry.startswith("exercises.") and entry.endswith(".title"):
            key = entry.split(".")[1]
            found[key] = Exercise(
                key, texts.get(entry), tuple(texts.lines(f"exercises.{key}.steps"))
            )
    return found
