"""Shipped reference data: administrative divisions (GB/T 2260) and the national economic
industry classification (GB/T 4754-2017). Pure Python, no Django: the data lives in the JSON
files beside this module and is read once, then cached. Sources and counts: README.md here.

Every loader returns fresh copies, so a caller that edits a row cannot corrupt the cache.

Region codes are the 6-digit GB/T 2260 codes. A 12-digit statistical code of a county or
higher unit (6 digits + "000000", as in 统计用区划代码) is accepted and read as its first 6
digits; any other form (9-digit township codes included) is unknown here.

Industry codes are as printed in GB/T 4754-2017: a section letter "A".."T", or a 2-, 3- or
4-digit code ("01", "011", "0111"). A code prefixed with its section letter ("C3011") is
accepted when the letter is the right one. Sections, divisions, groups (中类) and classes
(小类) are all shipped, so a code is known only if it is listed: an unlisted 3/4-digit code
under a known division is NOT known.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

__all__ = [
    "load_regions",
    "load_industries",
    "region_by_code",
    "county_codes",
    "city_of",
    "province_of",
    "normalize_region_code",
    "industry_by_code",
    "industry_section",
    "is_known_industry",
    "normalize_industry_code",
]

_DIR = Path(__file__).resolve().parent

REGION_LEVELS = ("province", "city", "county")
INDUSTRY_LEVELS = ("section", "division", "group", "class")

_REGION_RE = re.compile(r"\d{6}")
_INDUSTRY_DIGITS_RE = re.compile(r"\d{2,4}")
_INDUSTRY_PREFIXED_RE = re.compile(r"([A-T])(\d{2,4})")


def _read(name: str) -> tuple[dict, ...]:
    with open(_DIR / name, encoding="utf-8") as fh:
        return tuple(json.load(fh))


# ---------------------------------------------------------------- regions


@lru_cache(maxsize=None)
def _regions() -> tuple[dict, ...]:
    return _read("regions.json")


@lru_cache(maxsize=None)
def _region_index() -> dict[str, dict]:
    return {r["code"]: r for r in _regions()}


def load_regions() -> list[dict]:
    """All regions, ordered by code: {"code", "name", "level", "parent"}."""
    return [dict(r) for r in _regions()]


def normalize_region_code(code) -> str | None:
    """The 6-digit form of ``code``, or None when it has no such form."""
    if code is None:
        return None
    text = str(code).strip()
    if len(text) == 12 and text.isdigit() and text.endswith("000000"):
        text = text[:6]
    return text if _REGION_RE.fullmatch(text) else None


def region_by_code(code) -> dict | None:
    """The region with this code (a copy), or None when unknown."""
    key = normalize_region_code(code)
    row = _region_index().get(key) if key else None
    return dict(row) if row else None


@lru_cache(maxsize=None)
def _county_codes() -> frozenset[str]:
    return frozenset(r["code"] for r in _regions() if r["level"] == "county")


def county_codes() -> set[str]:
    """Codes of every county-level unit shipped (districts, counties, county-level cities)."""
    return set(_county_codes())


def _ancestor(code, level: str) -> dict | None:
    row = _region_index().get(normalize_region_code(code) or "")
    while row is not None and row["level"] != level:
        row = _region_index().get(row["parent"]) if row["parent"] else None
    return dict(row) if row else None


def city_of(code) -> dict | None:
    """The prefecture-level city of a county (or the city itself); None for a province or an
    unknown code."""
    return _ancestor(code, "city")


def province_of(code) -> dict | None:
    """The province of any known region (or the province itself); None when unknown."""
    return _ancestor(code, "province")


# ---------------------------------------------------------------- industries


@lru_cache(maxsize=None)
def _industries() -> tuple[dict, ...]:
    return _read("industries.json")


@lru_cache(maxsize=None)
def _industry_index() -> dict[str, dict]:
    return {r["code"]: r for r in _industries()}


def load_industries() -> list[dict]:
    """All GB/T 4754-2017 entries, section by section in the standard's order:
    {"code", "name", "level", "parent"}."""
    return [dict(r) for r in _industries()]


def normalize_industry_code(code) -> str | None:
    """The bare code ("A", "01", "011", "0111") of ``code`` if it is well formed, else None.
    Surrounding blanks and a lower-case letter are tolerated; "C3011" becomes "3011" only when
    C is the section of division 30."""
    if code is None:
        return None
    text = str(code).strip().upper()
    if len(text) == 1 and "A" <= text <= "T":
        return text
    if _INDUSTRY_DIGITS_RE.fullmatch(text):
        return text
    match = _INDUSTRY_PREFIXED_RE.fullmatch(text)
    if match:
        letter, digits = match.groups()
        division = _industry_index().get(digits[:2])
        if division is not None and division["parent"] == letter:
            return digits
    return None


def industry_by_code(code) -> dict | None:
    """The listed entry (a copy) for this code, or None when not listed."""
    key = normalize_industry_code(code)
    row = _industry_index().get(key) if key else None
    return dict(row) if row else None


def is_known_industry(code) -> bool:
    """True when the code is listed in GB/T 4754-2017 (all four levels are shipped, so a
    3/4-digit code must itself be listed; its division being known is not enough)."""
    return industry_by_code(code) is not None


def industry_section(code) -> str | None:
    """The section letter of a listed section, division, group or class; None if not listed."""
    row = industry_by_code(code)
    while row is not None and row["level"] != "section":
        row = _industry_index().get(row["parent"])
    return row["code"] if row else None
