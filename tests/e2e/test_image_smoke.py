"""The container image, built and run for real by ``scripts/image-smoke``.

The run itself (podman, debootstrap, a build that reaches PyPI: minutes, root) is a
release check, skipped unless ``SYNCD_IMAGE_SMOKE=1``; docs/operations.md "Releases".
What always runs: the script starts the container with compose.yaml's settings.
"""

from __future__ import annotations

import os
import subprocess

import pytest
import yaml

from tests.support.paths import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "image-smoke"


def test_the_smoke_script_runs_the_container_with_the_compose_settings() -> None:
    compose = yaml.safe_load((REPO_ROOT / "compose.yaml").read_text())
    service = compose["services"]["syncd"]
    script = SCRIPT.read_text()
    for name in service["environment"]:
        assert f"-e {name}=" in script, name
    assert service["read_only"] is True and "--read-only" in script
    assert service["tmpfs"] == ["/tmp"] and "--tmpfs /tmp" in script
    assert service["security_opt"] == ["no-new-privileges:true"]
    assert "--security-opt no-new-privileges" in script
    assert service["cap_drop"] == ["ALL"] and "--cap-drop ALL" in script
    assert service["stop_signal"] == "SIGTERM" and "--stop-signal SIGTERM" in script
    grace = int(service["stop_grace_period"].removesuffix("s"))
    assert f"--stop-timeout {grace}" in script and f"podman stop -t {grace}" in script
    assert os.access(SCRIPT, os.X_OK)


@pytest.mark.slow
@pytest.mark.timeout(2700)
@pytest.mark.skipif(
    os.environ.get("SYNCD_IMAGE_SMOKE") != "1",
    reason="builds and runs the image with podman (root, minutes): set SYNCD_IMAGE_SMOKE=1",
)
def test_the_image_builds_answers_readyz_syncs_caldav_and_stops_cleanly() -> None:
    result = subprocess.run(
        [str(SCRIPT)], cwd=REPO_ROOT, capture_output=True, text=True, timeout=2600
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "OK: image built" in result.stdout
