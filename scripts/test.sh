#!/usr/bin/env bash
# Run huisou's test suite in a virtual environment made from the repository's own files:
# the package with its dev extras, then the example plugins through their entry points.
# Usage: scripts/test.sh [pytest args...]   (HUISOU_VENV picks another venv directory)
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${HUISOU_VENV:-.venv}
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check -e '.[dev]'
if [ -f examples/install.sh ]; then
  bash examples/install.sh "$venv"
fi
exec "$venv/bin/python" -m pytest "$@"
