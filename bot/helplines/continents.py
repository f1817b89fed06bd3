"""Continents for the region picker and the coverage page (pycountry has none).

Kept apart from `directory.py` and `regions.py` so that both can use it without importing each
other: the directory summarises regions with their continent, the picker groups them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from bot.content import ContentPaths
from bot.helplines.normalise import normalise
from bot.helplines.yamlsafe import load_yaml

OTHER = "other"


@dataclass(frozen=True, slots=True)
class RegionSummary:
    code: str
    name: str
    continent: str | None


class _Continents(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    continents: dict[str, list[str]]


@dataclass(frozen=True, slots=True)
class ContinentMap:
    """Continent id → country codes, in picker order (from `resources/continents.yml`)."""

    groups: Mapping[str, tuple[str, ...]]

    @classmethod
    def load(cls, path: Path) -> ContinentMap:
        if not path.exists():
            return cls({})
        model = _Continents.model_validate(load_yaml(path).data)
        return cls({key: tuple(codes) for key, codes in model.continents.items()})

    def continent_of(self, code: str) -> str | None:
        country = code.split("-", 1)[0]
        for continent, codes in self.groups.items():
            if country in codes:
                return continent
        return None

    def continents_of(self, code: str) -> list[str]:
        country = code.split("-", 1)[0]
        return [continent for continent, codes in self.groups.items() if country in codes]


def continents(
    summaries: Iterable[RegionSummary], continent_map: ContinentMap | None = None
) -> dict[str, list[RegionSummary]]:
    """Group regions for the picker: continent id → regions sorted by name.

    Groups follow `resources/continents.yml` (or `continent_map`): its order, and a country
    listed under two continents appears under both. Regions with no continent go under "other".
    """
    mapping = continent_map if continent_map is not None else _packaged_continents()
    groups: dict[str, list[RegionSummary]] = {key: [] for key in mapping.groups}
    for summary in summaries:
        keys = mapping.continents_of(summary.code) or [summary.continent or OTHER]
        for key in keys:
            groups.setdefault(key, []).append(summary)
    return {
        key: sorted(items, key=lambda item: normalise(item.name))
        for key, items in groups.items()
        if items
    }


@cache
def _packaged_continents() -> ContinentMap:
    try:
        return ContinentMap.load(ContentPaths.default().resources / "continents.yml")
    except (ValueError, OSError):  # the picker still works, grouped under "other"
        return ContinentMap({})
