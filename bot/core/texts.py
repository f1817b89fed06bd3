"""Every sentence the bot sends comes from `responses/<locale>.yml`.

A locale may also be split into a folder `responses/<locale>/*.yml` whose files are merged with
the single file (a key may be defined only once). Keys are dotted paths (`crisis.high`). A value
is a string (a template with `{field}` placeholders) or a list of strings (`get` joins them with
a blank line, `lines` returns them). A missing key is a programming error and raises `KeyError`.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

DEFAULT_LOCALE = "en"


class ResponsesError(ValueError):
    """A responses file is malformed (file, key and reason in the message)."""


def _flatten(prefix: str, node: Any, out: dict[str, str | tuple[str, ...]], source: Path) -> None:
    if isinstance(node, Mapping):
        for key, value in node.items():
            if not isinstance(key, str):
                raise ResponsesError(
                    f"{source}: key {key!r} under {prefix or '<root>'} is not text"
                )
            _flatten(f"{prefix}.{key}" if prefix else key, value, out, source)
    elif isinstance(node, str):
        out[prefix] = node.strip()
    elif isinstance(node, list) and all(isinstance(item, str) for item in node):
        out[prefix] = tuple(item.strip() for item in node)
    else:
        raise ResponsesError(f"{source}: {prefix}: expected text or a list of texts")


@dataclass(frozen=True, slots=True)
class Texts:
    locale: str
    entries: Mapping[str, str | tuple[str, ...]]

    @classmethod
    def load(cls, responses_dir: Path, locale: str = DEFAULT_LOCALE) -> Texts:
        single = responses_dir / f"{locale}.yml"
        folder = responses_dir / locale
        paths = [single] if single.is_file() else []
        paths += sorted(folder.glob("*.yml")) if folder.is_dir() else []
        if not paths:
            raise ResponsesError(f"{single}: no responses for locale {locale!r}")
        entries: dict[str, str | tuple[str, ...]] = {}
        for path in paths:
            try:
                data = yaml.safe_load(path.read_text(encoding="utf-8"))
            except yaml.YAMLError as exc:
                raise ResponsesError(f"{path}: not valid YAML: {exc}") from exc
            if data is None:
                continue
            if not isinstance(data, Mapping):
                raise ResponsesError(f"{path}: the top level must be a mapping of keys")
            found: dict[str, str | tuple[str, ...]] = {}
            _flatten("", data, found, path)
            clash = set(found) & set(entries)
            if clash:
                raise ResponsesError(f"{path}: keys defined twice: {', '.join(sorted(clash))}")
            entries.update(found)
        return cls(locale, entries)

    def has(self, key: str) -> bool:
        return key in self.entries

    def lines(self, key: str, **fields: object) -> list[str]:
        value = self.entries[key]
        items = (value,) if isinstance(value, str) else value
        return [_format(item, fields) for item in items]

    def get(self, key: str, **fields: object) -> str:
        return "\n\n".join(self.lines(key, **fields))

    def all_sentences(self) -> list[str]:
        """Every template, for tests that check outgoing text comes from responses/."""
        out: list[str] = []
        for value in self.entries.values():
            out.extend((value,) if isinstance(value, str) else value)
        return out


class _SafeFields(dict[str, object]):
    def __missing__(self, key: str) -> str:
        raise KeyError(f"template needs field {key!r}")


def _format(template: str, fields: Mapping[str, object]) -> str:
    if not fields and "{" not in template:
        return template
    return string.Formatter().vformat(template, (), _SafeFields(fields))
