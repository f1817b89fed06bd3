"""Assertions shared by tests: outgoing text must come from responses/."""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.core.messages import Reply
from bot.core.texts import Texts


def _pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{[a-z_]+\}", template)
    return re.compile("(?s)" + ".+?".join(re.escape(p) for p in parts) + r"\Z")


def template_patterns(texts: Texts) -> list[re.Pattern[str]]:
    return [_pattern(t) for t in texts.all_sentences()]


def assert_from_responses(
    replies: Iterable[Reply], texts: Texts, *, blocks: Iterable[str] = ()
) -> None:
    """Every paragraph sent is a template from responses/ (or a rendered helpline block)."""
    patterns = template_patterns(texts)
    known_blocks = [b for b in blocks if b]
    for reply in replies:
        text = reply.text
        for block in known_blocks:
            text = text.replace(block, "")
        for paragraph in (p.strip() for p in text.split("\n\n")):
            if not paragraph:
                continue
            assert any(p.match(paragraph) for p in patterns), (
                f"sent text not found in responses/: {paragraph!r}"
            )
        for button in reply.buttons:
            assert button.label.strip(), "a button without a label"


def group_concern(texts: Texts, emergency: str) -> str:
    """The brief reply to a high-risk message in a watched group or channel: the concern and
    the emergency number for the community's region (`emergency` as `Signposts.emergency`)."""
    return texts.get("group.concern") + "\n\n" + texts.get("group.emergency", emergency=emergency)
