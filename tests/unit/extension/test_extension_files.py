"""The browser extension's own files: its Node tests (the markup parser and the options
rule, extension/test/) and what its manifest asks of the browser."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

import pytest

from tests.support.paths import REPO_ROOT

EXTENSION = REPO_ROOT / "extension"


def manifest() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EXTENSION / "manifest.json").read_text())
    return loaded


def test_the_extensions_node_tests_pass() -> None:
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI"):
            pytest.fail("node is missing (apt-get install nodejs)")
        pytest.skip("node is missing")
    done = subprocess.run(
        [node, "--test", "extension/test/"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "# fail 0" in done.stdout


def test_the_manifest_is_version_3_with_no_host_granted_up_front() -> None:
    loaded = manifest()
    assert loaded["manifest_version"] == 3
    assert "host_permissions" not in loaded
    assert "content_scripts" not in loaded  # injected into the active tab only, on demand
    assert "<all_urls>" not in loaded["optional_host_permissions"]


def test_the_manifest_asks_only_for_the_permissions_it_uses() -> None:
    assert sorted(manifest()["permissions"]) == [
        "activeTab",
        "clipboardWrite",
        "scripting",
        "storage",
    ]


def test_extension_pages_run_only_the_extensions_own_scripts() -> None:
    policy = manifest()["content_security_policy"]["extension_pages"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'"
    assert "'unsafe-eval'" not in policy and "'unsafe-inline'" not in policy


def test_no_extension_script_evaluates_text_or_writes_html() -> None:
    for script in EXTENSION.glob("*.js"):
        source = script.read_text()
        for risky in ("eval(", "new Function", "innerHTML", "outerHTML", "insertAdjacentHTML"):
            assert risky not in source, f"{script.name} uses {risky}"


def test_every_file_the_manifest_names_exists() -> None:
    loaded = manifest()
    named = [
        loaded["background"]["service_worker"],
        loaded["action"]["default_popup"],
        loaded["options_ui"]["page"],
    ]
    for name in named + ["content.js"]:
        assert (EXTENSION / name).is_file(), name
