"""Check the NLU training data in nlu/ before it is committed or trained on.

Usage:
    python tools/check_nlu_data.py [NLU_DIR] [--min N] [--similar]

Exits 1 when any file breaks the Rasa 3.x layout we rely on, an intent or lookup table name does
not match its file (a family file, nlu/risk/families/<family>.yml, may hold any risk_<level>
blocks and needs --min examples in all), a lookup table lists a phrase twice, an example is
empty, an intent has fewer than --min examples (default 40), or the same sentence appears twice
anywhere (within a file or across files; lookup phrases are not examples and are not compared
with them). Duplicates matter because a sentence filed under two intents or two risk levels
teaches the classifier both answers and makes the evaluation figures lie.

--similar also prints (without failing) groups of examples that share one skeleton, so authors
can spot templated near-duplicates that add volume but no variety.
"""

from __future__ import annotations

import argparse
import re
import sys
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import yaml

RASA_VERSION = "3.1"
ENTRY_KINDS = ("intent", "synonym", "lookup", "regex")
RISK_LEVELS = ("none", "low", "medium", "high", "critical")
# Names that may appear in nlu/intents/ without being one file per intent.
SHARED_FILES = {"_synonyms"}


@dataclass(frozen=True, slots=True)
class Example:
    path: Path
    line: int
    label: str
    text: str


@dataclass(frozen=True, slots=True)
class Problem:
    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


def normalise(text: str) -> str:
    """Key used to detect duplicates: case, spacing, edge punctuation and stretched letters do
    not make a new sentence ("I want to die." / "i want to die", "heyyyy" / "heyy" are the same
    training signal; the engine also collapses letters repeated 3+ times to two)."""
    folded = unicodedata.normalize("NFKC", text).casefold().replace("\u2019", "'")
    folded = re.sub(r"([a-z])\1{2,}", r"\1\1", folded)
    folded = re.sub(r"\s+", " ", folded).strip()
    return folded.strip(" .,!?;:'\"…")


def skeletons(text: str) -> set[str]:
    """Keys shared by sentences that differ in one word ("i'm in germany" / "i'm in canada"),
    after dropping filler words, so --similar finds one-slot templates."""
    filler = {
        "i", "im", "i'm", "am", "so", "really", "just", "like", "the", "a", "an", "my",
        "to", "and", "it", "is", "of", "ugh", "lol", "tbh", "rn", "honestly", "literally",
        "very", "too", "now", "right", "today", "tonight", "again", "pls", "please",
    }  # fmt: skip
    words = [w for w in re.findall(r"[\w']+", normalise(text)) if w not in filler]
    # Two-word replies ("thanks bot", "delete everything") are naturally alike; skip them.
    if len(words) < 3:
        return set()
    return {" ".join([*words[:i], "_", *words[i + 1 :]]) for i in range(len(words))}


def is_family(path: Path, nlu_dir: Path) -> bool:
    """A family file (nlu/risk/families/<family>.yml) holds one or more `risk_<level>` blocks."""
    return path.relative_to(nlu_dir).parts[:2] == ("risk", "families")


def expected_label(path: Path, nlu_dir: Path) -> str | None:
    relative = path.relative_to(nlu_dir)
    if is_family(path, nlu_dir):
        return "risk_<level>"
    if relative.parts[0] == "risk":
        return f"risk_{path.stem}"
    if relative.parts[0] == "intents" and path.stem not in SHARED_FILES:
        return path.stem
    return None


def parse_examples(
    block: object, path: Path, line: int
) -> tuple[list[tuple[int, str]], list[Problem]]:
    """(file line, text) for each example in a literal `examples: |` block."""
    problems: list[Problem] = []
    if not isinstance(block, str):
        return [], [Problem(path, line, "'examples' must be a literal block (examples: |)")]
    texts: list[tuple[int, str]] = []
    for offset, raw in enumerate(block.splitlines()):
        if not raw.strip():
            continue
        if raw.strip() == "-":
            problems.append(Problem(path, line + offset, "empty example"))
            continue
        if not raw.startswith("- "):
            problems.append(Problem(path, line + offset, f"example must start with '- ': {raw!r}"))
            continue
        text = raw[2:].strip()
        if not text:
            problems.append(Problem(path, line + offset, "empty example"))
            continue
        texts.append((line + offset, text))
    return texts, problems


def block_start_lines(source: str) -> list[int]:
    """1-based line number of the first example under each `examples: |`, in file order, so
    problems can point at the right line although PyYAML drops positions for plain loads."""
    lines = source.splitlines()
    return [i + 2 for i, text in enumerate(lines) if text.strip().startswith("examples:")]


def check_file(path: Path, nlu_dir: Path, minimum: int) -> tuple[list[Example], list[Problem]]:
    source = path.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(source)
    except yaml.YAMLError as error:
        return [], [Problem(path, 1, f"YAML does not parse: {error}")]
    if not isinstance(data, dict):
        return [], [Problem(path, 1, "top level must be a mapping with 'version' and 'nlu'")]
    problems: list[Problem] = []
    unknown = set(data) - {"version", "nlu"}
    if unknown:
        problems.append(Problem(path, 1, f"unknown top-level keys: {sorted(unknown)}"))
    if str(data.get("version")) != RASA_VERSION or not isinstance(data.get("version"), str):
        problems.append(Problem(path, 1, f'expected version: "{RASA_VERSION}" (quoted)'))
    entries = data.get("nlu")
    if not isinstance(entries, list) or not entries:
        return [], [*problems, Problem(path, 1, "'nlu' must be a non-empty list")]

    wanted = expected_label(path, nlu_dir)
    starts = block_start_lines(source)
    examples: list[Example] = []
    for index, entry in enumerate(entries):
        line = starts[index] if index < len(starts) else 1
        if not isinstance(entry, dict):
            problems.append(Problem(path, line, "each 'nlu' item must be a mapping"))
            continue
        kinds = [k for k in ENTRY_KINDS if k in entry]
        if len(kinds) != 1 or set(entry) - {kinds[0], "examples"}:
            problems.append(
                Problem(path, line, f"item needs one of {ENTRY_KINDS} plus 'examples' only")
            )
            continue
        kind = kinds[0]
        label = str(entry[kind])
        if kind == "intent" and wanted is None:
            problems.append(Problem(path, line, "intents belong in their own file"))
        if kind != "intent" and (wanted is not None):
            problems.append(Problem(path, line, f"'{kind}' entries belong in _synonyms.yml"))
        family_ok = wanted == "risk_<level>" and label in {f"risk_{lvl}" for lvl in RISK_LEVELS}
        if kind == "intent" and wanted is not None and label != wanted and not family_ok:
            problems.append(Problem(path, line, f"intent {label!r} must be named {wanted!r}"))
        texts, block_problems = parse_examples(entry.get("examples"), path, line)
        problems.extend(block_problems)
        if kind == "lookup":
            problems.extend(check_lookup(path, nlu_dir, label, texts))
        if kind == "intent":
            if len(texts) < minimum and not is_family(path, nlu_dir):
                problems.append(
                    Problem(path, line, f"{label}: {len(texts)} examples, need {minimum}")
                )
            examples.extend(Example(path, at, label, text) for at, text in texts)
    if is_family(path, nlu_dir) and len(examples) < minimum:
        # a family may split its examples over several levels; the family as a whole needs
        # enough variety to be worth leaving out in evaluation
        problems.append(Problem(path, 1, f"family: {len(examples)} examples, need {minimum}"))
    return examples, problems


def check_lookup(
    path: Path, nlu_dir: Path, name: str, texts: list[tuple[int, str]]
) -> list[Problem]:
    """A lookup table in nlu/lookups/ is named after its file and lists each phrase once."""
    problems: list[Problem] = []
    if path.relative_to(nlu_dir).parts[0] == "lookups" and name != path.stem:
        problems.append(
            Problem(
                path, texts[0][0] if texts else 1, f"lookup {name!r} must be named {path.stem!r}"
            )
        )
    seen: dict[str, int] = {}
    for line, text in texts:
        # lower(), not casefold(): "straßburg" and "strassburg" are both typed, and the engine
        # lower-cases, so both spellings are needed
        key = unicodedata.normalize("NFKC", text).lower().strip()
        if key in seen:
            problems.append(Problem(path, line, f"{name}: {text!r} repeats line {seen[key]}"))
        seen.setdefault(key, line)
    return problems


def find_duplicates(examples: list[Example]) -> list[Problem]:
    seen: dict[str, Example] = {}
    problems: list[Problem] = []
    for example in examples:
        key = normalise(example.text)
        first = seen.setdefault(key, example)
        if first is not example:
            problems.append(
                Problem(
                    example.path,
                    example.line,
                    f"duplicate of {first.path}:{first.line} ({first.label}): {example.text!r}",
                )
            )
    return problems


def report_similar(examples: list[Example], limit: int) -> None:
    """Print one-slot templates used more than `limit` times within one family (intents or
    risk levels); sentences in different families train different classifiers."""
    groups: dict[tuple[str, str], list[Example]] = defaultdict(list)
    for example in examples:
        family = "risk" if example.label.startswith("risk_") else "intents"
        for key in skeletons(example.text):
            groups[(family, key)].append(example)
    reported: set[frozenset[str]] = set()
    for (family, key), members in sorted(groups.items()):
        texts = frozenset(m.text for m in members)
        if len(members) <= limit or texts in reported:
            continue
        reported.add(texts)
        print(f"similar {family} ({len(members)}) [{key}]:")
        for m in members:
            print(f"    {m.label}: {m.text}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    default_dir = Path(__file__).resolve().parent.parent / "nlu"
    parser.add_argument("nlu_dir", nargs="?", type=Path, default=default_dir)
    parser.add_argument("--min", type=int, default=40, help="minimum examples per intent")
    parser.add_argument(
        "--similar", action="store_true", help="also list one-slot templates used > 3 times"
    )
    args = parser.parse_args(argv)
    nlu_dir: Path = args.nlu_dir.resolve()

    files = sorted(
        [
            *nlu_dir.glob("intents/*.yml"),
            *nlu_dir.glob("risk/**/*.yml"),
            *nlu_dir.glob("lookups/*.yml"),
        ]
    )
    if not files:
        print(f"no NLU files under {nlu_dir}/intents or {nlu_dir}/risk", file=sys.stderr)
        return 1
    examples: list[Example] = []
    problems: list[Problem] = []
    for path in files:
        found, file_problems = check_file(path, nlu_dir, args.min)
        examples.extend(found)
        problems.extend(file_problems)
    missing_levels = [lvl for lvl in RISK_LEVELS if not (nlu_dir / "risk" / f"{lvl}.yml").exists()]
    if missing_levels:
        problems.append(Problem(nlu_dir / "risk", 0, f"missing risk levels: {missing_levels}"))
    problems.extend(find_duplicates(examples))

    counts: dict[str, int] = defaultdict(int)
    for example in examples:
        counts[example.label] += 1
    for label, count in sorted(counts.items()):
        print(f"{count:5d}  {label}")
    print(f"{len(examples):5d}  examples in {len(files)} files")
    if args.similar:
        report_similar(examples, limit=3)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
