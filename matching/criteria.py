"""The five basic criteria (五项基本标准, seed 004 三(四)): "按照'合规持续经营、固定经营场所、
真实融资需求、信用状况良好、贷款用途依法合规'等 5 项基本标准, 指导企业填报信息" — and the
三级审核 that checks them (三(五)).

A declaration records each criterion as met or not, with its evidence. Its standing:

* MET — all five met: it may be submitted and approved like any other;
* PENDING — not all met, and the filer recorded an exception reason (例外理由) with the
  declaration: it may be submitted; every reviewer sees the reason (review queue, declaration
  page, API); the task-force lead (专班组长) must confirm it explicitly (the workflow table's
  CRITERIA_EXCEPTION_CONFIRM: audited, an event on the timeline) before his own approval, and
  bulk approval at any level refuses it (it is reviewed one by one);
* CONFIRMED — not all met, the exception confirmed by the lead;
* MISSING — not all met and no reason: it cannot be submitted (every path: the enterprise's
  form, 代为申报, the bulk import, the API, a bank-recommended draft), and one that is already
  in review (filed before the rule) cannot be approved in bulk or by the lead.

Editing the criteria or the reason of a draft clears a confirmation: the lead confirms what
the reviewers see. This module reads a declaration's fields; the services write them
(matching/services/declarations.py)."""

from __future__ import annotations

from enum import StrEnum

from matching.models import BASIC_CRITERIA, Declaration


class Standing(StrEnum):
    MET = "met"
    PENDING = "exception_pending"
    CONFIRMED = "exception_confirmed"
    MISSING = "unmet"


STANDING_LABELS = {
    Standing.MET: "五项基本标准均已满足",
    Standing.PENDING: "有未满足的基本标准, 例外理由待专班组长确认",
    Standing.CONFIRMED: "有未满足的基本标准, 例外已由专班组长确认",
    Standing.MISSING: "有未满足的基本标准, 未说明例外理由",
}


def unmet_keys(criteria: dict | None) -> list[str]:
    criteria = criteria or {}
    return [key for key in BASIC_CRITERIA if not (criteria.get(key) or {}).get("met")]


def unmet_labels(criteria: dict | None) -> list[str]:
    return [BASIC_CRITERIA[key] for key in unmet_keys(criteria)]


def standing(declaration: Declaration) -> Standing:
    if not unmet_keys(declaration.basic_criteria):
        return Standing.MET
    if not declaration.criteria_exception.strip():
        return Standing.MISSING
    if declaration.criteria_exception_confirmed_at is None:
        return Standing.PENDING
    return Standing.CONFIRMED


def submit_problem(declaration: Declaration) -> dict[str, list[str]] | None:
    """Field errors that keep the declaration from being submitted, or None."""
    if standing(declaration) != Standing.MISSING:
        return None
    unmet = "、".join(unmet_labels(declaration.basic_criteria))
    return {
        "basic_criteria": [
            f"五项基本标准未全部满足(未满足: {unmet}), 不能提交; 请核实后勾选, 或填写例外理由由专班组长确认"
        ],
        "criteria_exception": [f"未满足「{unmet}」时须填写例外理由"],
    }


def approval_problem(declaration: Declaration, *, bulk: bool, lead: bool) -> str | None:
    """Why the declaration may not be approved now (None: it may): in bulk, anything but all
    met or a confirmed exception; by the lead, an exception he has not confirmed."""
    found = standing(declaration)
    unmet = "、".join(unmet_labels(declaration.basic_criteria))
    if found == Standing.PENDING and (bulk or lead):
        where = "不能批量通过, 请打开申报逐条审核" if bulk else "请先确认例外, 再审核通过"
        return f"五项基本标准未全部满足(未满足: {unmet}), 例外理由尚待专班组长确认, {where}"
    if found == Standing.MISSING and (bulk or lead):
        return f"五项基本标准未全部满足(未满足: {unmet})且未说明例外理由, 不能通过; 请退回补充"
    return None


def summary(declaration: Declaration) -> dict:
    """What reviewers see of the criteria: each with its mark and evidence, the standing, the
    exception reason and who confirmed it."""
    criteria = declaration.basic_criteria or {}
    found = standing(declaration)
    return {
        "items": [
            {
                "key": key,
                "label": label,
                "met": bool((criteria.get(key) or {}).get("met")),
                "evidence": (criteria.get(key) or {}).get("evidence") or "",
            }
            for key, label in BASIC_CRITERIA.items()
        ],
        "met_count": len(BASIC_CRITERIA) - len(unmet_keys(criteria)),
        "unmet": unmet_labels(criteria),
        "standing": found.value,
        "standing_label": STANDING_LABELS[found],
        "exception": declaration.criteria_exception if found != Standing.MET else "",
        "exception_confirmed_at": declaration.criteria_exception_confirmed_at,
    }
