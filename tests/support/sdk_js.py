"""The official ``cronofy`` npm SDK, driven from pytest through ``tests/sdk_js/run.js``.

``cronofy_js`` (session fixture) installs the pinned package once with ``npm ci`` (from
``tests/sdk_js/package-lock.json``; skipped when ``node_modules`` already matches it) and
returns a runner: ``cronofy_js(base_url, [call, ...])`` sends the calls to the script,
one after another, and returns ``{name: result}`` (see run.js for both shapes). Build
calls with :func:`js_call`.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.paths import REPO_ROOT

PACKAGE = REPO_ROOT / "tests" / "sdk_js"
#: Written by npm ci into node_modules: what it installed from the lock file.
_INSTALLED_LOCK = PACKAGE / "node_modules" / ".package-lock.json"

JsRunner = Callable[[str, list[dict[str, Any]]], dict[str, Any]]


def js_call(
    name: str,
    method: str,
    *,
    config: dict[str, Any] | None = None,
    options: dict[str, Any] | None = None,
    pages: bool = False,
) -> dict[str, Any]:
    """One SDK call: ``new Cronofy(config).<method>(options)`` (``pages``: follow
    ``next_page`` to the end, the result is then the list of page responses)."""
    return {
        "name": name,
        "method": method,
        "config": config or {},
        "options": options or {},
        "pages": pages,
    }


def ensure_installed() -> None:
    """``npm ci`` the pinned SDK unless node_modules is already what the lock file says."""
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        pytest.fail("node and npm are needed for the cronofy npm SDK suite (Debian: nodejs npm)")
    with open(PACKAGE / ".npm-ci.lock", "w") as guard:  # one install at a time (xdist)
        fcntl.flock(guard, fcntl.LOCK_EX)
        if _INSTALLED_LOCK.exists() and _installed_matches_lock():
            return
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=PACKAGE,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if result.returncode != 0:
            pytest.fail(f"npm ci in {PACKAGE} failed:\n{result.stdout}\n{result.stderr}")


def _installed_matches_lock() -> bool:
    wanted = json.loads((PACKAGE / "package-lock.json").read_text())["packages"]
    installed = json.loads(_INSTALLED_LOCK.read_text())["packages"]
    return all(
        installed.get(path, {}).get("version") == entry.get("version")
        for path, entry in wanted.items()
        if path
    )


def run_calls(base_url: str, calls: list[dict[str, Any]]) -> dict[str, Any]:
    result = subprocess.run(
        ["node", str(PACKAGE / "run.js")],
        input=json.dumps({"base_url": base_url, "calls": calls}),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"run.js failed:\n{result.stderr}")
    answer: dict[str, Any] = json.loads(result.stdout)
    return answer


@pytest.fixture(scope="session")
def cronofy_js() -> JsRunner:
    ensure_installed()
    return run_calls
