"""Finds lookups of tenant-scoped models by input values that bypass the tenant restriction.

The write boundary of the portal (portal.tenancy.resolve / restrict) holds only if no
service, API, view, form, import or command looks a tenant-scoped model up by a value the
caller supplied any other way. This checker reads the source (no import of the modules
needed) and follows, inside each function, which names carry input: the parameters that name
objects (`*_id`, `*_ids`, `pk`, `uscc`, `code`, `codes`, …), anything read from a request, a
form's cleaned data, query parameters or a file row, and every name assigned or looped from
those. A call `Model.objects.<lookup>(...)` (or `get_object_or_404(Model, ...)`) whose
arguments use such a name, on a model with a registered restriction that is not public, is a
finding, unless the queryset is handed to restrict()/resolve()/resolve_many() in the same
expression. `ALLOWED` lists the deliberate exceptions, each with its reason.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("portal", "entities", "products", "matching", "reporting")
INPUT_PARAM = re.compile(r"(^|_)(ids?|pks?|uscc|usccs|codes?|region_code|branch|product|bank|county)$")
INPUT_SOURCES = {"request", "params", "data", "cleaned_data", "query_params", "GET", "POST", "FILES", "row", "rows", "payload", "body", "validated_data"}
LOOKUPS = {"get", "filter", "exclude", "get_or_create", "update_or_create", "in_bulk", "select_for_update", "update", "delete"}
WRAPPERS = {"restrict", "resolve", "resolve_many", "_locked"}
NOT_INPUT_PARAMS = {"self", "actor", "user", "cls"}

# (module path, function, model) → why a direct lookup by an input value is right there
ALLOWED: dict[tuple[str, str, str], str] = {}


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
    return isinstance(node, ast.Attribute) and node.attr == "user" and (
        (isinstance(node.value, ast.Name) and node.value.id == "request")
        or (isinstance(node.value, ast.Attribute) and node.value.attr == "request"))


def _walk(node: ast.AST):
    if _is_acting_user(node):
        return
    yield node
    for child in ast.iter_child_nodes(node):
        yield from _walk(child)


def _names(node: ast.AST) -> set[str]:
    nodes = list(_walk(node))
    return {n.id for n in nodes if isinstance(n, ast.Name)} | {n.attr for n in nodes if isinstance(n, ast.Attribute)}


def _call_name(call: ast.Call) -> str | None:
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def _trusted_call(call: ast.Call) -> bool:
    """A service acting for an actor, or the restriction itself: what it returns was resolved."""
    return _call_name(call) in WRAPPERS or any(k.arg == "actor" for k in call.keywords)


def _targets(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


class _Function(ast.NodeVisitor):
    def __init__(self, path: str, func: ast.FunctionDef | ast.AsyncFunctionDef, scoped: set[str], findings: list[Finding], lines: list[str]):
        self.path, self.func, self.scoped, self.findings, self.lines = path, func, scoped, findings, lines
        args = func.args
        params = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
        self.tainted = {p for p in params if p not in NOT_INPUT_PARAMS and INPUT_PARAM.search(p)}
        self.tainted |= {p for p in params if p in INPUT_SOURCES}
        self.parents: dict[ast.AST, ast.AST] = {}
        for node in ast.walk(func):
            for child in ast.iter_child_nodes(node):
                self.parents[child] = node

    def _is_tainted(self, node: ast.AST) -> bool:
        # what a service acting for the actor, or the restriction itself, returned was resolved
        if isinstance(node, ast.Call) and _trusted_call(node):
            return False
        if any(isinstance(n, ast.Call) and _trusted_call(n) and _call_name(n) in WRAPPERS for n in ast.walk(node)):
            return False
        names = _names(node)
        return bool(names & self.tainted or names & INPUT_SOURCES)

    def run(self) -> None:
        # taint flows through assignments and loops, in source order (two passes for loops)
        body = sorted((n for n in ast.walk(self.func) if isinstance(n, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.For, ast.comprehension, ast.NamedExpr))),
                      key=lambda n: (getattr(n, "lineno", 0), getattr(n, "col_offset", 0)))
        for _ in range(2):
            for node in body:
                if isinstance(node, ast.Assign) and self._is_tainted(node.value):
                    for target in node.targets:
                        self.tainted |= _targets(target)
                elif isinstance(node, (ast.AnnAssign, ast.AugAssign, ast.NamedExpr)) and node.value is not None and self._is_tainted(node.value):
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
            # Model.objects.<lookup>(...) possibly after other queryset methods
            base = func.value
            while isinstance(base, ast.Call) and isinstance(base.func, ast.Attribute):
                base = base.func.value
            if isinstance(base, ast.Attribute) and base.attr in ("objects", "_default_manager") and isinstance(base.value, ast.Name):
                model = base.value.id
            arguments = list(call.args) + [k.value for k in call.keywords]
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
        for app in APPS:
            for path in sorted((ROOT / app).rglob("*.py")):
                parts = set(path.relative_to(ROOT).parts)
                if parts & {"tests", "migrations"} or path.name in ("demo.py", "factories.py", "synthetic.py", "seed.py"):
                    continue
                paths.append(path)
    for path in paths:
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text)
        rel = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
        lines = text.splitlines()
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                _Function(rel, node, scoped_models, findings, lines).run()
    # nested functions are visited twice (as themselves and inside their parent)
    unique = {(f.path, f.line, f.model): f for f in findings}
    return sorted(unique.values(), key=lambda f: (f.path, f.line))


def tenant_scoped_models() -> set[str]:
    """Class names of the models whose restriction is not public reference data."""
    from django.apps import apps

    from portal.tenancy import _lookup, has_restriction, public

    names = set()
    for model in apps.get_models():
        if has_restriction(model) and _lookup(model) is not public:
            names.add(model.__name__)
    return names
