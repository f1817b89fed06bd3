"""The defensive YAML reader: bombs, anchors, huge files and duplicate keys are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.helplines.yamlsafe import MAX_BYTES, YamlFileError, load_yaml, load_yaml_text

BOMB = """\
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: [*c, *c, *c, *c, *c, *c, *c, *c, *c]
"""


def test_billion_laughs_is_refused_before_expansion() -> None:
    with pytest.raises(YamlFileError, match="anchors and aliases") as caught:
        load_yaml_text(BOMB, Path("GB.yml"))
    assert caught.value.line == 1


def test_a_single_alias_is_refused_too() -> None:
    with pytest.raises(YamlFileError, match="anchors and aliases"):
        load_yaml_text("base: &x {a: 1}\nother: *x\n", Path("GB.yml"))


def test_duplicate_keys_are_refused_with_the_line_of_the_second() -> None:
    with pytest.raises(YamlFileError, match="'name' appears twice") as caught:
        load_yaml_text("region: GB\nname: A\nname: B\n", Path("GB.yml"))
    assert caught.value.line == 3


def test_deep_nesting_is_refused() -> None:
    with pytest.raises(YamlFileError, match="nested more than"):
        load_yaml_text("[" * 200 + "]" * 200, Path("GB.yml"))


def test_python_tags_are_refused() -> None:
    with pytest.raises(YamlFileError, match="tags such as"):
        load_yaml_text("a: !!python/object/apply:os.system ['true']\n", Path("GB.yml"))


def test_files_over_one_megabyte_are_refused_without_parsing(tmp_path: Path) -> None:
    path = tmp_path / "GB.yml"
    path.write_text("# " + "x" * MAX_BYTES + "\n")
    with pytest.raises(YamlFileError, match="limit is 1000000"):
        load_yaml(path)


def test_broken_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "GB.yml"
    path.write_text("region: GB\nname: [unclosed\nservices: []\n")
    with pytest.raises(YamlFileError, match="not valid YAML") as caught:
        load_yaml(path)
    assert caught.value.line == 3
    assert str(path) in str(caught.value)


def test_lines_are_recorded_for_nested_fields() -> None:
    loaded = load_yaml_text(
        "a: 1\nservices:\n  - id: x\n    contacts:\n      - dial: '1'\n", Path("f")
    )
    assert loaded.line_for(("services", 0, "contacts", 0, "dial")) == 5
    # A missing field is reported at its closest parent.
    assert loaded.line_for(("services", 0, "name")) == 3
