"""Read one YAML content file defensively and remember where every value came from.

Helpline files are edited by hand and reviewed in pull requests, so a loader must reject what a
reviewer cannot see at a glance: anchors and aliases (the "billion laughs" YAML bomb), huge or
deeply nested files, and duplicated keys (PyYAML silently keeps the last one). Every value's
line is recorded so schema errors can point at `file:line`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

# libyaml's parser when present: 10x faster, same events and marks as the pure-Python one.
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_BYTES = 1_000_000
MAX_DEPTH = 24

Loc = tuple[str | int, ...]


class YamlFileError(ValueError):
    """The file cannot be read as plain YAML data; `line` is 1-based when known."""

    def __init__(self, path: Path, message: str, line: int | None = None) -> None:
        self.path = path
        self.line = line
        self.reason = message
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True, slots=True)
class LoadedYaml:
    """Plain Python data plus the 1-based line of every mapping key and list item."""

    path: Path
    data: Any
    lines: Mapping[Loc, int]

    def line_for(self, loc: Loc) -> int | None:
        """Line of the deepest known part of `loc` (a pydantic error location)."""
        for end in range(len(loc), -1, -1):
            line = self.lines.get(tuple(loc[:end]))
            if line is not None:
                return line
        return None


def load_yaml(path: Path) -> LoadedYaml:
    """Parse `path`, refusing anchors, aliases, duplicate keys, tags, >1 MB and deep nesting."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise YamlFileError(path, f"cannot read: {exc.strerror}") from exc
    if size > MAX_BYTES:
        raise YamlFileError(path, f"file is {size} bytes; the limit is {MAX_BYTES}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise YamlFileError(path, "not UTF-8 text") from exc
    except OSError as exc:  # removed or replaced between stat and read
        raise YamlFileError(path, f"cannot read: {exc.strerror}") from exc
    return load_yaml_text(text, path)


def load_yaml_text(text: str, path: Path) -> LoadedYaml:
    _screen_events(text, path)
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise YamlFileError(path, f"not valid YAML: {exc.problem}", line) from exc
    except yaml.YAMLError as exc:
        raise YamlFileError(path, f"not valid YAML: {exc}") from exc
    if node is None:
        return LoadedYaml(path, None, {})
    lines: dict[Loc, int] = {(): node.start_mark.line + 1}
    data = _build(node, (), lines, _Context(path, yaml.SafeLoader("")))
    return LoadedYaml(path, data, lines)


def _screen_events(text: str, path: Path) -> None:
    """Walk parser events (iteratively, so nesting cannot blow the stack) before composing."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_Loader):
            line = event.start_mark.line + 1 if event.start_mark else None
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                raise YamlFileError(path, "anchors and aliases (& and *) are not allowed", line)
            tag = getattr(event, "tag", None)
            if tag:  # only explicitly written tags appear on events; data never needs them
                raise YamlFileError(path, f"YAML tags such as {tag} are not allowed", line)
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise YamlFileError(path, f"nested more than {MAX_DEPTH} levels deep", line)
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise YamlFileError(path, f"not valid YAML: {exc.problem}", line) from exc
    except yaml.YAMLError as exc:
        raise YamlFileError(path, f"not valid YAML: {exc}") from exc


@dataclass(frozen=True, slots=True)
class _Context:
    path: Path
    constructor: yaml.SafeLoader


def _build(node: yaml.Node, loc: Loc, lines: dict[Loc, int], ctx: _Context) -> Any:
    path = ctx.path
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node, ctx)
            if key in out:
                raise YamlFileError(
                    path,
                    f"key {key!r} appears twice in the same mapping",
                    key_node.start_mark.line + 1,
                )
            if not isinstance(key, str | int | bool | None):
                raise YamlFileError(path, f"key {key!r} must be text", key_node.start_mark.line + 1)
            child = (*loc, str(key))
            lines[child] = key_node.start_mark.line + 1
            out[key] = _build(value_node, child, lines, ctx)
        return out
    if isinstance(node, yaml.SequenceNode):
        items: list[Any] = []
        for index, item_node in enumerate(node.value):
            child = (*loc, index)
            lines[child] = item_node.start_mark.line + 1
            items.append(_build(item_node, child, lines, ctx))
        return items
    return _scalar(node, ctx)


def _scalar(node: yaml.Node, ctx: _Context) -> Any:
    line = node.start_mark.line + 1
    if not isinstance(node, yaml.ScalarNode):
        raise YamlFileError(ctx.path, "mapping keys must be plain values", line)
    try:
        return ctx.constructor.construct_object(node)
    except yaml.MarkedYAMLError as exc:
        raise YamlFileError(ctx.path, f"unsupported value: {exc.problem}", line) from exc
    except (yaml.YAMLError, ValueError) as exc:
        raise YamlFileError(ctx.path, f"unsupported value: {exc}", line) from exc
