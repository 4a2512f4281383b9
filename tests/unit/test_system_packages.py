"""tests/system-packages.sh, the step of `make test` that installs the Debian packages the tests drive."""

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "tests" / "system-packages.sh"
# A name no Debian archive has, so the script always finds it missing.
ABSENT = "duban-no-such-package"


def _makefile_packages() -> list[str]:
    for line in (REPO / "Makefile").read_text(encoding="utf-8").splitlines():
        if line.startswith("TEST_DEBIAN_PACKAGES"):
            return line.split(":=", 1)[1].split()
    raise AssertionError("the Makefile names no TEST_DEBIAN_PACKAGES")


@pytest.fixture
def path_without_sudo() -> Iterator[str]:
    """A PATH with the tools the script uses and no sudo, as on a machine where it is not installed.

    Outside pytest's private tmp_path, which the unprivileged user could not enter."""
    bin_dir = Path(tempfile.mkdtemp(prefix="duban-nosudo-"))
    bin_dir.chmod(0o755)
    for tool in ("bash", "dpkg-query", "id", "apt-get"):
        found = shutil.which(tool)
        assert found, f"{tool} is not installed here"
        (bin_dir / tool).symlink_to(found)
    yield str(bin_dir)
    shutil.rmtree(bin_dir)


class TestSystemPackages:
    def test_the_packages_the_tests_drive_are_listed(self) -> None:
        """make test asks for Chromium, its driver and the CJK font the browser tests need, and PostgreSQL."""
        assert {"chromium", "chromium-driver", "fonts-wqy-microhei", "postgresql"} <= set(_makefile_packages())

    def test_nothing_to_do_when_all_are_installed(self) -> None:
        """With every package present it only asks dpkg: exit 0, no output, well under a second."""
        present = ["bash", "coreutils"]  # essential on every Debian system
        started = time.monotonic()
        done = subprocess.run(["bash", str(SCRIPT), *present], capture_output=True, text=True, check=False)
        assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
        assert time.monotonic() - started < 5

    def test_without_root_or_sudo_it_names_exactly_what_to_install(self, path_without_sudo: str) -> None:
        """Not root and no sudo: exit 1 and the apt-get line naming only the missing packages."""
        argv = ["bash", str(SCRIPT), "bash", ABSENT]
        env = {"PATH": path_without_sudo, "HOME": "/"}
        if os.geteuid() == 0:
            setpriv = shutil.which("setpriv")
            if setpriv is None:
                pytest.fail("running as root needs setpriv (util-linux) to drop to an unprivileged user")
            argv = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", *argv]
        done = subprocess.run(argv, capture_output=True, text=True, env=env, cwd="/", check=False)
        assert done.returncode == 1
        assert done.stdout == ""
        assert f"apt-get install -y --no-install-recommends {ABSENT}\n" in done.stderr
        assert "no sudo" in done.stderr
        assert " bash" not in done.stderr.split("apt-get install", 1)[1]
