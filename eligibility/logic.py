"""Three-valued (Kleene) logic: a rule over unknown data is neither passed nor failed."""

from __future__ import annotations

from enum import Enum
from typing import Iterable


class Outcome(str, Enum):
    PASS = "pass"
    FAIL = "fail"
    UNKNOWN = "unknown"

    def __str__(self) -> str:
        return self.value


def all_of(outcomes: Iterable[Outcome]) -> Outcome:
    seen_unknown = False
    for outcome in outcomes:
        if outcome is Outcome.FAIL:
            return Outcome.FAIL
        seen_unknown = seen_unknown or outcome is Outcome.UNKNOWN
    return Outcome.UNKNOWN if seen_unknown else Outcome.PASS


def any_of(outcomes: Iterable[Outcome]) -> Outcome:
    seen_unknown = False
    for outcome in outcomes:
        if outcome is Outcome.PASS:
            return Outcome.PASS
        seen_unknown = seen_unknown or outcome is Outcome.UNKNOWN
    return Outcome.UNKNOWN if seen_unknown else Outcome.FAIL


def negate(outcome: Outcome) -> Outcome:
    if outcome is Outcome.UNKNOWN:
        return outcome
    return Outcome.FAIL if outcome is Outcome.PASS else Outcome.PASS


def from_bool(value: bool | None) -> Outcome:
    if value is None:
        return Outcome.UNKNOWN
    return Outcome.PASS if value else Outcome.FAIL
