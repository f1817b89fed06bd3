"""Locate the content folders (nlu/, responses/, resources/, config.yml).

An editable install runs from the checkout, where the folders sit beside `bot/`; a built wheel
carries them inside the package as `bot/_content/`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def content_root() -> Path:
    """Return the folder that holds nlu/, responses/, resources/ and config.yml."""
    bundled = _PACKAGE_DIR / "_content"
    if (bundled / "responses").is_dir():
        return bundled
    return _PACKAGE_DIR.parent


@dataclass(frozen=True, slots=True)
class ContentPaths:
    root: Path

    @classmethod
    def default(cls) -> ContentPaths:
        return cls(content_root())

    @property
    def nlu(self) -> Path:
        return self.root / "nlu"

    @property
    def responses(self) -> Path:
        return self.root / "responses"

    @property
    def resources(self) -> Path:
        return self.root / "resources"

    @property
    def helplines(self) -> Path:
        return self.root / "resources" / "helplines"

    @property
    def config(self) -> Path:
        return self.root / "config.yml"
