"""Compile a product's rules and caps to SQL over ``MarketEntity`` rows (batch matching).

The second interpreter of the rule trees of ``eligibility``: where ``evaluate`` walks a
tree over one entity's facts, ``compile_*`` turns the same tree into one SQL expression that
PostgreSQL evaluates for every row of ``entities_marketentity`` at once. The evaluation date
(``as_of``) is a query parameter; the need (amount, term) and the product's maximum term are
constants of the compilation, as they are of an evaluation.

Three-valued logic and NULL (the contract the property tests check)
-------------------------------------------------------------------
``unknown`` is SQL ``NULL``, and nothing else is:

- every leaf compiles to a boolean expression that is TRUE where the engine says ``pass``,
  FALSE where it says ``fail`` and NULL exactly where it says ``unknown`` (missing data, a
  code less specific than the rule's prefix, an honour with open validity, a date after
  ``as_of``, a list the seed left incomplete, a tobacco licence not known to be held or not
  held, or held without an end date);
- ``all`` → ``AND``, ``any`` → ``OR``, ``not`` → ``NOT``: SQL's operators are Kleene's strong
  three-valued logic, the same truth tables as ``eligibility.logic``; ``switch`` is first
  expanded by ``rules.desugar`` (same outcome everywhere);
- so for a compiled rule tree R: ``pass`` ⇔ ``R IS TRUE``, ``fail`` ⇔ ``R IS FALSE``,
  ``unknown`` ⇔ ``R IS NULL``;
- the verdict expression V (``compile_verdict``: the rules AND the outcome of every cap, as
  ``Evaluation.verdict`` combines them): **eligible ⇔ V IS TRUE, ineligible ⇔ V IS FALSE,
  incomplete ⇔ V IS NULL**. ``WHERE V`` selects the eligible rows; ``WHERE NOT V`` selects
  the ineligible ones; the incomplete ones are in neither (use ``V IS NULL``).

Leaves are written the way the engine's author recommended: booleans as ``col = TRUE`` (NULL
stays NULL, unlike ``IS TRUE``); a time-cured comparison "operating months ≥ N" as
``established_on + N months <= :as_of`` on the column side (PostgreSQL clamps to the month's
end exactly like ``fields.add_months``); ``prefix_in`` over region and industry codes as a
``CASE`` that gives NULL when the entity's code is less specific than the prefix. The facts
of the entity's relationship with the product's own bank (``bank_*``, 借贷往来) are a scalar
subquery over ``entities_bankrelationship`` for that bank (its code is a constant of the
compilation, like the need): no row is NULL, as the engine's ``product_facts`` has it. Honours
are EXISTS subqueries. A batch plan (``plan``) reads both once per entity instead: it compiles
with ``relationships=`` and ``honors=`` aliases and joins ``relationships_sql`` (one join per
bank) and ``honors_sql`` (a LATERAL aggregate over the entity's honours); the property tests
check that both forms give every row the same value.

Caps: ``compile_caps`` gives the offer (``max_amount``, ``binding_cap``) as SQL with the
engine's semantics: the minimum of every applicable cap, whole 元, NULL when the verdict is
ineligible or an applicable cap cannot be computed; ties go to the first cap in order.

PostgreSQL only (the full stack): the embedded SQLite default has no month arithmetic with
end-of-month clamping, so the expressions refuse to compile there.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, Mapping, Sequence

from django.db import NotSupportedError
from django.db.models import BigIntegerField, BooleanField, CharField, Q
from django.db.models.expressions import RawSQL

from eligibility.caps import REQUESTED_AMOUNT, SHARE_BASES, cap_key, percent_value
from eligibility.codes import INDUSTRY_SECTIONS, PROVINCE_CODES, industry_path, region_path
from eligibility.evaluate import leaf_outcome, max_term_months
from eligibility.fields import FIELDS, HONOR_KINDS, Field, FieldType, product_facts
from eligibility.logic import Outcome
from eligibility.rules import desugar, node_kind
from entities.models import BankRelationship, Honor, MarketEntity
from products.models import Bank

# a date plus this many months is beyond any date PostgreSQL or Python can hold
_MAX_MONTHS = 12 * 10000


class CompileError(ValueError):
    """A rule over a field this compiler cannot express (a registry field without SQL)."""


@dataclass(frozen=True)
class SQL:
    """A SQL fragment with ``%s`` placeholders and its parameters, in order."""

    sql: str
    params: tuple = ()

    def __str__(self) -> str:
        return self.sql


TRUE = SQL("TRUE")
FALSE = SQL("FALSE")
NULL = SQL("CAST(NULL AS boolean)")


def _literal(outcome: Outcome) -> SQL:
    return {Outcome.PASS: TRUE, Outcome.FAIL: FALSE, Outcome.UNKNOWN: NULL}[outcome]


def _join(operator: str, parts: Sequence[SQL]) -> SQL:
    if len(parts) == 1:
        return parts[0]
    return SQL(
        "(" + f" {operator} ".join(part.sql for part in parts) + ")",
        tuple(param for part in parts for param in part.params),
    )


def _not(part: SQL) -> SQL:
    return SQL(f"(NOT {part.sql})", part.params)


def _fmt(template: str, *parts: SQL) -> SQL:
    """``template`` (no ``%s`` of its own) with its ``{}`` slots filled by ``parts``; the
    parameters follow the slots' order."""
    return SQL(template.format(*(part.sql for part in parts)), tuple(param for part in parts for param in part.params))


def _param(value: Any, cast: str = "") -> SQL:
    return SQL(f"CAST(%s AS {cast})" if cast else "%s", (value,))


# --- the compilation context -----------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    as_of: dt.date
    constants: Mapping[str, Any]  # facts fixed at compile time: the need and the product term
    table: str
    honor_table: str
    bank: str | None = None  # the product's bank (code): whose relationship rows bank_* facts read
    # the alias of a relation joined beside the entity that holds its row with ``bank`` (the
    # batch plan joins one per bank: a join per statement, not a subquery per entity); None: a
    # scalar subquery per entity
    relationships: str | None = None
    # the alias of a relation joined beside the entity that holds its honours' facts on
    # ``as_of`` (``honors_sql``); None: EXISTS subqueries per entity
    honors: str | None = None

    def col(self, name: str) -> str:
        return f'"{self.table}"."{name}"'

    @property
    def as_of_sql(self) -> SQL:
        return _param(self.as_of, "date")


def _tables() -> tuple[str, str]:
    return MarketEntity._meta.db_table, Honor._meta.db_table


# facts that are the same for every row: the need, and the product's term derived from it
NEED_KEYS = {"need_amount": "amount", "need_term_months": "term_months", "need_repayment": "repayment"}
CONSTANT_FIELDS = frozenset(NEED_KEYS) | {"term_months", "term_years"}


def _context(
    as_of: dt.date,
    need: Mapping[str, Any] | None,
    max_term: int | None,
    table: str | None,
    bank: str | None = None,
    relationships: str | None = None,
    honors: str | None = None,
) -> _Context:
    need = need or {}
    base = {key: need.get(source) for key, source in NEED_KEYS.items()}
    facts = product_facts({**base, "operator_age": None}, max_term)
    constants = {key: facts[key] for key in CONSTANT_FIELDS}
    entity_table, honor_table = _tables()
    return _Context(as_of, constants, table or entity_table, honor_table, bank or None, relationships, honors)


# --- leaves ----------------------------------------------------------------------------------


def _constant_leaf(leaf: Mapping[str, Any], field: Field, ctx: _Context) -> SQL:
    outcome, _ = leaf_outcome(leaf, ctx.constants)
    return _literal(outcome)


def _elapsed(leaf: Mapping[str, Any], ctx: _Context, column: str, step: int, offset: int) -> SQL:
    """A whole number of ``step``-month periods since a date column, plus ``offset``:
    value >= k ⇔ date + step·(k - offset) months <= as_of. Unknown when the date is missing
    or after ``as_of``."""
    date = ctx.col(column)

    def at_least(k: int) -> SQL:
        months = step * (k - offset)
        if months <= 0:
            return TRUE
        if months > _MAX_MONTHS:
            return FALSE
        return _fmt(f"({date} + make_interval(months => {{}}) <= {{}})", _param(months, "integer"), ctx.as_of_sql)

    def equals(k: int) -> SQL:
        return _join("AND", [at_least(k), _not(at_least(k + 1))])

    op, value = leaf["op"], leaf.get("value")
    body = {
        ">=": lambda: at_least(value),
        ">": lambda: at_least(value + 1),
        "<": lambda: _not(at_least(value)),
        "<=": lambda: _not(at_least(value + 1)),
        "==": lambda: equals(value),
        "!=": lambda: _not(equals(value)),
        "in": lambda: _join("OR", [equals(k) for k in value]),
        "not_in": lambda: _join("AND", [_not(equals(k)) for k in value]),
    }[op]()
    unknown = _fmt(f"({date} IS NULL OR {date} > {{}})", ctx.as_of_sql)
    return _fmt("(CASE WHEN {} THEN CAST(NULL AS boolean) ELSE {} END)", unknown, body)


def _months_since(leaf, field, ctx):
    return _elapsed(leaf, ctx, field.sql, 1, 0)


def _years_since(leaf, field, ctx):
    return _elapsed(leaf, ctx, field.sql, 12, 0)


def _age_plus_term(leaf, field, ctx):
    return _elapsed(leaf, ctx, field.sql, 12, ctx.constants["term_years"])


_COMPARISON_SQL = {"==": "=", "!=": "<>", ">": ">", ">=": ">=", "<": "<", "<=": "<="}


def _value_sql(field: Field, ctx: _Context) -> str:
    column = ctx.col(field.sql)
    if field.type in (FieldType.CHOICE, FieldType.TEXT):
        column = f"NULLIF({column}, '')"
    if field.key == "nationality":  # the registry reads it upper-cased
        column = f"UPPER({column})"
    return column


def _plain(leaf, field, ctx) -> SQL:
    value_sql = _value_sql(field, ctx)
    op, value = leaf["op"], leaf.get("value")
    if op in ("in", "not_in"):
        placeholders = ", ".join(["%s"] * len(value))
        negation = "NOT " if op == "not_in" else ""
        return SQL(f"({value_sql} {negation}IN ({placeholders}))", tuple(value))
    return SQL(f"({value_sql} {_COMPARISON_SQL[op]} %s)", (value,))


def _boolean(leaf, field, ctx) -> SQL:
    return SQL(f"({ctx.col(field.sql)} = {'TRUE' if leaf['op'] == 'is_true' else 'FALSE'})")


# region codes: the code's path (fields.region_path) as its shortest equivalent string E
# ("140500" → "1405", "140000" → "14"); NULL for a code region_path rejects.
_PROVINCES = ", ".join(f"'{code}'" for code in sorted(PROVINCE_CODES))


def _region(leaf, field, ctx) -> SQL:
    c = ctx.col(field.sql)
    valid = f"({c} ~ '^([0-9]{{2}}){{1,3}}$' AND left({c}, 2) IN ({_PROVINCES}))"
    effective = (
        f"(CASE WHEN length({c}) >= 6 AND substr({c}, 5, 2) <> '00' THEN {c} "
        f"WHEN length({c}) >= 4 AND substr({c}, 3, 2) <> '00' THEN left({c}, 4) "
        f"ELSE left({c}, 2) END)"
    )
    parts = []
    for prefix in leaf["value"]:
        p = region_path(prefix)[-1]  # the prefix's own shortest form
        parts.append(
            SQL(
                f"(CASE WHEN {c} IS NULL OR NOT {valid} THEN CAST(NULL AS boolean) "
                f"WHEN left({c}, {len(p)}) = %s THEN TRUE "
                f"WHEN length({effective}) < {len(p)} AND left(%s, length({effective})) = {effective} "
                f"THEN CAST(NULL AS boolean) ELSE FALSE END)",
                (p, p),
            )
        )
    return _unmatched(leaf, _join("OR", parts))


_SECTION_CASE = " ".join(
    f"WHEN CAST(left({{c}}, 2) AS integer) BETWEEN {first} AND {last} THEN '{section}'"
    for section, (first, last) in INDUSTRY_SECTIONS.items()
)
_SECTIONS = ", ".join(f"'{section}'" for section in INDUSTRY_SECTIONS)


def _industry(leaf, field, ctx) -> SQL:
    c = f"UPPER(BTRIM({ctx.col(field.sql)}))"
    section = (
        f"(CASE WHEN {c} IN ({_SECTIONS}) THEN {c} "
        f"WHEN {c} ~ '^[0-9]{{2,4}}$' THEN (CASE {_SECTION_CASE.format(c=c)} END) END)"
    )
    parts = []
    for prefix in leaf["value"]:
        path = industry_path(prefix)
        code = path[-1]
        if len(path) == 1:  # a section letter: inside iff the entity's section is it
            parts.append(SQL(f"({section} = %s)", (code,)))
            continue
        k = len(code)
        parts.append(
            SQL(
                f"(CASE WHEN {section} IS NULL THEN CAST(NULL AS boolean) "
                f"WHEN {c} = {section} THEN (CASE WHEN {c} = %s THEN CAST(NULL AS boolean) ELSE FALSE END) "
                f"WHEN length({c}) >= {k} THEN left({c}, {k}) = %s "
                f"WHEN left(%s, length({c})) = {c} THEN CAST(NULL AS boolean) ELSE FALSE END)",
                (path[0], code, code),
            )
        )
    return _unmatched(leaf, _join("OR", parts))


def _unmatched(leaf: Mapping[str, Any], tested: SQL) -> SQL:
    # a list the seed left incomplete: "not in the list" is unknown, not a fail
    return _fmt("NULLIF({}, FALSE)", tested) if leaf.get("unmatched") == "unknown" else tested


def _honor_exists(ctx: _Context, condition: str, params: tuple = ()) -> SQL:
    started = "(h.valid_from IS NULL OR h.valid_from <= CAST(%s AS date))"
    return SQL(
        f'EXISTS (SELECT 1 FROM "{ctx.honor_table}" h WHERE h.entity_id = {ctx.col("id")} '
        f"AND {started} AND {condition})",
        (ctx.as_of,) + params,
    )


def _open_honor(ctx: _Context) -> SQL:
    if ctx.honors is not None:
        return SQL(f"COALESCE({ctx.honors}.open_honor, FALSE)", ())
    return _honor_exists(ctx, "h.valid_until IS NULL")


def _valid_honor(ctx: _Context, kinds: Sequence[str]) -> SQL:
    placeholders = ", ".join(["%s"] * len(kinds))
    if ctx.honors is not None:
        return SQL(f"COALESCE({ctx.honors}.valid_kinds && CAST(ARRAY[{placeholders}] AS text[]), FALSE)", tuple(kinds))
    return _honor_exists(ctx, f"h.valid_until >= CAST(%s AS date) AND h.kind IN ({placeholders})", (ctx.as_of, *kinds))


def honors_sql(alias: str, as_of: dt.date, table: str | None = None) -> SQL:
    """``LEFT JOIN LATERAL`` of an entity's honours as the honour leaves read them on ``as_of``
    (the same conditions as their EXISTS form, read once per entity): ``valid_kinds``, the
    kinds of its started honours valid on that day, and ``open_honor``, whether a started
    honour's validity is open; for rules compiled with ``honors=alias`` and the same ``as_of``."""
    entity_table = table or MarketEntity._meta.db_table
    started = "(h.valid_from IS NULL OR h.valid_from <= CAST(%s AS date))"
    return SQL(
        f"LEFT JOIN LATERAL (SELECT array_agg(CAST(h.kind AS text)) FILTER (WHERE {started} "
        f"AND h.valid_until >= CAST(%s AS date)) AS valid_kinds, "
        f"bool_or({started} AND h.valid_until IS NULL) AS open_honor "
        f'FROM "{Honor._meta.db_table}" h WHERE h.entity_id = "{entity_table}"."id") {alias} ON TRUE',
        (as_of, as_of, as_of),
    )


def _honors_valid(leaf, field, ctx) -> SQL:
    """fields.honor_status: the list is unknown while a started honour's validity is open."""
    contains = _fmt(
        "(CASE WHEN {} THEN CAST(NULL AS boolean) ELSE {} END)", _open_honor(ctx), _valid_honor(ctx, [leaf["value"]])
    )
    return contains if leaf["op"] == "contains" else _not(contains)


def _has_valid_honor(leaf, field, ctx) -> SQL:
    has = _fmt(
        "(CASE WHEN {} THEN TRUE WHEN {} THEN CAST(NULL AS boolean) ELSE FALSE END)",
        _valid_honor(ctx, list(HONOR_KINDS)),
        _open_honor(ctx),
    )
    return has if leaf["op"] == "is_true" else _not(has)


def _tobacco_licence_status(leaf, field, ctx) -> SQL:
    """fields.tobacco_licence_status as a CASE over the four licence columns (same order of
    checks), compared like any choice: NULL (unknown) stays NULL."""
    held, starts, ends = (
        ctx.col(field.sql),
        ctx.col("tobacco_licence_valid_from"),
        ctx.col("tobacco_licence_valid_until"),
    )
    status = _fmt(
        f"(CASE WHEN {held} IS NULL THEN CAST(NULL AS text) WHEN {held} = FALSE THEN 'none' "
        f"WHEN {ends} IS NULL THEN CAST(NULL AS text) "
        f"WHEN {starts} IS NOT NULL AND {starts} > {{}} THEN 'not_yet_valid' "
        f"WHEN {ends} < {{}} THEN 'expired' ELSE 'valid' END)",
        ctx.as_of_sql,
        ctx.as_of_sql,
    )
    op, value = leaf["op"], leaf.get("value")
    if op in ("in", "not_in"):
        placeholders = ", ".join(["%s"] * len(value))
        return SQL(
            f"({status.sql} {'NOT ' if op == 'not_in' else ''}IN ({placeholders}))", status.params + tuple(value)
        )
    return SQL(f"({status.sql} {_COMPARISON_SQL[op]} %s)", status.params + (value,))


def _relationship(leaf, field, ctx) -> SQL:
    """A fact of the entity's relationship with the product's own bank: its row's column, read
    by a scalar subquery (one row per entity and bank), or from the joined row
    (``relationships_sql``) when the context names its alias; no row, or no bank, is NULL
    (unknown), as ``fields.product_facts`` has it."""
    if ctx.bank is None:
        return NULL
    if ctx.relationships is not None:
        value = SQL(f'{ctx.relationships}."{field.sql}"', ())
    else:
        value = SQL(
            f'(SELECT r."{field.sql}" FROM "{BankRelationship._meta.db_table}" r '
            f'JOIN "{Bank._meta.db_table}" b ON b.organisation_id = r.bank_id '
            f"WHERE r.entity_id = {ctx.col('id')} AND b.code = %s)",
            (ctx.bank,),
        )
    op = leaf["op"]
    if op in ("is_true", "is_false"):
        return _fmt(f"({{}} = {'TRUE' if op == 'is_true' else 'FALSE'})", value)
    if op in ("in", "not_in"):
        placeholders = ", ".join(["%s"] * len(leaf["value"]))
        negation = "NOT " if op == "not_in" else ""
        return SQL(f"({value.sql} {negation}IN ({placeholders}))", value.params + tuple(leaf["value"]))
    return SQL(f"({value.sql} {_COMPARISON_SQL[op]} %s)", value.params + (leaf["value"],))


LeafCompiler = Callable[[Mapping[str, Any], Field, _Context], SQL]
_BY_DERIVE: dict[str, LeafCompiler] = {
    "months_since": _months_since,
    "years_since": _years_since,
    "valid_honor_kinds": _honors_valid,
    "has_valid_honor": _has_valid_honor,
    "tobacco_licence_status": _tobacco_licence_status,
    "bank_relationship": _relationship,
}
_BY_TYPE: dict[FieldType, LeafCompiler] = {
    FieldType.INTEGER: _plain,
    FieldType.MONEY: _plain,
    FieldType.CHOICE: _plain,
    FieldType.TEXT: _plain,
    FieldType.BOOLEAN: _boolean,
    FieldType.REGION: _region,
    FieldType.INDUSTRY: _industry,
}


def leaf_compiler(field: Field) -> LeafCompiler:
    if field.key in CONSTANT_FIELDS:
        return _constant_leaf
    if field.key == "age_plus_term_years":
        return _age_plus_term
    if field.derive:
        if field.derive in _BY_DERIVE:
            return _BY_DERIVE[field.derive]
        raise CompileError(f"字段 '{field.label}' ({field.key}) 无法编译为 SQL: 未知的派生方式 {field.derive!r}")
    if field.type in _BY_TYPE and field.sql:
        return _BY_TYPE[field.type]
    raise CompileError(f"字段 '{field.label}' ({field.key}) 无法编译为 SQL")


# --- trees -----------------------------------------------------------------------------------


def _node(node: Mapping[str, Any], ctx: _Context) -> SQL:
    kind = node_kind(node)
    if kind == "leaf":
        field = FIELDS[node["field"]]
        return leaf_compiler(field)(node, field, ctx)
    if kind == "not":
        return _not(_node(node["not"], ctx))
    if kind in ("all", "any"):
        return _join("AND" if kind == "all" else "OR", [_node(child, ctx) for child in node[kind]])
    raise CompileError(f"未展开的 {kind} 节点")  # switch: desugared before


def _compile_tree(tree: Mapping[str, Any], ctx: _Context) -> SQL:
    return _node(desugar(tree), ctx)


def compile_rules(
    rules: Mapping[str, Any],
    *,
    as_of: dt.date,
    need: Mapping[str, Any] | None = None,
    max_term_months: int | None = None,
    table: str | None = None,
    bank: str | None = None,
    relationships: str | None = None,
    honors: str | None = None,
) -> SQL:
    """The rule tree as one boolean SQL expression: TRUE pass, FALSE fail, NULL unknown.
    ``bank``: the product's bank (its code), whose relationship rows the ``bank_*`` facts read;
    ``relationships``: the alias under which the statement joins that row
    (``relationships_sql``), instead of a subquery per entity; ``honors``: the alias under
    which it joins the entity's honours on ``as_of`` (``honors_sql``)."""
    return _compile_tree(rules, _context(as_of, need, max_term_months, table, bank, relationships, honors))


def relationships_sql(bank: str, alias: str, table: str | None = None) -> SQL:
    """``LEFT JOIN`` of an entity's relationship row with ``bank`` (at most one: unique per
    entity and bank), under ``alias``, for rules compiled with ``relationships=alias``."""
    entity_table = table or MarketEntity._meta.db_table
    return SQL(
        f'LEFT JOIN (SELECT r.* FROM "{BankRelationship._meta.db_table}" r '
        f'JOIN "{Bank._meta.db_table}" b ON b.organisation_id = r.bank_id WHERE b.code = %s) {alias} '
        f'ON {alias}.entity_id = "{entity_table}"."id"',
        (bank,),
    )


# --- caps ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _CompiledCap:
    key: str
    outcome: SQL  # TRUE / FALSE / NULL as the cap's outcome; TRUE when it does not apply
    amount: SQL | None  # the amount where the cap applies (NULL elsewhere); None: states none


def _cap_amount_and_outcome(cap: Mapping[str, Any], ctx: _Context) -> tuple[SQL, SQL | None]:
    """(outcome, amount) of a cap whose ``when`` holds (caps.CAP_EVALUATORS)."""
    kind = cap["kind"]
    if kind in ("product_cap", "honor_cap"):
        return (TRUE if cap["amount"] > 0 else FALSE), _param(cap["amount"], "bigint")
    if kind == "tier_cap":
        tier = f"NULLIF({ctx.col('tier')}, '')"
        amounts = cap["amounts"]
        whens = " ".join("WHEN %s THEN " + ("TRUE" if amount > 0 else "FALSE") for amount in amounts.values())
        outcome = SQL(
            f"(CASE WHEN {tier} IS NULL THEN CAST(NULL AS boolean) ELSE (CASE {tier} {whens} ELSE TRUE END) END)",
            tuple(amounts),
        )
        amount = SQL(
            f"(CASE {tier} " + " ".join("WHEN %s THEN CAST(%s AS bigint)" for _ in amounts) + " END)",
            tuple(param for item in amounts.items() for param in item),
        )
        return outcome, amount
    if kind in SHARE_BASES:
        base = ctx.col(FIELDS[SHARE_BASES[kind]].sql)
        share: Fraction = percent_value(cap["percent"]) / 100
        # exact: div() truncates the exact quotient; for a base > 0 that is the floor, and a
        # base ≤ 0 gives an amount ≤ 0 either way, which fails the cap
        amount = SQL(f"CAST(div(CAST({base} AS numeric) * %s, %s) AS bigint)", (share.numerator, share.denominator))
        return _fmt("({} > 0)", amount), amount
    if kind == "bank_decides":
        return TRUE, None
    raise CompileError(f"未知额度类型 {kind!r}")


def _compile_cap(cap: Mapping[str, Any], ctx: _Context) -> _CompiledCap:
    inner_outcome, inner_amount = _cap_amount_and_outcome(cap, ctx)
    if "when" not in cap:
        return _CompiledCap(cap_key(cap), inner_outcome, inner_amount)
    when = _compile_tree(cap["when"], ctx)
    # a failing condition: the cap does not apply; an unknown one: the cap is unknown
    outcome = _fmt(
        "(CASE WHEN {} IS FALSE THEN TRUE WHEN {} IS NULL THEN CAST(NULL AS boolean) ELSE {} END)",
        when,
        when,
        inner_outcome,
    )
    amount = None if inner_amount is None else _fmt("(CASE WHEN {} IS TRUE THEN {} END)", when, inner_amount)
    return _CompiledCap(cap_key(cap), outcome, amount)


def _compiled_caps(definition: Mapping[str, Any], ctx: _Context) -> list[_CompiledCap]:
    caps = [_compile_cap(cap, ctx) for cap in definition.get("caps", [])]
    requested = ctx.constants["need_amount"]
    if requested is not None:
        caps.append(_CompiledCap(REQUESTED_AMOUNT, TRUE if requested > 0 else FALSE, _param(requested, "bigint")))
    return caps


@dataclass(frozen=True)
class CompiledProduct:
    """SQL of one product version over entity rows on one date, for one need."""

    rules: SQL  # TRUE pass / FALSE fail / NULL unknown
    verdict: SQL  # TRUE eligible / FALSE ineligible / NULL incomplete
    max_amount: SQL  # bigint 元, NULL when none can be offered
    binding_cap: SQL  # text, NULL with max_amount

    @property
    def verdict_label(self) -> SQL:
        return _fmt(
            "(CASE WHEN {} IS TRUE THEN 'eligible' WHEN {} IS FALSE THEN 'ineligible' ELSE 'incomplete' END)",
            self.verdict,
            self.verdict,
        )


def compile_product(
    definition: Mapping[str, Any], *, as_of: dt.date, need: Mapping[str, Any] | None = None, table: str | None = None
) -> CompiledProduct:
    """Rules, verdict and offer of a product definition (``LoanProductVersion.definition``)."""
    ctx = _context(as_of, need, max_term_months(definition), table, definition.get("bank"))
    rules = _compile_tree(definition["rules"], ctx)
    caps = _compiled_caps(definition, ctx)
    verdict = _join("AND", [rules] + [cap.outcome for cap in caps])
    # an offer needs rules that do not fail and every cap computed (caps.offer)
    gate = _join("AND", [_fmt("({} IS NOT FALSE)", rules)] + [_fmt("({} IS TRUE)", cap.outcome) for cap in caps])
    amounts = [cap for cap in caps if cap.amount is not None]
    if not amounts:
        return CompiledProduct(rules, verdict, SQL("CAST(NULL AS bigint)"), SQL("CAST(NULL AS text)"))
    least = _fmt("LEAST(" + ", ".join(["{}"] * len(amounts)) + ")", *[cap.amount for cap in amounts])
    max_amount = _fmt("(CASE WHEN {} THEN {} END)", gate, least)
    binding = _binding_sql(gate, least, amounts)
    return CompiledProduct(rules, verdict, max_amount, binding)


def _binding_sql(gate: SQL, least: SQL, amounts: Sequence[_CompiledCap]) -> SQL:
    sql, params = [f"(CASE WHEN {gate.sql} THEN (CASE"], list(gate.params)
    for cap in amounts:
        sql.append(f"WHEN {cap.amount.sql} = {least.sql} THEN %s")
        params += [*cap.amount.params, *least.params, cap.key]
    sql.append("END) END)")
    return SQL(" ".join(sql), tuple(params))


def compile_verdict(
    definition: Mapping[str, Any], *, as_of: dt.date, need: Mapping[str, Any] | None = None, table: str | None = None
) -> SQL:
    return compile_product(definition, as_of=as_of, need=need, table=table).verdict


def compile_caps(
    definition: Mapping[str, Any], *, as_of: dt.date, need: Mapping[str, Any] | None = None, table: str | None = None
) -> tuple[SQL, SQL]:
    """(max_amount, binding_cap) of the offer as SQL (see ``compile_product``)."""
    compiled = compile_product(definition, as_of=as_of, need=need, table=table)
    return compiled.max_amount, compiled.binding_cap


# --- Django expressions ----------------------------------------------------------------------


class CompiledSQL(RawSQL):
    """A compiled expression in a queryset over ``MarketEntity`` (the base table's alias is its
    table name). PostgreSQL only."""

    def as_sql(self, compiler, connection):
        if connection.vendor != "postgresql":
            raise NotSupportedError("资格规则编译为 SQL 仅支持 PostgreSQL 数据库")
        return super().as_sql(compiler, connection)


def expression(sql: SQL, output_field=None) -> CompiledSQL:
    return CompiledSQL(sql.sql, sql.params, output_field=output_field or BooleanField())


def eligible_q(definition: Mapping[str, Any], *, as_of: dt.date, need: Mapping[str, Any] | None = None) -> Q:
    """Entities for which the product is ``eligible`` (its verdict expression IS TRUE)."""
    return Q(expression(compile_verdict(definition, as_of=as_of, need=need)))


def annotate_eligibility(
    queryset,
    definition: Mapping[str, Any],
    *,
    as_of: dt.date,
    need: Mapping[str, Any] | None = None,
    prefix: str = "eligibility",
):
    """Annotate ``<prefix>_verdict`` ("eligible" / "incomplete" / "ineligible"),
    ``<prefix>_max_amount`` and ``<prefix>_binding_cap`` on a MarketEntity queryset."""
    compiled = compile_product(definition, as_of=as_of, need=need)
    return queryset.annotate(
        **{
            f"{prefix}_verdict": expression(compiled.verdict_label, CharField()),
            f"{prefix}_max_amount": expression(compiled.max_amount, BigIntegerField()),
            f"{prefix}_binding_cap": expression(compiled.binding_cap, CharField()),
        }
    )
