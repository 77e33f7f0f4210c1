"""The layout of the tests (issue 14), read from the source with `ast`:

- builders live in one place: plain builders in each app's `factories.py` (importable by tests
  and benchmarks alike), fixtures in `conftest.py` files, which pytest loads itself. So no
  module under a `tests/` directory imports another one (a conftest included), no benchmark
  imports test code, and no production module does;
- a fixture a conftest.py provides is not defined again by a test module it serves (the same
  name would mean two things); a variant is a fixture with its own name;
- no test asserts on elapsed wall-clock time: on a loaded machine such an assert fails for
  no fault of the code. Tests assert counted work (queries, rows written, runs started,
  retries); the benchmarks measure time.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIPPED_DIRS = {".git", ".venv", "node_modules", "staticfiles", "var", "test-artifacts", "__pycache__"}
CLOCKS = {"time", "time_ns", "perf_counter", "perf_counter_ns", "monotonic", "monotonic_ns", "process_time"}

# (test module, fixture) → why it defines a fixture a conftest.py above it provides too
ALLOWED_REDEFINITIONS = {
    ("matching/tests/test_policy.py", "world"): "the policy tests' own world adds a province regulator and a platform "
    "administrator (the file is being rewritten with the workflow table)",
}


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    what: str
    name: str = ""  # the fixture, for redefinitions

    def __str__(self) -> str:
        return f"{self.path}:{self.line} {self.what}"


def python_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if not SKIPPED_DIRS & set(p.relative_to(root).parts))


def is_test_file(path: Path, root: Path) -> bool:
    """A module under a `tests/` directory (conftest.py files and helpers included)."""
    return "tests" in path.relative_to(root).parts[:-1]


def module_of(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(tree: ast.AST, path: Path, root: Path) -> list[tuple[int, str]]:
    """(line, module) for every import, relative ones resolved; `from a import b` gives both
    `a` and `a.b` (b may be a module)."""
    module = module_of(path, root)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)] if package else []
                base = ".".join([*anchor, *([base] if base else [])])
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}" if base else alias.name) for alias in node.names]
    return found


def is_test_code(module: str, root: Path) -> bool:
    """A module of this project inside a `tests` package."""
    parts = module.split(".")
    return (root / parts[0]).is_dir() and "tests" in parts


def imports_of_test_code(root: Path, importers) -> list[Finding]:
    """Imports of test code by the files `importers(path)` selects."""
    findings = []
    for path in python_files(root):
        if not importers(path):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        own = module_of(path, root)
        reported = set()
        for line, module in imports_of(tree, path, root):
            if line not in reported and module != own and is_test_code(module, root):
                reported.add(line)
                findings.append(Finding(str(path.relative_to(root)), line, f"imports {module}"))
    return findings


def _fixture_names(tree: ast.Module) -> dict[str, int]:
    names = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for decorator in node.decorator_list:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                if (isinstance(target, ast.Attribute) and target.attr == "fixture") or (
                    isinstance(target, ast.Name) and target.id == "fixture"
                ):
                    names[node.name] = node.lineno
    return names


def redefined_fixtures(root: Path) -> list[Finding]:
    """Fixtures of a test module that a conftest.py of its directory or above provides too."""
    provided: dict[Path, dict[str, int]] = {}
    for path in python_files(root):
        if path.name == "conftest.py":
            provided[path.parent] = _fixture_names(ast.parse(path.read_text(encoding="utf-8")))
    findings = []
    for path in python_files(root):
        if not is_test_file(path, root) or not path.name.startswith("test_"):
            continue
        rel = path.relative_to(root)
        above = [d for d in provided if d == root or d in path.parents]
        for name, line in _fixture_names(ast.parse(path.read_text(encoding="utf-8"))).items():
            conftests = [d for d in above if name in provided[d]]
            if conftests:
                where = " and ".join(str((d / "conftest.py").relative_to(root)) for d in conftests)
                findings.append(Finding(str(rel), line, f"defines fixture {name!r}, which {where} provides", name))
    return findings


def _clock_names(tree: ast.AST) -> set[str]:
    """Clocks imported by name (`from time import perf_counter`)."""
    return {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "time"
        for alias in node.names
        if alias.name in CLOCKS
    }


def _is_clock_call(node: ast.AST, clock_names: set[str]) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    return (
        isinstance(func, ast.Attribute)
        and func.attr in CLOCKS
        and isinstance(func.value, ast.Name)
        and func.value.id == "time"
    ) or (isinstance(func, ast.Name) and func.id in clock_names)


def _scope_nodes(scope: ast.AST):
    """The nodes of a module's or a function's own statements (not those of functions or
    classes defined in it: they are scopes of their own)."""
    for child in ast.iter_child_nodes(scope):
        if not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            yield child
            yield from _scope_nodes(child)


def wall_clock_asserts(tree: ast.Module) -> list[int]:
    """Lines of `assert` statements comparing a value read from a clock: a clock call, a name
    assigned from one (`started`, `seconds`), or a call of a function returning one."""
    clock_names = _clock_names(tree)
    functions = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    scopes = [tree, *functions]
    elapsed_functions: set[str] = set()

    def timed(node: ast.AST, names: set[str]) -> bool:
        return any(
            _is_clock_call(n, clock_names)
            or (isinstance(n, ast.Name) and n.id in names)
            or (isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in elapsed_functions)
            for n in ast.walk(node)
        )

    def timed_names(scope: ast.AST) -> set[str]:
        names: set[str] = set()
        while True:
            before = len(names)
            for node in _scope_nodes(scope):
                if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and node.value is not None:
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    if timed(node.value, names):
                        names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
            if len(names) == before:
                return names

    while True:
        before = len(elapsed_functions)
        for function in functions:
            names = timed_names(function)
            if any(
                isinstance(n, ast.Return) and n.value is not None and timed(n.value, names)
                for n in _scope_nodes(function)
            ):
                elapsed_functions.add(function.name)
        if len(elapsed_functions) == before:
            break

    lines = set()
    for scope in scopes:
        names = timed_names(scope)
        for node in _scope_nodes(scope):
            if isinstance(node, ast.Assert):
                compares = [n for n in ast.walk(node.test) if isinstance(n, ast.Compare)]
                if any(timed(operand, names) for c in compares for operand in (c.left, *c.comparators)):
                    lines.add(node.lineno)
    return sorted(lines)


def wall_clock_findings(root: Path) -> list[Finding]:
    findings = []
    for path in python_files(root):
        if is_test_file(path, root):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            findings += [
                Finding(str(path.relative_to(root)), line, "asserts on elapsed wall-clock time")
                for line in wall_clock_asserts(tree)
            ]
    return findings


# --- the rules, on this project ---------------------------------------------------------------------


def test_no_test_module_imports_another():
    # given every module under a tests/ directory (conftest.py files and helpers included)
    findings = imports_of_test_code(ROOT, lambda path: is_test_file(path, ROOT))
    # then none imports test code: builders are in factories.py, fixtures come from conftest.py
    assert not findings, "\n".join(map(str, findings))


def test_no_production_module_imports_test_code():
    findings = imports_of_test_code(
        ROOT, lambda path: not is_test_file(path, ROOT) and path.relative_to(ROOT).parts[0] != "bench"
    )
    assert not findings, "\n".join(map(str, findings))


def test_no_benchmark_imports_test_code():
    findings = imports_of_test_code(ROOT, lambda path: path.relative_to(ROOT).parts[0] == "bench")
    assert not findings, "\n".join(map(str, findings))


def test_no_test_module_redefines_a_conftest_fixture():
    findings = redefined_fixtures(ROOT)
    unexplained = [f for f in findings if (f.path, f.name) not in ALLOWED_REDEFINITIONS]
    assert not unexplained, "\n".join(map(str, unexplained))
    stale = set(ALLOWED_REDEFINITIONS) - {(f.path, f.name) for f in findings}
    assert not stale, f"ALLOWED_REDEFINITIONS names redefinitions that no longer exist: {stale}"


def test_no_test_asserts_on_elapsed_wall_clock_time():
    findings = wall_clock_findings(ROOT)
    assert not findings, "\n".join(map(str, findings))


# --- the checks catch what they are for -------------------------------------------------------------


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_the_import_checks_catch_every_spelling_of_an_import_of_test_code(tmp_path):
    # given a project whose tests import each other in every way Python allows, and a benchmark
    # and a factory importing test code
    root = _tree(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/tests/__init__.py": "",
            "app/tests/helpers.py": "X = 1\n",
            "app/tests/conftest.py": "from app.tests.helpers import X\n",
            "app/tests/test_a.py": "from .helpers import X\nfrom . import helpers\n",
            "app/tests/test_b.py": "import app.tests.test_a\nfrom app.tests import helpers\n",
            "app/sub/tests/test_c.py": "from ...tests.helpers import X\n",
            "app/sub/tests/test_d.py": "from ... import models\nimport app.models\n",
            "app/factories.py": "from app.tests.helpers import X\n",
            "bench/bench_x.py": "from app.tests.helpers import X\n",
            "tests/__init__.py": "",
            "tests/lint.py": "",
            "tests/test_e.py": "from tests import lint\n",
        },
    )
    in_tests = imports_of_test_code(root, lambda path: is_test_file(path, root))
    # then each importing test module is reported, and only those
    assert {f.path for f in in_tests} == {
        "app/tests/conftest.py",
        "app/tests/test_a.py",
        "app/tests/test_b.py",
        "app/sub/tests/test_c.py",
        "tests/test_e.py",
    }
    assert [f.path for f in imports_of_test_code(root, lambda path: path.parts[-2] == "bench")] == ["bench/bench_x.py"]
    assert [f.path for f in imports_of_test_code(root, lambda path: path.name == "factories.py")] == [
        "app/factories.py"
    ]


def test_the_fixture_check_catches_a_module_redefining_a_conftest_fixture(tmp_path):
    fixture = "import pytest\n\n\n@pytest.fixture\ndef {}():\n    return 1\n"
    root = _tree(
        tmp_path,
        {
            "conftest.py": fixture.format("world"),
            "app/tests/conftest.py": fixture.format("batch_world"),
            "app/tests/test_a.py": fixture.format("world"),
            "app/tests/test_b.py": fixture.format("batch_world"),
            "other/tests/test_c.py": fixture.format("batch_world")
            + fixture.format("ledger_world").replace("import pytest\n", ""),
        },
    )
    assert [(f.path, f.line) for f in redefined_fixtures(root)] == [
        ("app/tests/test_a.py", 5),
        ("app/tests/test_b.py", 5),
    ]


def test_the_wall_clock_check_catches_elapsed_time_in_asserts_and_only_there(tmp_path):
    # given the ways a test can compare elapsed time, and polling loops that only bound a wait
    timed = """
import time
from time import perf_counter as clock


def wait_until(check, timeout=30):
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        if check():
            return time.monotonic() - began
    raise AssertionError("timed out")


def test_direct():
    started = time.time()
    work()
    assert time.time() - started < 5


def test_through_a_helper():
    seconds = wait_until(lambda: True)
    assert seconds < 10


def test_imported_clock():
    t0 = clock()
    elapsed = clock() - t0
    assert 0 <= elapsed and elapsed < 1
"""
    untimed = """
import time


def wait_until(check, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_counted():
    wait_until(lambda: True)
    seconds = 3
    assert seconds < 10
"""
    assert wall_clock_asserts(ast.parse(timed)) == [17, 22, 28]
    assert wall_clock_asserts(ast.parse(untimed)) == []
