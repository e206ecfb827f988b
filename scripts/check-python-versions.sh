#!/usr/bin/env bash
# Checks that every dependency (runtime and dev) resolves to wheels for each Python the
# package metadata allows beyond the one the tests run on. A dry run: nothing is installed,
# only the package index is asked; a missing wheel fails the check with pip's reason.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
VERSIONS=${VERSIONS:-"3.12 3.13"}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$PY" - "$work/requirements.txt" <<'PYEOF'
import sys
import tomllib

project = tomllib.load(open("pyproject.toml", "rb"))["project"]
wanted = project["dependencies"] + project["optional-dependencies"]["dev"]
open(sys.argv[1], "w").write("\n".join(wanted) + "\n")
PYEOF

for version in $VERSIONS; do
    if ! "$PY" -m pip install --dry-run --quiet --ignore-installed --only-binary=:all: \
        --python-version "$version" --target "$work/target" \
        --report "$work/report-$version.json" -r "$work/requirements.txt" \
        2>"$work/pip-$version.log"; then
        grep -v "^WARNING: Location" "$work/pip-$version.log" >&2 || true
        echo "Python $version: the dependencies do not resolve to wheels" >&2
        exit 1
    fi
    "$PY" - "$work/report-$version.json" "$version" <<'PYEOF'
import json
import sys

report = json.load(open(sys.argv[1]))
wheels = [item["download_info"]["url"].rsplit("/", 1)[-1] for item in report["install"]]
assert all(name.endswith(".whl") for name in wheels), wheels
print(f"Python {sys.argv[2]}: {len(wheels)} packages resolve to wheels")
PYEOF
done
