"""The benchmarks build their worlds from the portal's own modules (demo loaders, synthetic
data, services), never from its test code: a test helper may change with the tests, and a
benchmark run must not need the test dependencies' fixtures (issue 14)."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# test-only modules beside the apps: factory_boy factories, pytest's conftest
TEST_ONLY_MODULES = {"factories", "conftest"}


def imported_names(path: Path) -> set[str]:
    """Every dotted name a file imports: modules, and ``module.name`` for ``from … import``."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def is_test_code(name: str) -> bool:
    parts = name.split(".")
    return any(part == "tests" or part.startswith("test_") or part in TEST_ONLY_MODULES for part in parts)


def test_no_benchmark_imports_test_code():
    # given every module of bench/ (the benchmarks and their shared helpers)
    modules = sorted((ROOT / "bench").glob("*.py"))
    assert len(modules) >= 8 and any(m.name == "bench_deadlines.py" for m in modules)

    # when their imports are read
    offending = {m.name: sorted(n for n in imported_names(m) if is_test_code(n)) for m in modules}

    # then none of them names a tests package, a test module, a factory module or a conftest
    assert {name: found for name, found in offending.items() if found} == {}


def test_the_check_recognises_test_code():
    # given the imports the benchmarks used to make, and proper ones
    # then the former are test code and the latter are not
    assert is_test_code("matching.tests.workflow_world") and is_test_code("portal.factories")
    assert is_test_code("tests.faults.worker")
    assert not is_test_code("portal.demo") and not is_test_code("entities.synthetic") and not is_test_code("benchlib")
