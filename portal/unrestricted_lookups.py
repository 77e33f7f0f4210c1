"""Finds lookups of tenant-scoped models by input values that bypass the tenant restriction.

The write boundary of the portal (portal.tenancy.resolve / restrict) holds only if no
service, API, view, form, import or command looks a tenant-scoped model up by a value the
caller supplied any other way. This checker reads the source (no import of the modules
needed) and follows, inside each function, which names carry input: the parameters that name
objects (`*_id`, `*_ids`, `pk`, `uscc`, `code`, `codes`, …) or take an object or the value
naming it (`entity: MarketEntity | int`), anything read from a request, a
form's cleaned data, query parameters or a file row, and every name assigned or looped from
those. A call `Model.objects.<lookup>(...)` (or `get_object_or_404(Model, ...)`) whose
arguments use such a name, on a model with a registered restriction that is not public, is a
finding, unless the queryset is handed to restrict()/resolve()/resolve_many() in the same
expression. `ALLOWED` lists the deliberate exceptions, each with its reason.

A checker of the code beside the rule it checks (portal/tenancy.py), run by
tests/test_unrestricted_lookups.py; nothing imports it at run time.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

from django.apps import apps

from portal.source import project_packages
from portal.tenancy import _lookup, has_restriction, public

ROOT = Path(__file__).resolve().parent.parent


INPUT_PARAM = re.compile(r"(^|_)(ids?|pks?|uscc|usccs|codes?)$")
INPUT_SOURCES = {
    "request",
    "params",
    "data",
    "cleaned_data",
    "query_params",
    "GET",
    "POST",
    "FILES",
    "row",
    "rows",
    "payload",
    "body",
    "validated_data",
}
LOOKUPS = {"get", "filter", "exclude", "get_or_create", "update_or_create", "in_bulk"}
WRAPPERS = {"restrict", "resolve", "resolve_many", "_locked"}
NOT_INPUT_PARAMS = {"self", "actor", "user", "cls"}

# (module path, function, model or "*") → why a direct lookup by a value is right there.
# The system's own jobs act on ids the system queued (no user names them); the rest are
# public catalogue data, lookups to refuse, or ids that came out of a restricted query.
_SYSTEM = (
    "a job of the system (Celery task body or scan): acts on ids the system queued itself, no user input reaches it"
)
ALLOWED: dict[tuple[str, str, str], str] = {
    ("entities/onboarding.py", "enterprise_register", "MarketEntity"): (
        "an anonymous registrant (no scope to restrict by): the register is read only to compare its operator's"
        " phone and name with the verified ones, and the answer is the same whatever is found"
    ),
    ("reporting/facts.py", "_groups_python", "*"): "statistics index folded by the system from the event table",
    (
        "reporting/facts.py",
        "_refresh_declarations_python",
        "*",
    ): "statistics index folded by the system from the event table",
    ("reporting/facts.py", "_fold_python", "*"): "statistics index folded by the system from the event table",
    (
        "reporting/facts.py",
        "keep_before_correction",
        "*",
    ): "statistics index kept by the system inside a correction's transaction, for the leads the correction resolved",
    (
        "reporting/facts.py",
        "need_roots",
        "Declaration",
    ): "statistics index folded by the system: the declarations its rows name, and the ones they follow",
    ("reporting/facts.py", "_sync_visits", "*"): "statistics index folded by the system from the visit table",
    ("batch_matching/services.py", "_rewrite_product", "*"): _SYSTEM,
    ("batch_matching/services.py", "chunk_process", "*"): _SYSTEM,
    ("batch_matching/services.py", "_add_incomplete", "RunProduct"): _SYSTEM
    + " (a chunk adds the 信息不全 pairs it counted to its own run's products)",
    ("batch_matching/services.py", "_entities_by_province", "MarketEntity"): _SYSTEM
    + " (the incremental re-match places the changed entities it was handed in their provinces)",
    ("batch_matching/services.py", "dispatch_chunks", "*"): _SYSTEM,
    ("batch_matching/services.py", "run_finalize", "*"): _SYSTEM,
    (
        "batch_matching/services.py",
        "run_resume",
        "*",
    ): "the page resolves the run through restrict() (selectors.run_get); the command and the sweep act as the system",
    ("matching/tasks.py", "send_notification_email", "*"): _SYSTEM,
    ("matching/watch.py", "watch_recommendation", "*"): _SYSTEM
    + " (the post-loan watch: the entity-change hook and the daily scan compare approved leads)",
    ("matching/watch.py", "_valid_honors", "Honor"): _SYSTEM + " (the post-loan watch records an approval's basis)",
    ("matching/watch.py", "bank_reads", "LoanProduct"): "the lending bank's active products: public catalogue",
    (
        "entities/services.py",
        "_province_regulators",
        "Membership",
    ): "the provincial regulators to notify of a 名特优新 proposal, by the province of an entity resolved for CHANGE",
    (
        "entities/services.py",
        "honor_propose",
        "HonorProposal",
    ): "refuses a second pending proposal for the entity just resolved for CHANGE",
    (
        "matching/clocks.py",
        "_insert_notifications",
        "Notification",
    ): "the deadline scan finds the notifications it just inserted by their dedupe keys",
    ("reporting/services.py", "scheduled_report_build", "*"): _SYSTEM + " (weekly reports)",
    ("reporting/services.py", "scheduled_report_mail", "*"): _SYSTEM + " (weekly reports)",
    ("reporting/services.py", "scheduled_brief_build", "*"): _SYSTEM + " (the weekly 工作简报)",
    (
        "reporting/services.py",
        "brief_recipients",
        "BriefSubscription",
    ): "the weekly job's subscribers of a mechanism's 工作简报 (a system job without an actor)",
    (
        "entities/services.py",
        "entity_import_run",
        "EntityImport",
    ): "the worker runs an import that entity_import_submit resolved and recorded for its actor",
    (
        "entities/services.py",
        "tier_policy_recompute",
        "MarketEntity",
    ): "the system recomputes a province after a platform administrator changed its policy",
    (
        "entities/register_import.py",
        "_existing",
        "MarketEntity",
    ): "finds codes registered outside the importer's region only to refuse those rows; nothing of them is read or "
    "written",
    (
        "entities/services.py",
        "_validate",
        "MarketEntity",
    ): "a USCC is unique nationwide: a new or changed code is refused if any entity holds it",
    (
        "batch_matching/restrictions.py",
        "branch_scope_of",
        "*",
    ): "the restriction's own helper: the branch of the actor's membership (or one a platform administrator chose)",
    (
        "batch_matching/selectors.py",
        "lead_scope",
        "LoanProduct",
    ): "the products of the branch scope just resolved for the actor",
    (
        "batch_matching/selectors.py",
        "_versions",
        "LoanProductVersion",
    ): "published versions named by match rows that came out of a restricted query (cache fill)",
    (
        "products/selectors.py",
        "version_definitions",
        "LoanProductVersion",
    ): "published product versions, public catalogue (cache fill)",
    (
        "batch_matching/selectors.py",
        "_lead_rows",
        "MarketEntity",
    ): "entities of match rows that came out of the restricted 潜在客户 query",
    (
        "batch_matching/selectors.py",
        "near_misses",
        "MarketEntity",
    ): "entities of match rows that came out of the restricted near-miss query",
    (
        "entities/services.py",
        "bank_relationship_record",
        "MarketEntity",
    ): "only the system (actor=None: demo data) names the entity directly; a signed-in actor's is resolved for VIEW",
    (
        "entities/services.py",
        "bank_relationship_record",
        "BankRelationship",
    ): "the row of the actor's own bank (bank_id from the actor's scope) for an entity just resolved for the actor",
    (
        "products/eligibility.py",
        "_bank_relationships",
        "Bank",
    ): "the public codes of the banks of relationship rows already read with the entity",
    (
        "matching/services/common.py",
        "_banks_from_codes",
        "Bank",
    ): "banks are chosen by their public code from the catalogue",
    (
        "matching/services/batches.py",
        "recommendation_redirect",
        "Bank",
    ): "the new bank is chosen by its public code from the catalogue",
    (
        "products/selectors.py",
        "_routes",
        "*",
    ): "the routing of a county (branch_for, banks_serving) of a declaration or entity already resolved",
    (
        "products/selectors.py",
        "_serving_branches",
        "*",
    ): "the routing of a county (branch_for, banks_serving) of a declaration or entity already resolved",
    (
        "products/selectors.py",
        "banks_serving",
        "*",
    ): "the banks routing a county's leads: public catalogue data by a county code",
    (
        "products/services.py",
        "_org",
        "Organisation",
    ): "the seed catalogue loader (actor=None): fixed codes of the shipped catalogue",
    (
        "products/services.py",
        "_bank_upsert",
        "Bank",
    ): "the seed catalogue loader (actor=None): fixed codes of the shipped catalogue",
    (
        "products/services.py",
        "catalog_load",
        "LoanProduct",
    ): "the seed catalogue loader (actor=None): fixed codes of the shipped catalogue",
    (
        "reporting/selectors.py",
        "branch_names",
        "BankBranch",
    ): "names of branches that are keys of figures computed through the restriction",
    (
        "campaigns/home.py",
        "widgets",
        "Target",
    ): "the targets of the visitor's own assignments (selectors.my_assignments, restricted), counted for his home page",
    (
        "reporting/services.py",
        "target_set",
        "Target",
    ): "platform administrators only (checked first); targets are the platform's own",
}


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    function: str
    model: str
    source: str

    def key(self) -> tuple[str, str, str]:
        return (self.path, self.function, self.model)

    def __str__(self) -> str:
        return f"{self.path}:{self.line} {self.function}(): {self.model}.objects… by input — {self.source}"


def _is_acting_user(node: ast.AST) -> bool:
    """`request.user` / `self.request.user`: who acts, not what the input names."""
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "user"
        and (
            (isinstance(node.value, ast.Name) and node.value.id == "request")
            or (isinstance(node.value, ast.Attribute) and node.value.attr == "request")
        )
    )


def _walk(node: ast.AST):
    if _is_acting_user(node):
        return
    yield node
    for child in ast.iter_child_nodes(node):
        yield from _walk(child)


def _names(node: ast.AST) -> set[str]:
    nodes = list(_walk(node))
    return {n.id for n in nodes if isinstance(n, ast.Name)} | {n.attr for n in nodes if isinstance(n, ast.Attribute)}


def _object_or_value(annotation: ast.AST) -> bool:
    """`MarketEntity | int`: a parameter that takes an object or the value naming it."""
    members: list[ast.AST] = []

    def split(node: ast.AST) -> None:
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            split(node.left)
            split(node.right)
        else:
            members.append(node)

    split(annotation)
    names = {m.id for m in members if isinstance(m, ast.Name)}
    return (
        len(members) > 1
        and bool(names & {"int", "str"})
        and any(n[:1].isupper() and n not in {"Any", "None"} for n in names)
    )


def _call_name(call: ast.Call) -> str | None:
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def _trusted_call(call: ast.Call, resolvers: set[str] = frozenset()) -> bool:
    """A service acting for an actor, the restriction itself or a helper that returns only what
    the restriction resolved: what it returns was resolved."""
    return _call_name(call) in WRAPPERS | resolvers or any(k.arg == "actor" for k in call.keywords)


def resolver_helpers(trees: list[ast.AST]) -> set[str]:
    """Functions each of whose `return` values goes through restrict()/resolve() (for example a
    service's `_entity_for_declaring(actor, entity_id)`): their results count as resolved."""
    names = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):

                def resolved(value: ast.AST) -> bool:
                    return any(isinstance(n, ast.Call) and _call_name(n) in WRAPPERS for n in ast.walk(value))

                assigned = {
                    t.id
                    for a in ast.walk(node)
                    if isinstance(a, ast.Assign) and resolved(a.value)
                    for t in a.targets
                    if isinstance(t, ast.Name)
                }
                returns = [r for r in ast.walk(node) if isinstance(r, ast.Return) and r.value is not None]
                if returns and all(
                    resolved(r.value) or (isinstance(r.value, ast.Name) and r.value.id in assigned) for r in returns
                ):
                    names.add(node.name)
    return names


def _targets(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


class _Function(ast.NodeVisitor):
    def __init__(
        self,
        path: str,
        func: ast.FunctionDef | ast.AsyncFunctionDef,
        scoped: set[str],
        findings: list[Finding],
        lines: list[str],
        resolvers: set[str],
    ):
        self.path, self.func, self.scoped, self.findings, self.lines = path, func, scoped, findings, lines
        self.resolvers = resolvers
        args = func.args
        params = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
        self.tainted = {p for p in params if p not in NOT_INPUT_PARAMS and INPUT_PARAM.search(p)}
        # a parameter that may be a plain number or string names an object by value
        annotated = {
            a.arg: a.annotation for a in args.posonlyargs + args.args + args.kwonlyargs if a.annotation is not None
        }
        self.tainted |= {p for p, note in annotated.items() if p not in NOT_INPUT_PARAMS and _object_or_value(note)}
        self.tainted |= {p for p in params if p in INPUT_SOURCES}
        self.parents: dict[ast.AST, ast.AST] = {}
        for node in ast.walk(func):
            for child in ast.iter_child_nodes(node):
                self.parents[child] = node

    def _is_tainted(self, node: ast.AST) -> bool:
        # what a service acting for the actor, or the restriction itself, returned was resolved
        if isinstance(node, ast.Call) and _trusted_call(node, self.resolvers):
            return False
        if any(isinstance(n, ast.Call) and _call_name(n) in WRAPPERS | self.resolvers for n in ast.walk(node)):
            return False
        nodes = list(_walk(node))
        variables = {n.id for n in nodes if isinstance(n, ast.Name)}
        attributes = {n.attr for n in nodes if isinstance(n, ast.Attribute)}
        return bool(variables & self.tainted or (variables | attributes) & INPUT_SOURCES)

    def run(self) -> None:
        # taint flows through assignments and loops, in source order (two passes for loops)
        body = sorted(
            (
                n
                for n in ast.walk(self.func)
                if isinstance(n, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.For, ast.comprehension, ast.NamedExpr))
            ),
            key=lambda n: (getattr(n, "lineno", 0), getattr(n, "col_offset", 0)),
        )
        for _ in range(2):
            for node in body:
                if isinstance(node, ast.Assign) and self._is_tainted(node.value):
                    for target in node.targets:
                        self.tainted |= _targets(target)
                elif (
                    isinstance(node, (ast.AnnAssign, ast.AugAssign, ast.NamedExpr))
                    and node.value is not None
                    and self._is_tainted(node.value)
                ):
                    self.tainted |= _targets(node.target)
                elif isinstance(node, (ast.For, ast.comprehension)) and self._is_tainted(node.iter):
                    self.tainted |= _targets(node.target)
        for node in ast.walk(self.func):
            if isinstance(node, ast.Call):
                self._check(node)

    def _wrapped(self, node: ast.AST) -> bool:
        current = node
        while current in self.parents:
            current = self.parents[current]
            if isinstance(current, ast.Call):
                func = current.func
                name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
                if name in WRAPPERS:
                    return True
            if current is self.func:
                return False
        return False

    def _check(self, call: ast.Call) -> None:
        func = call.func
        model = None
        if isinstance(func, ast.Name) and func.id in ("get_object_or_404", "get_list_or_404") and call.args:
            first = call.args[0]
            model = first.id if isinstance(first, ast.Name) else None
            arguments = call.args[1:] + [k.value for k in call.keywords]
        elif isinstance(func, ast.Attribute) and func.attr in LOOKUPS:
            # Model.objects.<lookup>(...) possibly after other queryset methods, or on what a
            # helper made of such a queryset (`with_rows(Model.objects.all()).filter(pk=…)`:
            # a helper handed a queryset returns one of the same rows), unless the helper is
            # the restriction or returns only what it resolved
            base = func.value
            while isinstance(base, ast.Call):
                if isinstance(base.func, ast.Attribute):
                    base = base.func.value
                elif (
                    isinstance(base.func, ast.Name)
                    and base.func.id not in WRAPPERS | self.resolvers
                    and base.args
                    and not any(k.arg == "actor" for k in base.keywords)
                ):
                    base = base.args[0]
                else:
                    break
            if (
                isinstance(base, ast.Attribute)
                and base.attr in ("objects", "_default_manager")
                and isinstance(base.value, ast.Name)
            ):
                model = base.value.id
            # the values a row is created or updated with are not lookups
            arguments = list(call.args) + [k.value for k in call.keywords if k.arg != "defaults"]
        if model is None or model not in self.scoped:
            return
        if not any(self._is_tainted(a) for a in arguments):
            return
        if self._wrapped(call):
            return
        source = self.lines[call.lineno - 1].strip()
        self.findings.append(Finding(self.path, call.lineno, self.func.name, model, source[:140]))


def scan(scoped_models: set[str], paths: list[Path] | None = None) -> list[Finding]:
    """Every unrestricted lookup by input in the portal's code (tests, migrations, demo
    loaders and benchmarks are not request paths)."""
    findings: list[Finding] = []
    if paths is None:
        paths = []
        for app in project_packages():
            for path in sorted((ROOT / app).rglob("*.py")):
                parts = set(path.relative_to(ROOT).parts)
                if parts & {"tests", "migrations"} or path.name in (
                    "demo.py",
                    "factories.py",
                    "synthetic.py",
                    "seed.py",
                ):
                    continue
                paths.append(path)
    sources = {path: path.read_text(encoding="utf-8") for path in paths}
    trees = {path: ast.parse(text) for path, text in sources.items()}
    resolvers = resolver_helpers(list(trees.values()))
    for path, tree in trees.items():
        rel = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
        lines = sources[path].splitlines()
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                _Function(rel, node, scoped_models, findings, lines, resolvers).run()
    # nested functions are visited twice (as themselves and inside their parent)
    unique = {(f.path, f.line, f.model): f for f in findings}
    return sorted(unique.values(), key=lambda f: (f.path, f.line))


def tenant_scoped_models() -> set[str]:
    """Class names of the models whose restriction is not public reference data."""
    names = set()
    for model in apps.get_models():
        if has_restriction(model) and _lookup(model) is not public:
            names.add(model.__name__)
    return names


def unexplained(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.key() not in ALLOWED and (f.path, f.function, "*") not in ALLOWED]


def stale(findings: list[Finding]) -> list[tuple[str, str, str]]:
    """Allowed exceptions that no longer occur (the code changed: remove them)."""
    keys = {f.key() for f in findings} | {(f.path, f.function, "*") for f in findings}
    return [k for k in ALLOWED if k not in keys]
