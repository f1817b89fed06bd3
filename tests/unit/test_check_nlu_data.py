"""The maintainers' checker for nlu/ catches what would silently corrupt training."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "tools" / "check_nlu_data.py"


def run(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(TOOL), str(folder)], capture_output=True, text=True, timeout=120
    )


def test_shipped_data_passes() -> None:
    done = run(ROOT / "nlu")
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_sentence_in_two_files_fails(tmp_path: Path) -> None:
    copy = tmp_path / "nlu"
    shutil.copytree(ROOT / "nlu", copy)
    greet = copy / "intents" / "greet.yml"
    stolen = "i want to die"
    greet.write_text(greet.read_text() + f"    - {stolen}\n")
    done = run(copy)
    assert done.returncode == 1
    assert "greet.yml" in done.stdout + done.stderr


def test_broken_yaml_fails(tmp_path: Path) -> None:
    copy = tmp_path / "nlu"
    shutil.copytree(ROOT / "nlu", copy)
    (copy / "intents" / "thanks.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: thanks\n  examples: ['
    )
    assert run(copy).returncode == 1


def test_a_misnamed_or_repeating_lookup_table_fails(tmp_path: Path) -> None:
    copy = tmp_path / "nlu"
    shutil.copytree(ROOT / "nlu", copy)
    table = copy / "lookups" / "colour.yml"
    table.write_text('version: "3.1"\nnlu:\n- lookup: colour\n  examples: |\n    - teal\n')
    assert run(copy).returncode == 0
    table.write_text('version: "3.1"\nnlu:\n- lookup: color\n  examples: |\n    - teal\n')
    assert "must be named 'colour'" in run(copy).stderr
    table.write_text(
        'version: "3.1"\nnlu:\n- lookup: colour\n  examples: |\n    - teal\n    - Teal\n'
    )
    assert "repeats line" in run(copy).stderr


def test_a_family_file_holds_any_risk_levels_but_needs_enough_examples(tmp_path: Path) -> None:
    copy = tmp_path / "nlu"
    shutil.copytree(ROOT / "nlu", copy)
    family = copy / "risk" / "families" / "zz_test_family.yml"
    family.parent.mkdir(exist_ok=True)
    high = "".join(f"    - zz family high {i}\n" for i in range(30))
    none = "".join(f"    - zz family none {i}\n" for i in range(10))
    body = f"- intent: risk_high\n  examples: |\n{high}- intent: risk_none\n  examples: |\n{none}"
    family.write_text('version: "3.1"\nnlu:\n' + body)
    assert run(copy).returncode == 0, run(copy).stderr
    family.write_text('version: "3.1"\nnlu:\n' + body.replace("risk_none", "risk_zz_test_family"))
    assert "must be named" in run(copy).stderr
    family.write_text(f'version: "3.1"\nnlu:\n- intent: risk_high\n  examples: |\n{high}')
    assert "family: 30 examples, need 40" in run(copy).stderr
