"""Packaging metadata in the form setuptools keeps accepting (PEP 639)."""

from __future__ import annotations

import tomllib

from tests.support.paths import REPO_ROOT

ROOT = REPO_ROOT


def test_the_license_is_an_spdx_string_with_its_files() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["license"] == "Apache-2.0"  # not the deprecated {text = …}
    files = project["project"]["license-files"]
    assert files and all((ROOT / name).is_file() for name in files)
    assert "Apache License" in (ROOT / "LICENSE").read_text()
    requires = project["build-system"]["requires"]
    assert any(r.replace(" ", "").startswith("setuptools>=77") for r in requires)  # PEP 639
