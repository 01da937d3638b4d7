"""Pipeline stages and what provider status words mean for them (DESIGN §2.5, §2.7)."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StageTemplate:
    name: str
    slug: str
    color: str
    probability: int
    is_default: bool = False


# Seed 000's default pipeline, with DESIGN §2.7's probabilities.
DEFAULT_STAGES: tuple[StageTemplate, ...] = (
    StageTemplate("New", "new", "#3182CE", 10, is_default=True),
    StageTemplate("Qualified", "qualified", "#805AD5", 25),
    StageTemplate("Proposal", "proposal", "#D69E2E", 60),
    StageTemplate("Negotiation", "negotiation", "#DD6B20", 80),
    StageTemplate("Won", "won", "#38A169", 100),
    StageTemplate("Lost", "lost", "#E53E3E", 0),
    StageTemplate("Inactive", "inactive", "#718096", 0),
)

WON = "won"
LOST = "lost"

# Seed 000's status keywords: a payload carrying one of them may update an existing lead.
STATUS_KEYWORDS = ("converted", "won", "lost", "closed", "qualified", "proposal", "negotiation")

_WORD = re.compile(r"[a-z]+")
_NEGATIONS = {"not", "no", "never"}


def _words(status: str) -> list[str]:
    return _WORD.findall(status.lower())


def status_keywords(status: str | None) -> set[str]:
    """The status keywords a provider's status names, as whole words.

    ``"Closed Won"`` names closed and won; ``"unqualified"`` and ``"not qualified"`` name
    nothing: a negated keyword must not move a lead forward.
    """
    if not status:
        return set()
    words = _words(status)
    found: set[str] = set()
    for i, word in enumerate(words):
        if word in STATUS_KEYWORDS and not (i > 0 and words[i - 1] in _NEGATIONS):
            found.add(word)
    return found


def stage_for_status(status: str | None) -> str | None:
    """The stage slug a provider's status maps to, or None when it names no stage.

    lost / "closed lost" → lost; won, converted, "closed won" and a bare "closed" → won;
    negotiation, proposal, qualified → their stages (the most advanced one named wins).
    """
    keywords = status_keywords(status)
    if "lost" in keywords:
        return LOST
    if keywords & {"won", "converted", "closed"}:
        return WON
    for slug in ("negotiation", "proposal", "qualified"):
        if slug in keywords:
            return slug
    return None


def slugify(name: str) -> str:
    return "_".join(_WORD.findall(name.lower().replace("&", " and "))) or "stage"
