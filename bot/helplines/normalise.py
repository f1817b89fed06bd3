"""How names are compared: casefolded, without accents or punctuation."""

from __future__ import annotations

import re
import unicodedata

_WORDS = re.compile(r"[^\w]+")


def normalise(text: str) -> str:
    """Casefold, drop accents and punctuation: 'México!' → 'mexico', 'U.K.' → 'u k'."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(_WORDS.sub(" ", plain).split())
