"""Hierarchical codes: administrative divisions (GB/T 2260) and industries (GB/T 4754-2017).

A code is read as a path from the most general level down, so that "is this entity inside
prefix P" has three answers: inside, outside, or unknown when the entity's code is less
specific than P (an entity coded only "A" 农林牧渔业 may or may not be in 01 种植业).
"""

from __future__ import annotations

from .logic import Outcome

# GB/T 4754-2017 sections (门类) and the divisions (大类) each one spans.
INDUSTRY_SECTIONS: dict[str, tuple[int, int]] = {
    "A": (1, 5),
    "B": (6, 12),
    "C": (13, 43),
    "D": (44, 46),
    "E": (47, 50),
    "F": (51, 52),
    "G": (53, 60),
    "H": (61, 62),
    "I": (63, 65),
    "J": (66, 69),
    "K": (70, 70),
    "L": (71, 72),
    "M": (73, 75),
    "N": (76, 79),
    "O": (80, 82),
    "P": (83, 83),
    "Q": (84, 85),
    "R": (86, 90),
    "S": (91, 96),
    "T": (97, 97),
}

# GB/T 2260 province-level codes (the first two digits of every division code).
PROVINCE_CODES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 71 81 82".split()
)

CodePath = tuple[str, ...]


def _ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def section_of_division(division: int) -> str | None:
    for section, (first, last) in INDUSTRY_SECTIONS.items():
        if first <= division <= last:
            return section
    return None


def industry_path(code: str) -> CodePath | None:
    """("F", "52", "529", "5291") for "5291"; ("A",) for "A"; None if not a valid code."""
    if not isinstance(code, str):
        return None
    code = code.strip().upper()
    if code in INDUSTRY_SECTIONS:
        return (code,)
    if not (_ascii_digits(code) and 2 <= len(code) <= 4):
        return None
    section = section_of_division(int(code[:2]))
    if section is None:
        return None
    return (section,) + tuple(code[:n] for n in range(2, len(code) + 1))


def region_path(code: str) -> CodePath | None:
    """("14", "1405", "140502") for "140502"; "140500" (a city as a whole) is ("14", "1405").

    Accepts a full 6-digit code or a 2- or 4-digit prefix (as used in rules)."""
    if not (isinstance(code, str) and _ascii_digits(code) and len(code) in (2, 4, 6)):
        return None
    if code[:2] not in PROVINCE_CODES:
        return None
    levels = [code[:n] for n in range(2, len(code) + 1, 2)]
    while len(levels) > 1 and levels[-1].endswith("00"):
        levels.pop()
    return tuple(levels)


def is_region_code(code: object) -> bool:
    return isinstance(code, str) and len(code) == 6 and region_path(code) is not None


def match_path(code: CodePath, prefix: CodePath) -> Outcome:
    if code[: len(prefix)] == prefix:
        return Outcome.PASS
    if prefix[: len(code)] == code:
        return Outcome.UNKNOWN
    return Outcome.FAIL


PATH_READERS = {"region": region_path, "industry": industry_path}
