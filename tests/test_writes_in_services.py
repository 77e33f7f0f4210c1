"""Reads through selectors, writes through services: no page, API, admin, form, selector or
template helper of the portal writes to the database itself. A write there — a model's
save() or delete(), a manager's create / get_or_create / update_or_create / bulk_*, a
queryset's update() or delete(), an audit record — is a finding; each deliberate exception is
listed with its reason. (Handing out a file is audited by its export service, or for the
simple downloads by portal.spreadsheets.deliver, the one writer of files.) The check reads
the source (no import needed), like the spreadsheet writer's census in test_export_injection;
that a GET writes nothing at run time is reporting/tests/test_reads_write_nothing.py."""

from __future__ import annotations

import ast
from pathlib import Path

from portal.source import project_packages

ROOT = Path(__file__).resolve().parent.parent
APPS = project_packages()  # every package of the project (portal.source)
# modules (or packages) that only read and hand over to services
READ_SIDE = {
    "views",
    "apis",
    "api",
    "admin",
    "forms",
    "selectors",
    "home",
    "dashboard",
    "context_processors",
    "mixins",
    "navigation",
    "middleware",
    "templatetags",
}
WRITE_METHODS = {
    "save",
    "delete",
    "create",
    "get_or_create",
    "update_or_create",
    "bulk_create",
    "bulk_update",
    "set_password",
    "add",
    "remove",
    "clear",
    "set",
}
WRITE_FUNCTIONS = {"audit_record", "record", "assign_perm", "remove_perm"}
# (module path, function) → why writing there is right
ALLOWED: dict[tuple[str, str], str] = {}


def _read_side_modules():
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")) if (ROOT / app).exists() else ():
            relative = path.relative_to(ROOT).as_posix()
            parts = relative[:-3].split("/")
            if "tests" in parts or "migrations" in parts or "management" in parts:
                continue
            if any(part in READ_SIDE or part.startswith(("views_", "apis_")) for part in parts[1:]):
                yield relative, path


QUERY_HINTS = (".objects", "restrict(", "selectors.", ".filter(", ".exclude(", ".all(")


def _queryish(node: ast.AST, querysets: set[str]) -> bool:
    """`X.objects…`, the result of a call (a selector, filter(), all()), or a name assigned
    from a query: what update() and delete() write through; not a dict, a form's attrs or a
    template context."""
    if isinstance(node, ast.Call):
        return True
    if isinstance(node, ast.Name):
        return node.id in querysets
    return isinstance(node, ast.Attribute) and node.attr == "objects"


def writes(source: str) -> list[tuple[int, str, str]]:
    """(line, enclosing function, what) of each database write in a module."""
    found = []

    class Visitor(ast.NodeVisitor):
        def __init__(self):
            self.function = "<module>"
            self.querysets: set[str] = set()

        def visit_FunctionDef(self, node):
            outer, self.function = (self.function, self.querysets), node.name
            self.querysets = set()
            self.generic_visit(node)
            self.function, self.querysets = outer

        def visit_Assign(self, node):
            value = node.value  # a query, or queries combined; not a literal dict of them
            if isinstance(value, (ast.Call, ast.Attribute, ast.BinOp)) and any(
                hint in ast.unparse(value) for hint in QUERY_HINTS
            ):
                self.querysets |= {t.id for t in node.targets if isinstance(t, ast.Name)}
            self.generic_visit(node)

        visit_AsyncFunctionDef = visit_FunctionDef

        def visit_Call(self, node):
            func = node.func
            if isinstance(func, ast.Attribute):
                name = func.attr
                if name in ("update", "delete") and _queryish(func.value, self.querysets):
                    found.append((node.lineno, self.function, f".{name}() of a queryset"))
                elif name in WRITE_METHODS - {"delete"} and name not in ("add", "remove", "clear", "set", "save"):
                    if isinstance(func.value, ast.Attribute) and func.value.attr == "objects":
                        found.append((node.lineno, self.function, f"objects.{name}()"))
                elif name == "save" and not (isinstance(func.value, ast.Name) and func.value.id == "super"):
                    found.append((node.lineno, self.function, ".save()"))
                elif name == "delete" and not _queryish(func.value, self.querysets):
                    found.append((node.lineno, self.function, ".delete()"))
                elif (
                    name in WRITE_FUNCTIONS
                    and isinstance(func.value, ast.Name)
                    and func.value.id in ("spreadsheets", "services")
                ):
                    found.append((node.lineno, self.function, f"{func.value.id}.{name}()"))
            elif isinstance(func, ast.Name) and func.id in WRITE_FUNCTIONS - {"record"}:
                found.append((node.lineno, self.function, f"{func.id}()"))
            self.generic_visit(node)

    Visitor().visit(ast.parse(source))
    return found


def test_no_page_api_admin_or_selector_writes():
    # given every read-side module of the portal
    findings, modules = [], 0
    for relative, path in _read_side_modules():
        modules += 1
        for line, function, what in writes(path.read_text(encoding="utf-8")):
            if (relative, function) not in ALLOWED:
                findings.append(f"{relative}:{line} {function}(): {what}")
    # then none writes: each calls a service (<noun>_<verb>(*, actor, …)) instead
    assert modules > 20
    assert not findings, "\n".join(findings)


def test_the_check_finds_writes():
    # what the notification page did, what the statistics index did on a GET, what the admin did
    assert writes("def post(self, request):\n    selectors.notification_list(user=u).update(read_at=now)\n")
    assert writes("def figures(user):\n    Fact.objects.update_or_create(pk=1, defaults={})\n")
    assert writes(
        "def save_model(self, request, obj, form, change):\n    obj.save()\n    audit_record(actor=request.user, "
        "action='x')\n"
    )
    assert writes("def get(self, request):\n    Notification.objects.filter(recipient=request.user).delete()\n")
    assert writes(
        "def read_all(self, request):\n    qs = restrict(Notification.objects.all(), request.user)\n    "
        "qs.update(read_at=now)\n"
    )
    # and not what only looks like one
    assert not writes(
        "def get_context_data(self, **kwargs):\n    context.update(a=1)\n    self.widget.attrs.update({})\n"
    )
    assert not writes("def home(request):\n    context = {'a': A.objects.first()}\n    context.update(b=2)\n")
    assert not writes(
        "def save_model(self, request, obj, form, change):\n    super().save_model(request, obj, form, change)\n"
    )
