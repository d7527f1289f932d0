"""scripts/check_architecture.py: each dependency rule of docs/design.md is caught."""

from __future__ import annotations

import importlib.util
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

from tests.support.paths import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "check_architecture.py"


def _load_checker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_architecture", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


checker = _load_checker()


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A minimal project that breaks no rule."""
    files = {
        "syncd/__init__.py": "",
        "syncd/errors.py": "class SyncdError(Exception): ...\n",
        "syncd/availability/__init__.py": "",
        "syncd/availability/query.py": "from syncd.errors import SyncdError\n",
        "syncd/store/__init__.py": "",
        "syncd/store/queries.py": "from sqlalchemy import select\n",
        "syncd/api/__init__.py": "",
        "syncd/api/routes.py": "from syncd.store.queries import select\n",
        "providers/__init__.py": "",
        "providers/base.py": "class CalendarProvider: ...\n",
        "providers/google.py": "from providers.base import CalendarProvider\n",
    }
    for name, text in files.items():
        write(tmp_path, name, text)
    return tmp_path


def write(root: Path, name: str, text: str) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")


def test_the_project_itself_breaks_no_rule() -> None:
    assert checker.check() == []


def test_a_tree_that_follows_the_rules_passes(tree: Path) -> None:
    assert checker.check(tree) == []


def test_an_adapter_importing_syncd_is_reported(tree: Path) -> None:
    write(tree, "providers/google.py", "from syncd.errors import SyncdError\n")
    assert any("adapter module providers.google imports syncd" in p for p in checker.check(tree))


def test_an_adapter_importing_sqlalchemy_is_reported(tree: Path) -> None:
    write(tree, "providers/google.py", "import sqlalchemy\n")
    assert any("imports sqlalchemy" in p for p in checker.check(tree))


def test_the_core_importing_a_concrete_adapter_is_reported(tree: Path) -> None:
    write(tree, "syncd/store/queries.py", "from providers.google import CalendarProvider\n")
    assert any("concrete adapter providers.google" in p for p in checker.check(tree))


def test_the_core_importing_the_adapter_contract_passes(tree: Path) -> None:
    write(tree, "syncd/store/queries.py", "from providers.base import CalendarProvider\n")
    assert checker.check(tree) == []


def test_the_availability_engine_importing_the_store_is_reported(tree: Path) -> None:
    write(tree, "syncd/availability/query.py", "from syncd.store import queries\n")
    assert any("(no I/O) imports syncd.store" in p for p in checker.check(tree))


def test_a_cycle_through_a_type_checking_import_is_reported(tree: Path) -> None:
    write(
        tree,
        "syncd/store/other.py",
        """
        from typing import TYPE_CHECKING
        if TYPE_CHECKING:
            from syncd.store.queries import select
        """,
    )
    write(tree, "syncd/store/queries.py", "from syncd.store import other\n")
    problems = checker.check(tree)
    assert "import cycle between modules: syncd.store.other <-> syncd.store.queries" in problems


def test_a_cycle_hidden_inside_a_function_is_reported(tree: Path) -> None:
    write(tree, "syncd/store/other.py", "def f():\n    from syncd.store import queries\n")
    write(tree, "syncd/store/queries.py", "from syncd.store.other import f\n")
    assert any("import cycle between modules" in p for p in checker.check(tree))


def test_two_packages_importing_each_other_are_reported(tree: Path) -> None:
    write(tree, "syncd/store/queries.py", "from syncd.api import routes\n")
    write(tree, "syncd/api/routes.py", "from syncd.store import other\n")
    write(tree, "syncd/store/other.py", "")
    problems = checker.check(tree)
    assert "import cycle between packages: syncd.api <-> syncd.store" in problems


def test_a_select_in_the_api_is_reported(tree: Path) -> None:
    write(tree, "syncd/api/routes.py", "from sqlalchemy import select\nq = select(1)\n")
    assert any("SQL in the api layer: select(" in p for p in checker.check(tree))


def test_a_select_in_a_web_page_is_reported(tree: Path) -> None:
    write(tree, "syncd/web/pages/home.py", "from sqlmodel import select\nq = select(1)\n")
    assert any("SQL in the web layer: select(" in p for p in checker.check(tree))


def test_raw_sql_in_the_api_is_reported(tree: Path) -> None:
    write(tree, "syncd/api/routes.py", 'QUERY = "SELECT id FROM profile"\n')
    assert any("SQL in the api layer" in p for p in checker.check(tree))


def test_a_docstring_mentioning_delete_is_not_sql(tree: Path) -> None:
    write(tree, "syncd/api/routes.py", '"""Delete a managed event; 202."""\n')
    assert checker.check(tree) == []


def test_a_module_longer_than_the_limit_is_reported(tree: Path) -> None:
    write(tree, "syncd/store/queries.py", "x = 1\n" * (checker.MAX_MODULE_LINES + 1))
    assert any("syncd/store/queries.py: 601 lines" in p for p in checker.check(tree))
