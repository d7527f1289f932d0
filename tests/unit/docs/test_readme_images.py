"""The screenshots README shows are committed PNGs (made by scripts/screenshots.py),
and none lies in docs/images unshown."""

from __future__ import annotations

import re

from tests.support.paths import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text()
SHOWN = set(re.findall(r"docs/images/[\w.-]+\.png", README))


def test_every_picture_the_readme_shows_is_a_committed_png() -> None:
    assert "docs/images/your-profile.png" in SHOWN
    for path in SHOWN:
        assert (REPO_ROOT / path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", path


def test_every_picture_in_docs_images_is_shown() -> None:
    on_disk = {f"docs/images/{p.name}" for p in (REPO_ROOT / "docs" / "images").glob("*.png")}
    assert on_disk == SHOWN
