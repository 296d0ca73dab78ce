#!/usr/bin/env bash
# Install huisou's example plugins the way users install plugins: as distributions found
# through their "huisou" entry points (never imported from this source tree).
# (The PostgreSQL store that used to be an example here is now built in: plugins/postgres,
# extra huisou[postgres].)
#
# Usage: examples/install.sh [VENV_DIR]    (default: the python3 on PATH)
# huisou itself must already be installed in that environment; --no-deps keeps pip from
# fetching another huisou, --no-build-isolation builds with the environment's setuptools.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [ $# -ge 1 ] && [ -n "$1" ]; then
  python="$1/bin/python"
else
  python="$(command -v python3)"
fi
pip=("$python" -m pip install -q --disable-pip-version-check)
# setuptools >= 70.1 builds wheels without the separate "wheel" package.
"${pip[@]}" "setuptools>=70.1"
for example in huisou-listfile huisou-xmp-rating huisou-takeout; do
  rm -rf "$here/$example/build"
  "${pip[@]}" --no-deps --no-build-isolation --force-reinstall "$here/$example"
  rm -rf "$here/$example/build" "$here/$example"/*.egg-info
done
"$python" - <<'PY'
from importlib.metadata import entry_points
found = {ep.name for ep in entry_points(group="huisou")}
missing = {"listfile", "xmp-rating", "takeout"} - found
if missing:
    raise SystemExit(f"examples/install.sh: entry points not found after install: {sorted(missing)}")
print("examples installed: huisou entry points", sorted(found))
PY
