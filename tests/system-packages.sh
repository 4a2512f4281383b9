#!/usr/bin/env bash
# Install the Debian packages the tests drive for real, when any is missing.
#
#   tests/system-packages.sh PACKAGE...     (make test passes its TEST_DEBIAN_PACKAGES)
#
# When everything is installed it only asks dpkg (a few milliseconds) and prints nothing.
# Otherwise it installs the missing ones with apt-get: directly as root, through sudo
# otherwise; with neither, it names exactly what to install and exits 1, so the suite never
# runs with a part missing (a browser test would fail, not skip).
set -euo pipefail

missing=()
for package in "$@"; do
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  [[ "$status" == *" installed" ]] || missing+=("$package")
done
[ "${#missing[@]}" -eq 0 ] && exit 0

what="${missing[*]}"
if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: the tests need these Debian packages, and this system has no apt-get: $what" >&2
  echo "       install their equivalents with your system's package manager, then run make test again" >&2
  exit 1
fi

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "error: the tests need these Debian packages, and installing them needs root (no sudo here):" >&2
  echo "       apt-get update && apt-get install -y --no-install-recommends $what" >&2
  echo "       run that as root, then make test again" >&2
  exit 1
fi

echo "make test: installing the Debian packages the tests need: $what" >&2
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
