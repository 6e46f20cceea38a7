"""Purposes: every scoring request says why it is made, and only support purposes are served.

previ estimates a need for prevention support. A request made to sanction,
police, discipline, investigate or report someone is refused (403) and logged,
whatever the configuration says; so is any purpose not on the allowed list, so
that a new use has to be named, reviewed and added on purpose.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

__all__ = ["PUNITIVE_WORDS", "PurposeCheck", "check_purpose", "punitive_words"]

# Stems, matched at the start of any word of the purpose (split on _ - . space),
# so that "school_discipline", "Sanciones" and "policing-support" are all caught.
PUNITIVE_WORDS = (
    "sanction",
    "sancion",
    "punish",
    "castig",
    "penal",
    "polic",
    "patrol",
    "patrull",
    "surveil",
    "vigilanc",
    "disciplin",
    "expul",
    "expel",
    "suspen",
    "immigra",
    "inmigra",
    "migra",
    "deport",
    "investiga",
    "prosecut",
    "criminal",
    "arrest",
    "detain",
    "detenc",
    "court",
    "tribunal",
    "juzga",
    "enforce",
    "watchlist",
    "blacklist",
)
_WORDS = re.compile(r"[^a-z0-9]+")

Verdict = Literal["allowed", "punitive", "unknown"]


@dataclass(frozen=True)
class PurposeCheck:
    verdict: Verdict

    @property
    def allowed(self) -> bool:
        return self.verdict == "allowed"


def punitive_words(purpose: str) -> list[str]:
    """The punitive stems found in ``purpose`` (empty when there are none)."""
    return list(_punitive_stems(purpose))


@lru_cache(maxsize=1_024)
def _punitive_stems(purpose: str) -> tuple[str, ...]:
    """Every request names its purpose, and a deployment uses a handful: each is read once per process."""
    words = [word for word in _WORDS.split(_fold(purpose)) if word]
    return tuple(stem for stem in PUNITIVE_WORDS if any(word.startswith(stem) for word in words))


def check_purpose(purpose: str, allowed: Sequence[str]) -> PurposeCheck:
    """Punitive beats allowed (a misconfigured list cannot open a punitive use); else it must be listed."""
    if _punitive_stems(purpose):
        return PurposeCheck("punitive")
    if purpose in allowed:
        return PurposeCheck("allowed")
    return PurposeCheck("unknown")


def _fold(text: str) -> str:
    """Lower case without accents, so "sanción" and "SANCION" read alike."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(char for char in decomposed if not unicodedata.combining(char))
