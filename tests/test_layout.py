"""The tree's import rules (design §2), read from the source: the golden model imports
nothing of ours, ``rtl``/``sim`` never import ``scsr``, nothing outside ``tests/`` imports
from it, and no script edits ``sys.path`` (benchmarks and tools run as modules:
``python -m benchmarks.NAME``), and no function in the package runs past 80 lines."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

#: Package → the first-party packages it must not import.
FORBIDDEN = {
    "golden_model": {"scsr", "rtl", "sim", "tests", "benchmarks", "tools"},
    "rtl": {"scsr", "sim", "tests", "benchmarks", "tools"},
    "sim": {"scsr", "tests", "benchmarks", "tools"},
    "scsr": {"tests", "benchmarks", "tools"},
    "benchmarks": {"tests"},
    "tools": {"tests"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_run_one_way(package: str) -> None:
    wrong = {str(path.relative_to(ROOT)): sorted(_imports(path) & FORBIDDEN[package])
             for path in sorted((ROOT / package).rglob("*.py"))}
    assert not {k: v for k, v in wrong.items() if v}


def test_no_script_edits_sys_path() -> None:
    edits = [str(path.relative_to(ROOT)) for package in FORBIDDEN
             for path in (ROOT / package).rglob("*.py") if "sys.path." in path.read_text()]
    assert not edits


#: Issue 22's limit: a function a reader can hold.
MAX_FUNCTION_LINES = 80


def test_no_package_function_is_longer_than_the_limit() -> None:
    long = []
    for package in ("golden_model", "rtl", "sim", "scsr"):
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    lines = node.end_lineno - node.lineno + 1
                    if lines > MAX_FUNCTION_LINES:
                        long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} "
                                    f"({lines} lines)")
    assert not long, "split these by concern:\n" + "\n".join(long)
