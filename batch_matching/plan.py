"""One SQL statement that matches a set of entity rows against every product of a catalogue.

``batch_matching.compile`` gives each rule (leaf) and cap of a product version as SQL over
``entities_marketentity``. A batch run needs more than one product's verdict, so this module
arranges those pieces into one ``INSERT … SELECT`` that reads each entity row once:

- an inner query computes every distinct leaf of every product once per entity row (a leaf
  shared by ten products — "individual business", "in Shanxi" — is computed once), fenced
  with ``OFFSET 0`` so PostgreSQL does not inline it into each product's expression;
- a ``LATERAL (VALUES …)`` gives one row per product with the rules' outcome, the verdict
  (rules AND every cap, Kleene logic as in ``compile``) and a *relaxed* verdict (see near
  misses below); only eligible pairs and near misses are kept;
- the outer select computes, for the kept pairs only, the offer and binding cap (the least
  applicable cap amount, ties to the first cap, as ``engine.caps.offer``) and the ids of the
  failed and unknown reasons in the order and with the pruning of ``engine.evaluate.explain``
  (a passing ``any`` shows only its first passing alternative, a ``switch`` only its selected
  case, or one reason when its selector is unknown; ``not`` flips the outcome).

The statement is large (~100 KB for 16 products): planning it costs ~50 ms, so chunks are
tens of thousands of entities, and a handful of entities is better matched in Python
(``rows``).

Region and industry codes (``prefix_in`` leaves) are the expensive part of a compiled tree
(a regular expression and a 20-way ``CASE`` per prefix). Their outcome depends on the code
alone, so it is computed once per code of the reference tables into a code map
(``matching_batch_codemap``: one boolean array per code) and joined; a code that is not in
the map (or a map that is missing) falls back to the compiled expression itself, so the map
can change speed, never results.

Near misses: a pair is a near miss when it is ineligible but its *relaxed* verdict is not:
every rule that time cures (``operating_months >= 24`` and the like, evaluated
``NEAR_MISS_MONTHS`` later) or that a fix cures (登记状态经营异常 → 信用修复 → 存续) is
taken as cured where it counts in favour of eligibility (not under a ``not``). Caps are not
relaxed.

Stored verdicts are small integers: 2 eligible, 0 ineligible (a near miss); reasons are
bits and the binding cap a position, relative to the version's definition (``reason_ids``,
``cap_keys``). Only eligible pairs and near misses are stored: no row for an entity and a
product in a generation means ineligible or 信息不全 (incomplete, 1). The incomplete pairs are
five sixths of all pairs and no page lists them from the table (an entity's own page and the
待标记三型 list evaluate them live, ``selectors``); writing and indexing them was half of a
full run (1,000,000 entities: 22.2 s with them, 11.4 s without). Each statement still counts
them (``KEPT``, ``insert``): a run reports how many pairs it found 信息不全.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from batch_matching.compile import SQL, compile_product, compile_rules, honors_sql, relationships_sql
from eligibility.caps import cap_key
from eligibility.evaluate import max_term_months
from eligibility.fields import FIELDS, Field, FieldType, add_months
from eligibility.rules import desugar, leaf_id, node_kind

ELIGIBLE, INCOMPLETE, INELIGIBLE = 2, 1, 0
VERDICT_NAMES = {ELIGIBLE: "eligible", INCOMPLETE: "incomplete", INELIGIBLE: "ineligible"}

NEAR_MISS_MONTHS = 6
# a tree that compiles to TRUE: caps are compiled one by one behind it
_TRUE_RULES = {"field": "term_months", "op": ">=", "value": 0}
_NULL_AMOUNT = "CAST(NULL AS bigint)"

ENTITY_TABLE = "entities_marketentity"
HONORS_ALIAS = "hon"  # the entity's honours on the plan's date, joined once per entity (compile.honors_sql)
CODEMAP_TABLE = "matching_batch_codemap"
# which leaves go through a code map, and the reference table that lists the codes
MAPPED_SOURCES = {FieldType.REGION: "portal_region", FieldType.INDUSTRY: "portal_industry"}
# fixes that cure a failed rule: field → {value now: value after the fix}, and what to do
FIXES = {"register_status": {"abnormal": "active"}}
FIX_HINTS = {("register_status", "abnormal"): "登记状态经营异常: 可申请信用修复(移出经营异常名录)"}


def _fixed_sql(key: str, table: str) -> str:
    column = f"{table}.{FIELDS[key].sql}"
    whens = " ".join(f"WHEN {column} = '{now}' THEN '{after}'" for now, after in FIXES[key].items())
    return f"(CASE {whens} ELSE {column} END)"


@dataclass(frozen=True)
class VersionSpec:
    """A product version to match: ids and the immutable definition."""

    product_id: int
    version_id: int
    definition: Mapping[str, Any]


def curable(leaf: Mapping[str, Any]) -> bool:
    """A rule that time or a fix can cure (when it counts in favour of eligibility)."""
    spec: Field = FIELDS[leaf["field"]]
    if spec.key in FIXES:
        return True
    return spec.time_cured and leaf["op"] in (">=", ">")


def _and(parts: Sequence[str]) -> str:
    parts = [p for p in parts if p != "TRUE"]
    if not parts:
        return "TRUE"
    return parts[0] if len(parts) == 1 else "(" + " AND ".join(parts) + ")"


# --- the encoding of reasons and caps --------------------------------------------------------
#
# A stored row names its failed and unknown reasons as bits of a bigint, and its binding cap
# as a position: both relative to the version's definition (immutable), which ``reason_ids``
# and ``cap_keys`` list. Bit i is the i-th distinct reason id in the order explain lists
# reasons (the rule tree's order, a switch's own id before its cases, then the caps). A
# definition with more than 63 distinct ids shares the last bit among the rest.

MASK_BITS = 63


def reason_ids(definition: Mapping[str, Any]) -> list[str]:
    ids: list[str] = []

    def add(rule: str) -> None:
        if rule not in ids:
            ids.append(rule)

    def walk(node: Mapping[str, Any]) -> None:
        kind = node_kind(node)
        if kind == "leaf":
            add(leaf_id(node))
        elif kind == "not":
            walk(node["not"])
        elif kind == "switch":
            add(node.get("id") or node["switch"])
            for case in node["cases"].values():
                walk(case)
        else:
            for child in node[kind]:
                walk(child)

    walk(definition["rules"])
    for cap in definition.get("caps", []):
        add(cap_key(cap))
    return ids


def reason_bit(ids: Sequence[str], rule: str) -> int:
    return 1 << min(ids.index(rule), MASK_BITS - 1)


def decode_reasons(mask: int | None, ids: Sequence[str]) -> list[str]:
    """The reason ids a mask names, in the definition's order."""
    if not mask:
        return []
    return [rule for i, rule in enumerate(ids) if mask & (1 << min(i, MASK_BITS - 1))]


def cap_keys(definition: Mapping[str, Any]) -> list[str]:
    return [cap_key(cap) for cap in definition.get("caps", [])]


def encode_cap(definition: Mapping[str, Any], key: str | None) -> int | None:
    """The stored position of a binding cap key (its first cap with that key)."""
    if key is None:
        return None
    keys = cap_keys(definition)
    return keys.index(key) if key in keys else None


def decode_cap(definition: Mapping[str, Any], position: int | None, *, keys: Sequence[str] | None = None) -> str | None:
    """The binding cap's key at a stored position (``keys``: the definition's ``cap_keys``, if
    the caller has them)."""
    keys = cap_keys(definition) if keys is None else keys
    return keys[position] if position is not None and 0 <= position < len(keys) else None


@dataclass
class _CodeMap:
    alias: str
    field: Field
    source: str
    leaves: list[SQL] = field(default_factory=list)  # compiled over the alias "src"
    index: dict[tuple, int] = field(default_factory=dict)

    def add(self, compiled: SQL) -> int:
        key = (compiled.sql, compiled.params)
        if key not in self.index:
            self.leaves.append(compiled)
            self.index[key] = len(self.leaves)  # PostgreSQL arrays are 1-based
        return self.index[key]

    @property
    def signature(self) -> str:
        body = json.dumps([self.field.key, self.source, [[c.sql, list(c.params)] for c in self.leaves]], default=str)
        return hashlib.sha1(body.encode()).hexdigest()

    def build_sql(self) -> SQL:
        """INSERT of the map's rows (one per code of the reference table); idempotent."""
        column = self.field.sql
        arrays = ", ".join(c.sql for c in self.leaves)
        params = tuple(p for c in self.leaves for p in c.params)
        return SQL(
            f"INSERT INTO {CODEMAP_TABLE} (signature, code, outcomes) "
            f"SELECT %s, src.{column}, ARRAY[{arrays}]::boolean[] "
            f"FROM (SELECT code AS {column} FROM {self.source}) src ON CONFLICT DO NOTHING",
            (self.signature,) + params,
        )


@dataclass(frozen=True)
class _Shape:
    eligible_is_quiet: bool  # a passing tree explains with passing reasons only
    incomplete_fails_quietly: bool  # an unknown tree explains with no failed reason


def _shape(tree: Mapping[str, Any]) -> _Shape:
    """What ``explain`` can show, from the tree's form. A failed or unknown reason under a
    passing tree needs a negated group (``not`` over all/any/switch: the group's failed and
    unknown reasons are shown negated); a failed reason under an unknown tree needs an
    ``any`` (its failed alternatives are shown) or a negated group."""
    negated_group = has_any = False
    stack = [tree]
    while stack:
        node = stack.pop()
        kind = node_kind(node)
        if kind == "not":
            negated_group = negated_group or node_kind(node["not"]) != "leaf"
            stack.append(node["not"])
        elif kind == "switch":
            stack.extend(node["cases"].values())
        elif kind in ("all", "any"):
            has_any = has_any or kind == "any"
            stack.extend(node[kind])
    return _Shape(eligible_is_quiet=not negated_group, incomplete_fails_quietly=not (negated_group or has_any))


@dataclass
class ProductPlan:
    index: int
    spec: VersionSpec
    rules: str  # outcome of the rule tree (over inner columns)
    verdict: str
    relaxed: str  # "FALSE" when nothing is curable
    caps: list[tuple[str, str, str | None]]  # (key, outcome, amount)
    reasons: list[tuple[str, str, str]]  # (rule id, shown, outcome), explain's order
    shape: "_Shape"

    @property
    def max_amount(self) -> str:
        amounts = [amount for _, _, amount in self.caps if amount is not None]
        if not amounts:
            return _NULL_AMOUNT
        return f"(CASE WHEN {self._gate} THEN LEAST({', '.join(amounts)}) END)"

    @property
    def binding_cap(self) -> str:
        """The position (``cap_keys``) of the first cap whose amount is the offer."""
        keys = [key for key, _, _ in self.caps]
        amounts = [(keys.index(key), amount) for key, _, amount in self.caps if amount is not None]
        if not amounts:
            return "CAST(NULL AS smallint)"
        least = f"LEAST({', '.join(a for _, a in amounts)})"
        whens = " ".join(f"WHEN {amount} = {least} THEN {position}" for position, amount in amounts)
        return f"CAST((CASE WHEN {self._gate} THEN (CASE {whens} END) END) AS smallint)"

    @property
    def _gate(self) -> str:
        return _and([f"(s.r{self.index} IS NOT FALSE)"] + [f"({outcome} IS TRUE)" for _, outcome, _ in self.caps])

    def reason_mask(self, outcome: str) -> str:
        """Bits (``reason_ids``) of the shown reasons with this outcome ("fail" or
        "unknown"); NULL for none."""
        test = {"fail": "IS FALSE", "unknown": "IS NULL"}[outcome]
        ids = reason_ids(self.spec.definition)
        items = [
            f"(CASE WHEN {_and([shown, f'({out}) {test}'])} THEN {reason_bit(ids, rule)} ELSE 0 END)"
            for rule, shown, out in self.reasons
        ]
        if not items:
            return "CAST(NULL AS bigint)"
        mask = f"NULLIF(CAST({' | '.join(items)} AS bigint), 0)"
        # shortcuts (see _shape): an eligible pair shows no failed or unknown reason, and an
        # incomplete one no failed reason, unless an `any` or a negated group can show them
        quiet = []
        if self.shape.eligible_is_quiet:
            quiet.append("TRUE")
        if outcome == "fail" and self.shape.incomplete_fails_quietly:
            quiet.append("NULL")
        if not quiet:
            return mask
        whens = " ".join(f"WHEN s.ok{self.index} IS {value} THEN CAST(NULL AS bigint)" for value in quiet)
        return f"(CASE {whens} ELSE {mask} END)"


class Planner:
    """Builds the statements of one catalogue (a list of product versions) on one date.

    ``use_maps``: join the code maps (PostgreSQL batch work); without them every leaf is the
    compiled expression itself (fine for a handful of rows)."""

    def __init__(
        self,
        versions: Sequence[VersionSpec],
        *,
        as_of: dt.date,
        near_miss_months: int = NEAR_MISS_MONTHS,
        use_maps: bool = True,
    ) -> None:
        self.as_of = as_of
        self.relaxed_as_of = add_months(as_of, near_miss_months)
        self.use_maps = use_maps
        self._columns: dict[tuple, str] = {}
        self._column_sql: list[tuple[str, SQL]] = []
        self.maps: dict[str, _CodeMap] = {}
        self._fixes: set[str] = set()
        # the bank of the product being planned: its relationship rows are what the bank_* facts
        # read (fields.product_facts), so a leaf compiles per bank
        self._bank: str | None = None
        # bank code → the alias its relationship rows are joined under (``_pairs``: one join
        # per bank for the statement, instead of a subquery per entity and leaf)
        self._relationships: dict[str, str] = {}
        self.products = [self._plan(index, spec) for index, spec in enumerate(versions)]

    # --- inner columns -------------------------------------------------------------------

    def _column(self, compiled: SQL) -> str:
        key = (compiled.sql, compiled.params)
        name = self._columns.get(key)
        if name is None:
            name = f"c{len(self._column_sql)}"
            self._columns[key] = name
            self._column_sql.append((name, compiled))
        return f"s.{name}"

    def _relationship_alias(self) -> str | None:
        """The alias of the planned product's bank's relationship rows."""
        if self._bank is None:
            return None
        return self._relationships.setdefault(self._bank, f"rel{len(self._relationships)}")

    def _leaf(self, leaf: Mapping[str, Any], max_term: int | None, *, relaxed: bool = False) -> str:
        spec = FIELDS[leaf["field"]]
        relationships = self._relationship_alias()
        if relaxed and curable(leaf):
            if spec.key in FIXES:
                self._fixes.add(spec.key)
                return self._column(
                    compile_rules(leaf, as_of=self.as_of, max_term_months=max_term, table="fx", bank=self._bank)
                )
            return self._column(
                compile_rules(
                    leaf,
                    as_of=self.relaxed_as_of,
                    max_term_months=max_term,
                    bank=self._bank,
                    relationships=relationships,
                )
            )
        inline = compile_rules(
            leaf,
            as_of=self.as_of,
            max_term_months=max_term,
            bank=self._bank,
            relationships=relationships,
            honors=HONORS_ALIAS,
        )
        source = MAPPED_SOURCES.get(spec.type)
        if not self.use_maps or source is None or leaf.get("op") != "prefix_in":
            return self._column(inline)
        code_map = self.maps.get(spec.key)
        if code_map is None:
            code_map = self.maps[spec.key] = _CodeMap(f"m{len(self.maps)}", spec, source)
        position = code_map.add(
            compile_rules(leaf, as_of=self.as_of, max_term_months=max_term, table="src", bank=self._bank)
        )
        alias = code_map.alias
        return self._column(
            SQL(
                f"(CASE WHEN {alias}.code IS NULL THEN {inline.sql} ELSE {alias}.outcomes[{position}] END)",
                inline.params,
            )
        )

    # --- trees ---------------------------------------------------------------------------

    def _outcome(
        self, node: Mapping[str, Any], max_term: int | None, *, relaxed: bool = False, negated: bool = False
    ) -> str:
        kind = node_kind(node)
        if kind == "leaf":
            return self._leaf(node, max_term, relaxed=relaxed and not negated)
        if kind == "not":
            return f"(NOT {self._outcome(node['not'], max_term, relaxed=relaxed, negated=not negated)})"
        if kind == "switch":
            return self._outcome(desugar(node), max_term, relaxed=relaxed, negated=negated)
        parts = [self._outcome(child, max_term, relaxed=relaxed, negated=negated) for child in node[kind]]
        if not parts:  # all_of([]) passes, any_of([]) fails
            return "TRUE" if kind == "all" else "FALSE"
        return parts[0] if len(parts) == 1 else "(" + f" {'AND' if kind == 'all' else 'OR'} ".join(parts) + ")"

    def _has_curable(self, node: Mapping[str, Any], negated: bool = False) -> bool:
        kind = node_kind(node)
        if kind == "leaf":
            return not negated and curable(node)
        if kind == "not":
            return self._has_curable(node["not"], not negated)
        if kind == "switch":
            return self._has_curable(desugar(node), negated)
        return any(self._has_curable(child, negated) for child in node[kind])

    def _reasons(
        self, node: Mapping[str, Any], max_term: int | None, shown: str, negated: bool, out: list[tuple[str, str, str]]
    ) -> None:
        kind = node_kind(node)
        if kind == "leaf":
            column = self._leaf(node, max_term)
            out.append((leaf_id(node), shown, f"(NOT {column})" if negated else column))
        elif kind == "not":
            self._reasons(node["not"], max_term, shown, not negated, out)
        elif kind == "all":
            for child in node["all"]:
                self._reasons(child, max_term, shown, negated, out)
        elif kind == "any":
            whole = self._outcome(node, max_term)
            outcomes = [self._outcome(child, max_term) for child in node["any"]]
            for i, child in enumerate(node["any"]):
                first_pass = _and([f"({outcomes[i]} IS TRUE)"] + [f"({o} IS NOT TRUE)" for o in outcomes[:i]])
                self._reasons(child, max_term, _and([shown, f"({whole} IS NOT TRUE OR {first_pass})"]), negated, out)
        elif kind == "switch":
            selector, cases = node["switch"], node["cases"]

            def equals(value):
                return self._leaf({"field": selector, "op": "==", "value": value}, max_term)

            whole = self._outcome(node, max_term)
            unknown = f"({equals(next(iter(cases)))} IS NULL)"
            out.append((node.get("id") or selector, _and([shown, unknown]), f"(NOT {whole})" if negated else whole))
            for value, case in cases.items():
                self._reasons(case, max_term, _and([shown, f"({equals(value)} IS TRUE)"]), negated, out)

    # --- products ------------------------------------------------------------------------

    def _caps(self, definition: Mapping[str, Any], max_term: int | None) -> list[tuple[str, str, str | None]]:
        caps = []
        for cap in definition.get("caps", []):
            inner = compile_product(
                {
                    "rules": _TRUE_RULES,
                    "caps": [{k: v for k, v in cap.items() if k != "when"}],
                    "term": definition.get("term"),
                },
                as_of=self.as_of,
            )
            assert inner.rules.sql == "TRUE", inner.rules.sql
            outcome = self._column(inner.verdict)
            amount = None if inner.max_amount.sql == _NULL_AMOUNT else self._column(inner.max_amount)
            if "when" in cap:
                when = self._outcome(cap["when"], max_term)
                outcome = (
                    f"(CASE WHEN {when} IS FALSE THEN TRUE WHEN {when} IS NULL THEN CAST(NULL AS boolean) "
                    f"ELSE {outcome} END)"
                )
                amount = None if amount is None else f"(CASE WHEN {when} IS TRUE THEN {amount} END)"
            caps.append((cap_key(cap), outcome, amount))
        return caps

    def _plan(self, index: int, spec: VersionSpec) -> ProductPlan:
        definition = spec.definition
        self._bank = definition.get("bank")
        max_term = max_term_months(definition)
        rules = self._outcome(definition["rules"], max_term)
        caps = self._caps(definition, max_term)
        cap_outcomes = [outcome for _, outcome, _ in caps]
        verdict = _and([rules] + cap_outcomes)
        relaxed = "FALSE"
        if self._has_curable(definition["rules"]):
            relaxed = _and([self._outcome(definition["rules"], max_term, relaxed=True)] + cap_outcomes)
        reasons: list[tuple[str, str, str]] = []
        self._reasons(definition["rules"], max_term, "TRUE", False, reasons)
        reasons += [(key, "TRUE", outcome) for key, outcome, _ in caps]
        return ProductPlan(index, spec, rules, verdict, relaxed, caps, reasons, _shape(definition["rules"]))

    # --- statements ----------------------------------------------------------------------

    def map_statements(self) -> list[tuple[str, SQL]]:
        """(signature, INSERT) of every code map this plan joins."""
        return [(m.signature, m.build_sql()) for m in self.maps.values()]

    def _pairs(self, where: SQL) -> SQL:
        """One row per entity ``where`` selects (a condition over ``entities_marketentity``):
        its leaves, then each product's rules outcome, verdict and relaxed verdict."""
        t = ENTITY_TABLE
        columns = [f"{t}.id AS entity_id", county_sql(t) + " AS county", f"{t}.data_shared_with_banks AS shared"]
        params: list = []
        for name, compiled in self._column_sql:
            columns.append(f"{compiled.sql} AS {name}")
            params.extend(compiled.params)
        joins = []
        if self._fixes:
            fixed = ", ".join(f"{_fixed_sql(key, t)} AS {FIELDS[key].sql}" for key in sorted(self._fixes))
            joins.append(f"CROSS JOIN LATERAL (SELECT {fixed}) fx")
        if self.use_maps:
            for code_map in self.maps.values():
                joins.append(
                    f"LEFT JOIN {CODEMAP_TABLE} {code_map.alias} ON {code_map.alias}.signature = %s "
                    f"AND {code_map.alias}.code = {t}.{code_map.field.sql}"
                )
                params.append(code_map.signature)
        for bank, alias in self._relationships.items():
            if any(f'{alias}."' in compiled.sql for _, compiled in self._column_sql):  # a leaf reads it
                join = relationships_sql(bank, alias, t)
                joins.append(join.sql)
                params.extend(join.params)
        if any(f"({HONORS_ALIAS}." in compiled.sql for _, compiled in self._column_sql):  # a leaf reads them
            join = honors_sql(HONORS_ALIAS, self.as_of, t)
            joins.append(join.sql)
            params.extend(join.params)
        params.extend(where.params)
        # OFFSET 0: PostgreSQL would otherwise inline the leaves into every product's expression
        inner = f"SELECT {', '.join(columns)} FROM {t} {' '.join(joins)} WHERE {where.sql} OFFSET 0"
        outcomes = ", ".join(
            f"{p.rules} AS r{p.index}, {p.verdict} AS ok{p.index}, {p.relaxed} AS x{p.index}" for p in self.products
        )
        # the outcomes first in the materialised row: each product's branch filters on its own
        # two and reads the leaves only for the rows it keeps (a row is deformed up to the last
        # column read: with the leaves first, every branch walked all of them for every entity;
        # 7-9 % of a chunk, measured)
        return SQL(f"SELECT {outcomes}, s.* FROM ({inner}) s", tuple(params))

    def _branches(self, *, generation: int, run_id: int) -> str:
        # one branch per product over the materialised pairs: each computes its own offer and
        # reasons for its kept rows only, with no per-row dispatch on the product (a CASE over
        # the products, an unnest or a VALUES list per entity all cost several times more)
        branches = []
        for p in self.products:
            i = p.index
            kept = KEPT.format(i=i)
            branches.append(
                f"SELECT {p.max_amount}, {p.reason_mask('fail')}, {p.reason_mask('unknown')}, "
                f"{int(generation)}, s.entity_id, {int(p.spec.product_id)}, {int(p.spec.version_id)}, {int(run_id)}, "
                f"CAST((CASE WHEN s.ok{i} IS TRUE THEN {ELIGIBLE} WHEN s.ok{i} IS NULL THEN {INCOMPLETE} "
                f"ELSE {INELIGIBLE} END) AS smallint), {p.binding_cap}, s.shared, (s.ok{i} IS FALSE), s.county "
                f"FROM pairs s WHERE {kept}"
            )
        return " UNION ALL ".join(branches)

    def select(self, where: SQL, *, generation: int = 0, run_id: int = 0) -> SQL:
        """The result rows (columns as ``RESULT_COLUMNS``) of the entities ``where`` selects."""
        pairs = self._pairs(where)
        return SQL(
            f"WITH pairs AS MATERIALIZED ({pairs.sql}) {self._branches(generation=generation, run_id=run_id)}",
            pairs.params,
        )

    def insert(self, table: str, where: SQL, *, generation: int, run_id: int, counted: bool = True) -> SQL:
        """INSERT of the result rows into ``table``. ``counted``: the statement returns the
        counts of what it wrote per product and county (``COUNT_COLUMNS``, the incomplete pairs
        it did not write among them). Not counted (a full run's chunk, which counts its whole
        table once, beside its index builds): one row per product, ``(product_id, rows
        written, incomplete pairs)``."""
        pairs = self._pairs(where)
        branches = self._branches(generation=generation, run_id=run_id)
        insert = f"INSERT INTO {table} ({', '.join(RESULT_COLUMNS)}) {branches}"
        if not counted:
            tallies = ", ".join(
                f"count(*) FILTER (WHERE {KEPT.format(i=p.index)}), count(*) FILTER (WHERE s.ok{p.index} IS NULL)"
                for p in self.products
            )
            per_product = ", ".join(
                f"({int(p.spec.product_id)}, t.c{2 * n}, t.c{2 * n + 1})" for n, p in enumerate(self.products)
            )
            names = ", ".join(f"c{k}" for k in range(2 * len(self.products)))
            return SQL(
                f"WITH pairs AS MATERIALIZED ({pairs.sql}), written AS ({insert}) "
                f"SELECT v.* FROM (SELECT {tallies} FROM pairs s) t ({names}) "
                f"CROSS JOIN LATERAL (VALUES {per_product}) v (product_id, rows, incomplete)",
                pairs.params,
            )
        # the incomplete pairs, not written, counted as rows of verdict 1 beside the written ones
        unstored = " UNION ALL ".join(
            f"SELECT {int(p.spec.product_id)}, s.county, {INCOMPLETE}, s.shared, FALSE FROM pairs s "
            f"WHERE s.ok{p.index} IS NULL"
            for p in self.products
        )
        return SQL(
            f"WITH pairs AS MATERIALIZED ({pairs.sql}), "
            f"written AS ({insert} RETURNING {', '.join(COUNTED)}) "
            f"{count_select(f'(SELECT * FROM written UNION ALL {unstored})')}",
            pairs.params,
        )


# the table's column order (8-byte columns first: no alignment padding)
RESULT_COLUMNS = (
    "max_amount",
    "failed_mask",
    "unknown_mask",
    "generation",
    "entity_id",
    "product_id",
    "version_id",
    "run_id",
    "verdict",
    "binding_cap",
    "shared",
    "near_miss",
    "county",
)
COUNTED = ("product_id", "county", "verdict", "shared", "near_miss")
# the pairs a product's branch writes: eligible, or a near miss (ineligible, relaxed not)
KEPT = "(s.ok{i} IS TRUE OR (s.ok{i} IS FALSE AND s.x{i} IS NOT FALSE))"
COUNT_COLUMNS = ("product_id", "county", "eligible", "eligible_shared", "incomplete", "near_miss", "rows")


def county_code(region_code: str | None) -> int:
    """A county's code as stored (an integer; 0 for a code that is not six digits)."""
    return int(region_code) if region_code and len(region_code) == 6 and region_code.isdigit() else 0


def county_sql(table: str) -> str:
    return f"(CASE WHEN {table}.region_code ~ '^[0-9]{{6}}$' THEN CAST({table}.region_code AS integer) ELSE 0 END)"


def county_range(prefix: str) -> tuple[int, int]:
    """The stored county codes [lo, hi) inside a region code prefix ("14", "1405", "140525")."""
    digits = prefix[:6]
    scale = 10 ** (6 - len(digits))
    return int(digits) * scale, (int(digits) + 1) * scale


def count_select(relation: str) -> str:
    """Counts per product and county of result rows in ``relation`` (``COUNT_COLUMNS``: the
    incomplete ones are rows of verdict 1 a statement adds beside what it wrote; ``rows`` counts
    the others, the stored ones)."""
    return (
        f"SELECT product_id, county, count(*) FILTER (WHERE verdict = {ELIGIBLE}), "
        f"count(*) FILTER (WHERE verdict = {ELIGIBLE} AND shared), count(*) FILTER (WHERE verdict = {INCOMPLETE}), "
        f"count(*) FILTER (WHERE near_miss), count(*) FILTER (WHERE verdict <> {INCOMPLETE}) "
        f"FROM {relation} AS counted GROUP BY product_id, county ORDER BY product_id, county"
    )
