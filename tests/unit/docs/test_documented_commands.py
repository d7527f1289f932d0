"""What README and the operations guide tell a newcomer to type exists, and the places
they name are the ones the code uses."""

from __future__ import annotations

import re
import shlex
from typing import Any

import pytest
import typer

from syncd import cli
from syncd.config import SYSTEM_CONFIG, SYSTEM_DATABASE, setting_names
from tests.support.paths import REPO_ROOT

ROOT = REPO_ROOT
README = (ROOT / "README.md").read_text()
OPERATIONS = (ROOT / "docs" / "operations.md").read_text()
API = (ROOT / "docs" / "api.md").read_text()
UNIT = (ROOT / "config" / "syncd.service").read_text()


def shell_lines(markdown: str) -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", markdown, flags=re.DOTALL)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


def syncd_invocations(markdown: str) -> list[list[str]]:
    found = []
    for line in shell_lines(markdown):
        line = line.split("  #")[0].replace("$(", " ").replace(")", " ")
        words = shlex.split(line, comments=True)
        for index, word in enumerate(words):
            previous = words[index - 1] if index else "&&"
            starts = previous in {"&&", "||", ";", "|", "syncd"} or previous.endswith("=")
            if word.endswith("bin/syncd") or (word == "syncd" and starts):
                rest = words[index + 1 :]
                ends = [i for i, w in enumerate(rest) if w in {"&&", "||", ";", "|", ">"}]
                found.append(rest[: ends[0]] if ends else rest)
    return found


def resolve(words: list[str]) -> tuple[Any, list[str]]:
    """The click command the words name, and the options given to it."""
    command: Any = typer.main.get_command(cli.app)
    options: list[str] = []
    rest = list(words)
    while rest:
        word = rest.pop(0)
        if word.startswith("-"):
            options.append(word.split("=")[0])
            if word in ("--config", "-c") and rest:
                rest.pop(0)
            continue
        if hasattr(command, "commands") and word in command.commands:
            command = command.commands[word]
            options = []
        elif hasattr(command, "commands"):
            raise AssertionError(f"no command {word!r} in {' '.join(words)!r}")
    return command, options


INVOCATIONS = syncd_invocations(README) + syncd_invocations(OPERATIONS)


@pytest.mark.parametrize("words", INVOCATIONS, ids=lambda w: " ".join(w)[:60])
def test_every_documented_command_and_option_exists(words: list[str]) -> None:
    command, options = resolve(words)
    known = {opt for param in command.params for opt in param.opts + param.secondary_opts}
    assert set(options) <= known | {"--help"}, (words, sorted(known))


def test_the_newcomer_path_starts_with_init_and_needs_no_export() -> None:
    real = README[README.index("## Running it for real") :]
    commands = [" ".join(w[:2]) for w in syncd_invocations(real)]
    assert commands[0] == "init"
    assert "export" not in "\n".join(shell_lines(real))
    assert "run --port" in commands
    assert "accounts token" in commands


def test_documented_places_are_the_code_s() -> None:
    assert "~/.config/syncd/syncd.toml" in README and "~/.local/share/syncd/syncd.db" in README
    assert str(SYSTEM_CONFIG) in README and str(SYSTEM_DATABASE) in README
    assert f"--config {SYSTEM_CONFIG} run" in UNIT  # the unit reads the init-written file
    assert f"--config {SYSTEM_CONFIG} init" in OPERATIONS
    assert "SYNCD_SECRET_KEYS=$(" not in README  # no key to lose with the shell
    assert "syncd.env" not in OPERATIONS[: OPERATIONS.index("### Containers")].split("```")[1]


def test_documented_oauth_variables_are_settings() -> None:
    variables = set(re.findall(r"SYNCD_[A-Z_]+__[A-Z_]+", README + OPERATIONS))
    known = {"SYNCD_" + name.replace(".", "__").upper() for name in setting_names()}
    assert {"SYNCD_GOOGLE__CLIENT_ID", "SYNCD_MICROSOFT__CLIENT_SECRET"} <= variables
    assert variables <= known


def test_probe_docs_and_the_sqlite_restore_exist() -> None:
    for heading in ("## GET /healthz", "## GET /readyz", "## GET /metrics"):
        assert heading in API
    healthz = API[API.index("## GET /healthz") : API.index("## GET /readyz")]
    assert "database answers" not in healthz  # liveness touches no database
    assert "newer revision" in API[API.index("## GET /readyz") :]
    assert "only if its code is newer" not in OPERATIONS
    restore = OPERATIONS[OPERATIONS.index("- SQLite:") : OPERATIONS.index("## 6.")]
    assert "Restore:" in restore and "integrity_check" in restore
