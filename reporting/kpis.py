"""The KPI definitions, as plain Python (no Django): what each figure of the dashboards and
the 成效统计表 means, how the ratios are formed, and a reference implementation that turns
one recommendation's event history into its state as of a moment.

The database computes the same figures set-based (reporting.selectors); the tests compare
the two on hand-built histories, so this module is the definition and the SQL its fast
form. Amounts are integer 元 throughout.

Scope and period: the figures of a period are about the recommendations (ledger rows)
pushed in that period, in the state their events had recorded at the as-of moment; visits
and declarations are those of the period (a declaration in the period of its first
submission: a bank's recommendation awaiting the enterprise's consent is not declared yet).
Entity counts (户) count distinct entities, so an entity pushed to two banks is one 户 in a
region's row and in the total, and one in each bank's row (so the banks' rows may add up to
more than the total, which counts it once).
The 融资需求 (need) is counted once per need: a declaration pushed to two banks is one need,
and a re-recommendation (改推) after a decline continues the need it follows (`need_id`);
a need whose amounts differ counts its largest. Month rows count 笔 (ledger rows) in their 户
fields (an entity pushed to two banks in a month is two 笔 there), and each need once.

三个100% (seed 004 一, workflow.md "Ledger and statistics") are taken over the
recommendation list as of the moment, i.e. without recommendations removed from it (移出):
- 对接覆盖率 = entities a bank contacted ÷ entities in the list;
- 评级授信率 = entities granted credit ÷ entities meeting the bank's conditions (those not
  declined by every bank they were pushed to);
- 贷款落地率 = entities with a drawdown ÷ entities granted credit that need the funds
  (credit not given up, 未提款).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from decimal import ROUND_HALF_UP, Decimal

MEDIUM_LONG_TERM_MONTHS = 12  # 中长期: credit term longer than 12 months

# the event kinds the figures read
CONTACTED = "recommendation.contacted"
MATERIALS = "recommendation.materials_complete"
# the decision clock started on its own: the bank left submitted materials unconfirmed for 5
# working days (自动起算); for the figures the materials are complete then as well
MATERIALS_AUTO = "recommendation.materials_auto_started"
MATERIALS_KINDS = (MATERIALS, MATERIALS_AUTO)
APPROVED = "recommendation.approved"
DECLINED = "recommendation.declined"
DISBURSED = "recommendation.disbursed"
NOT_DRAWN = "recommendation.not_drawn"
REMOVED = "recommendation.removed"
RATED = "recommendation.rated"
# corrections (issue 16 item 6): a state taken back (data "undoes": the kind of the event taken
# back; "feedback": it was the bank's first answer, taken back too), a decision's terms
# corrected (the new terms), a drawdown corrected or voided ("amount_before", "amount", "voided").
# They count from their own moment: before it the figures show what was recorded then.
STATE_CORRECTED = "recommendation.state_corrected"
DECISION_CORRECTED = "recommendation.decision_corrected"
DISBURSEMENT_CORRECTED = "recommendation.disbursement_corrected"
CORRECTION_KINDS = (STATE_CORRECTED, DECISION_CORRECTED, DISBURSEMENT_CORRECTED)
RECOMMENDATION_KINDS = (
    CONTACTED,
    MATERIALS,
    MATERIALS_AUTO,
    APPROVED,
    DECLINED,
    DISBURSED,
    NOT_DRAWN,
    REMOVED,
    RATED,
    *CORRECTION_KINDS,
)
# 申报: a declaration counts as declared from its first submission (seed 004 三(四): the enterprise
# "填报信息 … 初筛形成“申报清单”"), whichever path filed it — the enterprise's own form, staff on
# its behalf (代为申报, 批量申报) or a bank's recommendation (三(五) "辖区内银行机构也可向工作专班
# 推荐小微企业") once the enterprise consented and it was submitted. A bank's recommendation
# (declaration.bank_recommended) is a draft awaiting that consent: not a declaration yet. A
# declaration returned and submitted again is still one declaration (its first submission).
DECLARED = "declaration.submitted"
DECLARATION_KINDS = (DECLARED,)

# Chinese definitions shown next to the figures and under the exported tables
DEFINITIONS = {
    "scope": "统计口径: 期间内推送的推荐(台账行), 按截至统计时点已登记的办理事件计算; 走访、申报为期间内发生的; "
    "户数按经营主体去重; 金额单位万元。",
    "declared": "申报清单: 申报按首次提交计入(企业自行申报、专班代为申报或批量申报, 以及经企业同意并提交的银行推荐), "
    "退回后再次提交不重复计; 银行推荐在企业同意并提交前为草稿, 不计入申报。",
    "dedup": "同时推荐给两家银行的企业计 1 户、1 笔融资需求; 按银行统计时, 同时推荐给两家银行的企业在每家银行各计一次, "
    "合计按企业去重, 故各银行户数之和可大于合计; 按县(区)统计的合计与按银行统计的合计一致。",
    "need": "融资需求按需求计一次: 同一申报推送给两家银行、或不予授信后改推其他银行的, 只计一次(金额不同时取其大者)。",
    "contact_coverage": "对接覆盖率 = 银行已对接的推荐清单企业(户) ÷ 推荐清单企业(户), 不含已移出清单的",
    "credit_rate": "评级授信率 = 获得授信的企业(户) ÷ 符合银行授信条件的企业(户, 即未被所推送银行全部不予授信的)",
    "landing_rate": "贷款落地率 = 已放款的企业(户) ÷ 获得授信且有用款需求的企业(户, 不含未提款的)",
    "credit_loan_share": "信用贷款占比 = 授信中信用贷款的笔数(金额) ÷ 授信笔数(金额)",
    "medium_long": f"中长期贷款: 授信期限超过 {MEDIUM_LONG_TERM_MONTHS} 个月",
    "rates": "平均利率为已授信笔数的算术平均; 加权平均利率按授信金额加权",
    "feedback_timely": "反馈及时率 = 推送后 5 个工作日内反馈(对接或不予授信)的笔数 ÷ 已反馈或已到期的笔数",
    "decision_timely": "决策及时率 = 收齐材料后 30 日内作出授信决定的笔数 ÷ 已决定或已到期的笔数",
    "satisfaction": "满意度 = 企业对银行服务评价(1-5 分)的平均分",
}


# --- ratios ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ratio:
    numerator: int | float | Decimal
    denominator: int | float | Decimal
    label: str = ""
    definition: str = ""

    @property
    def value(self) -> float | None:
        return float(self.numerator) / float(self.denominator) if self.denominator else None

    @property
    def percent(self) -> float | None:
        """Percentage with one decimal, or None when the denominator is zero."""
        value = self.value
        return None if value is None else round(value * 100, 1)

    def display(self) -> str:
        return "—" if self.percent is None else f"{self.percent:.1f}%"

    def as_dict(self) -> dict:
        return {
            "label": self.label,
            "numerator": _plain(self.numerator),
            "denominator": _plain(self.denominator),
            "percent": self.percent,
            "definition": self.definition,
        }


def _plain(value):
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def wan(yuan: int | float | Decimal | None) -> Decimal | None:
    """元 → 万元 with two decimals."""
    if yuan is None:
        return None
    return (Decimal(yuan) / Decimal(10000)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


# --- the figures of one group (a region, a bank, a month, or the total) ---------------------------


@dataclass
class Figures:
    """Counts and sums of one group; the SQL returns these columns by name."""

    rows: int = 0  # recommendations (ledger rows)
    recommended: int = 0  # 户 pushed in the period (removed ones included)
    need_amount: int = 0  # 融资需求, each need once (see the module docstring)
    contacted: int = 0  # 户 with a contact
    credited: int = 0  # 户 granted credit
    credited_rows: int = 0  # 笔 of credit
    credit_amount: int = 0
    credit_loans: int = 0  # 笔 of credit (unsecured) loans
    credit_loan_amount: int = 0
    first_loans: int = 0  # 户 with a first loan (首贷户)
    medium_long: int = 0  # 笔 with term > 12 months
    medium_long_amount: int = 0
    rate_sum: Decimal = Decimal(0)
    rate_weighted_sum: Decimal = Decimal(0)  # Σ rate × amount
    disbursed: int = 0  # 户 with a drawdown
    disbursed_amount: int = 0
    disbursements: int = 0  # drawdowns
    declined_rows: int = 0
    removed: int = 0  # 户 with a recommendation removed from the list
    # 三个100%, over the list without removed recommendations
    list_entities: int = 0
    list_contacted: int = 0
    list_eligible: int = 0
    list_credited: int = 0
    list_need_funds: int = 0
    list_disbursed: int = 0
    # timeliness (DeadlineClock due moments; answered as recorded by the events)
    feedback_determined: int = 0
    feedback_on_time: int = 0
    feedback_late: int = 0
    decision_determined: int = 0
    decision_on_time: int = 0
    decision_late: int = 0
    # satisfaction
    rated: int = 0
    score_sum: int = 0
    # visits and declarations (None where they do not apply, e.g. a bank's row)
    visited: int | None = None
    declared: int | None = None
    declared_amount: int | None = None

    @classmethod
    def from_row(cls, row: Mapping) -> Figures:
        names = _FIGURE_NAMES
        values = {}
        for key, value in row.items():
            if key in names and value is not None:
                if key in ("rate_sum", "rate_weighted_sum"):
                    values[key] = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
                else:
                    values[key] = int(round(value)) if isinstance(value, float) else int(value)
        return cls(**values)

    def add(self, other: Figures) -> None:
        """Add another group's sums (counts, amounts; 户 add up across counties by definition)."""
        mine, theirs = self.__dict__, other.__dict__
        for name in _FIGURE_NAMES:
            a, b = mine[name], theirs[name]
            if a is None and b is None:
                continue
            mine[name] = (a or 0) + (b or 0)

    # --- derived -----------------------------------------------------------------------------

    def contact_coverage(self) -> Ratio:
        return Ratio(self.list_contacted, self.list_entities, "对接覆盖率", DEFINITIONS["contact_coverage"])

    def credit_rate(self) -> Ratio:
        return Ratio(self.list_credited, self.list_eligible, "评级授信率", DEFINITIONS["credit_rate"])

    def landing_rate(self) -> Ratio:
        return Ratio(self.list_disbursed, self.list_need_funds, "贷款落地率", DEFINITIONS["landing_rate"])

    def three_100(self) -> list[Ratio]:
        return [self.contact_coverage(), self.credit_rate(), self.landing_rate()]

    def credit_loan_share_count(self) -> Ratio:
        return Ratio(self.credit_loans, self.credited_rows, "信用贷款占比(笔数)", DEFINITIONS["credit_loan_share"])

    def credit_loan_share_amount(self) -> Ratio:
        return Ratio(
            self.credit_loan_amount, self.credit_amount, "信用贷款占比(金额)", DEFINITIONS["credit_loan_share"]
        )

    def average_rate(self) -> Decimal | None:
        if not self.credited_rows:
            return None
        return (Decimal(self.rate_sum) / self.credited_rows).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)

    def weighted_rate(self) -> Decimal | None:
        if not self.credit_amount:
            return None
        return (Decimal(self.rate_weighted_sum) / self.credit_amount).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)

    def feedback_timely(self) -> Ratio:
        return Ratio(self.feedback_on_time, self.feedback_determined, "反馈及时率", DEFINITIONS["feedback_timely"])

    def decision_timely(self) -> Ratio:
        return Ratio(self.decision_on_time, self.decision_determined, "决策及时率", DEFINITIONS["decision_timely"])

    def late_total(self) -> int:
        return self.feedback_late + self.decision_late

    def satisfaction(self) -> Decimal | None:
        if not self.rated:
            return None
        return (Decimal(self.score_sum) / self.rated).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)

    def funnel(self) -> list[dict]:
        """visited → declared → recommended → contacted → credited → disbursed (户, 元)."""
        return [
            {"stage": "走访", "key": "visited", "count": self.visited, "amount": None},
            {"stage": "申报", "key": "declared", "count": self.declared, "amount": self.declared_amount},
            {"stage": "推荐", "key": "recommended", "count": self.recommended, "amount": self.need_amount},
            {"stage": "对接", "key": "contacted", "count": self.contacted, "amount": None},
            {"stage": "授信", "key": "credited", "count": self.credited, "amount": self.credit_amount},
            {"stage": "放款", "key": "disbursed", "count": self.disbursed, "amount": self.disbursed_amount},
        ]

    def as_dict(self) -> dict:
        data = {f.name: _plain(getattr(self, f.name)) for f in fields(self)}
        data.update(
            three_100=[r.as_dict() for r in self.three_100()],
            credit_loan_share_count=self.credit_loan_share_count().as_dict(),
            credit_loan_share_amount=self.credit_loan_share_amount().as_dict(),
            average_rate=_plain(self.average_rate()),
            weighted_rate=_plain(self.weighted_rate()),
            feedback_timely=self.feedback_timely().as_dict(),
            decision_timely=self.decision_timely().as_dict(),
            late_total=self.late_total(),
            satisfaction=_plain(self.satisfaction()),
        )
        return data


_FIGURE_NAMES = tuple(f.name for f in fields(Figures))


# --- the reference implementation: events → state as of a moment → figures ----------------------


@dataclass
class Event:
    kind: str
    created_at: dt.datetime
    data: dict = field(default_factory=dict)


@dataclass
class Clock:
    due_at: dt.datetime
    satisfied_at: dt.datetime | None = None


@dataclass
class Ledger:
    """One recommendation with its immutable facts and its event history."""

    id: int
    entity_id: int
    pushed_at: dt.datetime
    need_amount: int
    events: list[Event] = field(default_factory=list)
    # the need it serves (the declaration that first stated it); None: a need of its own
    need_id: int | None = None
    feedback_clock: Clock | None = None
    decision_clock: Clock | None = None


@dataclass
class State:
    """A recommendation as its events had recorded it at the as-of moment."""

    entity_id: int
    need_amount: int
    need_id: object = None
    contacted: bool = False
    feedback_at: dt.datetime | None = None
    materials: bool = False
    approved: bool = False
    decision_at: dt.datetime | None = None
    credit_amount: int = 0
    rate: Decimal | None = None
    term_months: int | None = None
    is_credit_loan: bool = False
    is_first_loan: bool = False
    declined: bool = False
    not_drawn: bool = False
    removed_at: dt.datetime | None = None
    disbursed: int = 0
    disbursements: int = 0
    score: int | None = None
    feedback_on_time: bool = False
    feedback_late: bool = False
    decision_on_time: bool = False
    decision_late: bool = False


def state_as_of(rec: Ledger, as_of: dt.datetime) -> State | None:
    """The state of one recommendation at `as_of` (None if not yet pushed then)."""
    if rec.pushed_at > as_of:
        return None
    s = State(
        entity_id=rec.entity_id,
        need_amount=rec.need_amount,
        need_id=rec.need_id if rec.need_id is not None else ("row", rec.id),
    )
    for e in sorted(rec.events, key=lambda e: e.created_at):
        if e.created_at > as_of:
            break
        if e.kind == CONTACTED:
            s.contacted = True
        if e.kind in (CONTACTED, DECLINED) and s.feedback_at is None:
            s.feedback_at = e.created_at
        if e.kind in MATERIALS_KINDS:
            s.materials = True
        if e.kind in (APPROVED, DECLINED) and s.decision_at is None:
            s.decision_at = e.created_at
        if e.kind == APPROVED:
            s.approved = True
            s.credit_amount = int(e.data["credit_amount"])
            s.rate = Decimal(str(e.data["rate_percent"]))
            s.term_months = int(e.data["term_months"])
            s.is_credit_loan = bool(e.data.get("is_credit_loan"))
            s.is_first_loan = bool(e.data.get("is_first_loan"))
        elif e.kind == DECLINED:
            s.declined = True
        elif e.kind == NOT_DRAWN:
            s.not_drawn = True
        elif e.kind == REMOVED and s.removed_at is None:
            s.removed_at = e.created_at
        elif e.kind == DISBURSED:
            s.disbursed += int(e.data["amount"])
            s.disbursements += 1
        elif e.kind == RATED:
            s.score = int(e.data["score"])
        elif e.kind in CORRECTION_KINDS:
            _correct_state(s, e)
    s.feedback_on_time, s.feedback_late = _timeliness(rec.feedback_clock, s.feedback_at, s.removed_at, as_of, True)
    s.decision_on_time, s.decision_late = _timeliness(
        rec.decision_clock, s.decision_at if s.materials else None, s.removed_at, as_of, s.materials
    )
    return s


def _correct_state(s: State, e: Event) -> None:
    """A correction folded into the state from its moment on (see CORRECTION_KINDS)."""
    if e.kind == DECISION_CORRECTED:
        s.credit_amount = int(e.data["credit_amount"])
        s.rate = Decimal(str(e.data["rate_percent"]))
        s.term_months = int(e.data["term_months"])
        s.is_credit_loan = bool(e.data.get("is_credit_loan"))
        s.is_first_loan = bool(e.data.get("is_first_loan"))
    elif e.kind == DISBURSEMENT_CORRECTED:
        s.disbursed += int(e.data["amount"]) - int(e.data["amount_before"])
        s.disbursements -= 1 if e.data.get("voided") else 0
    elif e.kind == STATE_CORRECTED:
        undoes = e.data["undoes"]  # the kind of the event taken back
        if e.data.get("feedback"):  # it was the bank's first answer (a contact, or a decline before any)
            s.feedback_at = None
        if undoes == CONTACTED:
            s.contacted = False
        elif undoes in MATERIALS_KINDS:
            s.materials = False
        elif undoes == APPROVED:
            s.approved, s.decision_at = False, None
            s.credit_amount, s.rate, s.term_months = 0, None, None
            s.is_credit_loan = s.is_first_loan = False
        elif undoes == DECLINED:
            s.declined, s.decision_at = False, None
        elif undoes == NOT_DRAWN:
            s.not_drawn = False


def _timeliness(clock: Clock | None, answered_at, removed_at, as_of, started: bool) -> tuple[bool, bool]:
    """(on time, late) of one clock as of the moment. Answered late, or unanswered past due
    while still in the list, is late; a clock stopped by removal before due counts neither."""
    if clock is None or not started:
        return False, False
    if answered_at is not None:
        on_time = (clock.satisfied_at or answered_at) <= clock.due_at
        return on_time, not on_time
    late = clock.due_at < as_of and (removed_at is None or removed_at > clock.due_at)
    return False, late


def fold(events: Iterable[Event]) -> dict:
    """The statistics index of one recommendation (reporting.models.LedgerFact fields): the
    first recording moment of each milestone and the values its events carried."""
    f: dict = {
        "contacted_at": None,
        "feedback_at": None,
        "materials_at": None,
        "decision_at": None,
        "approved_at": None,
        "declined_at": None,
        "not_drawn_at": None,
        "removed_at": None,
        "rated_at": None,
        "credit_amount": None,
        "rate_percent": None,
        "term_months": None,
        "is_credit_loan": False,
        "is_first_loan": False,
        "score": None,
        "disbursed_total": 0,
        "disbursement_count": 0,
        "first_disbursed_at": None,
        "last_disbursed_at": None,
    }

    def first(key, moment):
        if f[key] is None or moment < f[key]:
            f[key] = moment

    for e in sorted(events, key=lambda e: e.created_at):
        if e.kind == CONTACTED:
            first("contacted_at", e.created_at)
        if e.kind in (CONTACTED, DECLINED):
            first("feedback_at", e.created_at)
        if e.kind in (APPROVED, DECLINED):
            first("decision_at", e.created_at)
        if e.kind in MATERIALS_KINDS:
            first("materials_at", e.created_at)
        elif e.kind == APPROVED:
            first("approved_at", e.created_at)
            f.update(
                credit_amount=int(e.data["credit_amount"]),
                rate_percent=Decimal(str(e.data["rate_percent"])),
                term_months=int(e.data["term_months"]),
                is_credit_loan=bool(e.data.get("is_credit_loan")),
                is_first_loan=bool(e.data.get("is_first_loan")),
            )
        elif e.kind == DECLINED:
            first("declined_at", e.created_at)
        elif e.kind == NOT_DRAWN:
            first("not_drawn_at", e.created_at)
        elif e.kind == REMOVED:
            first("removed_at", e.created_at)
        elif e.kind == RATED:
            first("rated_at", e.created_at)
            f["score"] = int(e.data["score"])
        elif e.kind == DISBURSED:
            f["disbursed_total"] += int(e.data["amount"])
            f["disbursement_count"] += 1
            first("first_disbursed_at", e.created_at)
            f["last_disbursed_at"] = e.created_at
        elif e.kind in CORRECTION_KINDS:
            _correct_fold(f, e)
    return f


def _correct_fold(f: dict, e: Event) -> None:
    """A correction folded into the index row: the row holds the facts as corrected (the
    statistics index keeps the row as it was before, valid until the correction's moment)."""
    if e.kind == DECISION_CORRECTED:
        f.update(
            credit_amount=int(e.data["credit_amount"]),
            rate_percent=Decimal(str(e.data["rate_percent"])),
            term_months=int(e.data["term_months"]),
            is_credit_loan=bool(e.data.get("is_credit_loan")),
            is_first_loan=bool(e.data.get("is_first_loan")),
        )
    elif e.kind == DISBURSEMENT_CORRECTED:
        f["disbursed_total"] += int(e.data["amount"]) - int(e.data["amount_before"])
        if e.data.get("voided"):
            f["disbursement_count"] -= 1
            if f["disbursement_count"] == 0:
                f["first_disbursed_at"] = f["last_disbursed_at"] = None
    elif e.kind == STATE_CORRECTED:
        undoes = e.data["undoes"]
        if e.data.get("feedback"):
            f["feedback_at"] = None
        if undoes == CONTACTED:
            f["contacted_at"] = None
        elif undoes in MATERIALS_KINDS:
            f["materials_at"] = None
        elif undoes == APPROVED:
            f["approved_at"] = f["decision_at"] = None
            f.update(credit_amount=None, rate_percent=None, term_months=None, is_credit_loan=False, is_first_loan=False)
        elif undoes == DECLINED:
            f["declined_at"] = f["decision_at"] = None
        elif undoes == NOT_DRAWN:
            f["not_drawn_at"] = None


def figures_of(states: Iterable[State]) -> Figures:
    """The figures of a group of recommendation states (the definition the SQL follows)."""
    f = Figures()
    sets: dict[str, set] = {
        k: set()
        for k in (
            "recommended",
            "contacted",
            "credited",
            "first_loans",
            "disbursed",
            "removed",
            "list_entities",
            "list_contacted",
            "list_eligible",
            "list_credited",
            "list_need_funds",
            "list_disbursed",
        )
    }
    needs: dict = {}
    for s in states:
        f.rows += 1
        needs[s.need_id] = max(needs.get(s.need_id, 0), s.need_amount)
        e = s.entity_id
        sets["recommended"].add(e)
        if s.contacted:
            sets["contacted"].add(e)
        if s.approved:
            sets["credited"].add(e)
            f.credited_rows += 1
            f.credit_amount += s.credit_amount
            f.rate_sum += s.rate
            f.rate_weighted_sum += s.rate * s.credit_amount
            if s.is_credit_loan:
                f.credit_loans += 1
                f.credit_loan_amount += s.credit_amount
            if s.is_first_loan:
                sets["first_loans"].add(e)
            if s.term_months and s.term_months > MEDIUM_LONG_TERM_MONTHS:
                f.medium_long += 1
                f.medium_long_amount += s.credit_amount
        if s.disbursed > 0:
            sets["disbursed"].add(e)
        f.disbursed_amount += s.disbursed
        f.disbursements += s.disbursements
        if s.declined:
            f.declined_rows += 1
        if s.removed_at is not None:
            sets["removed"].add(e)
        else:
            sets["list_entities"].add(e)
            if s.contacted:
                sets["list_contacted"].add(e)
            if not s.declined:
                sets["list_eligible"].add(e)
            if s.approved:
                sets["list_credited"].add(e)
                if not s.not_drawn:
                    sets["list_need_funds"].add(e)
            if s.disbursed > 0:
                sets["list_disbursed"].add(e)
        if s.feedback_on_time or s.feedback_late:
            f.feedback_determined += 1
            f.feedback_on_time += s.feedback_on_time
            f.feedback_late += s.feedback_late
        if s.decision_on_time or s.decision_late:
            f.decision_determined += 1
            f.decision_on_time += s.decision_on_time
            f.decision_late += s.decision_late
        if s.score is not None:
            f.rated += 1
            f.score_sum += s.score
    for key, members in sets.items():
        setattr(f, key, len(members))
    f.need_amount = sum(needs.values())
    return f


# --- 一高一提一降 from bank-reported balances ------------------------------------------------------


@dataclass(frozen=True)
class Balances:
    """Sums of the bank-reported figures of one month over a scope."""

    month: dt.date
    small_business: int
    all_loans: int
    credit_loans: int
    rate_weighted: Decimal  # Σ rate × small-business balance
    renewals_count: int = 0
    renewals_amount: int = 0
    renewal_balance: int = 0
    reporters: int = 0

    @property
    def credit_loan_share(self) -> Ratio:
        return Ratio(self.credit_loans, self.small_business, "小微企业信用贷款余额占比")

    @property
    def average_rate(self) -> Decimal | None:
        if not self.small_business:
            return None
        return (Decimal(self.rate_weighted) / self.small_business).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)


def growth(now: int | None, base: int | None) -> float | None:
    """Growth in percent (one decimal) of a balance over its base, None without a base."""
    if not base or now is None:
        return None
    return round((now - base) / base * 100, 1)


def one_high_trend(months: list[Balances], base: Balances | None) -> list[dict]:
    """Per month: small-business vs all-loan growth since the base (the previous year-end
    normally), credit-loan share and average rate — 一高一提一降 month by month."""
    out = []
    for b in months:
        share = b.credit_loan_share
        out.append(
            {
                "month": b.month.strftime("%Y-%m"),
                "small_business": b.small_business,
                "all_loans": b.all_loans,
                "credit_loans": b.credit_loans,
                "small_business_growth": growth(b.small_business, base.small_business if base else None),
                "all_loans_growth": growth(b.all_loans, base.all_loans if base else None),
                "credit_loan_share": share.percent,
                "average_rate": _plain(b.average_rate),
                "renewals_count": b.renewals_count,
                "renewals_amount": b.renewals_amount,
                "renewal_balance": b.renewal_balance,
                "reporters": b.reporters,
            }
        )
    return out


def one_high_verdict(latest: Balances | None, base: Balances | None, first: Balances | None) -> dict:
    """一高 (small-business growth above all-loan growth), 一提 (credit-loan share up),
    一降 (average rate down) for the period: each True / False / None (not enough data)."""
    if latest is None:
        return {"high": None, "up": None, "down": None}
    g_sb = growth(latest.small_business, base.small_business if base else None)
    g_all = growth(latest.all_loans, base.all_loans if base else None)
    reference = base or first
    share_now, share_then = latest.credit_loan_share.value, reference.credit_loan_share.value if reference else None
    rate_now, rate_then = latest.average_rate, reference.average_rate if reference else None
    return {
        "high": None if g_sb is None or g_all is None else g_sb > g_all,
        "up": None if share_now is None or share_then is None or reference is latest else share_now > share_then,
        "down": None if rate_now is None or rate_then is None or reference is latest else rate_now <= rate_then,
    }


# --- targets -------------------------------------------------------------------------------------


def target_progress(target_value: Decimal | int | float, actual: Decimal | int | float | None) -> float | None:
    """Progress toward a target in percent (may exceed 100), None without an actual."""
    if actual is None or not target_value:
        return None
    return round(float(actual) / float(target_value) * 100, 1)


# --- ranking -------------------------------------------------------------------------------------


def rank(rows: list[dict], key: str = "credit_amount") -> list[dict]:
    """Rank rows by `key` descending (ties share a rank, 1, 1, 3 …), ordered by rank then name."""
    ordered = sorted(rows, key=lambda r: (-(r.get(key) or 0), r.get("name", "")))
    previous, current = None, 0
    for index, row in enumerate(ordered, start=1):
        value = row.get(key) or 0
        if value != previous:
            current, previous = index, value
        row["rank"] = current
    return ordered
