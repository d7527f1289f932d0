"""A write is committed before its answer is sent: every route takes ``write_session``
with ``scope="function"`` (FastAPI's default would commit after the 202 went out, so a
read right after it could miss the write and a failed commit would look like success).
The pycronofy suite reads back right after its writes too."""

from __future__ import annotations

import re

from tests.support.paths import REPO_ROOT

_TAKEN = re.compile(r"Depends\(\s*write_session\s*(?P<rest>[,)])")


def test_every_route_commits_before_answering() -> None:
    unscoped = []
    for path in sorted((REPO_ROOT / "syncd").rglob("*.py")):
        text = path.read_text()
        for match in _TAKEN.finditer(text):
            tail = text[match.end() : match.end() + 40]
            if match["rest"] == ")" or 'scope="function"' not in tail:
                unscoped.append(
                    f"{path.relative_to(REPO_ROOT)}:{text[: match.start()].count(chr(10)) + 1}"
                )
    assert unscoped == []
