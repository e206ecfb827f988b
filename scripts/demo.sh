#!/usr/bin/env bash
# `make demo`: one whole month on a small synthetic city, on an embedded SQLite database.
set -euo pipefail
cd "$(dirname "$0")/.."

export INSPECT_DATABASE_URL="${INSPECT_DATABASE_URL:-sqlite:///var/demo/inspect-engine.db}"
IE=.venv/bin/inspect-engine
CITY=var/demo/city
OUT=var/demo/out
MONTH=2026-12

rm -rf var/demo && mkdir -p var/demo
echo "== 1. schema"
$IE db upgrade
echo "== 2. a small synthetic city (20,000 market entities) in the import formats"
$IE simulate city --scale small --seed 2026 --out "$CITY"
echo "== 3. import the two directories, the one list and the history"
for kind in enterprises inspectors items inspections penalties complaints annual-reports lists leave conflicts; do
  $IE import "$kind" "$CITY/${kind//-/_}.csv"
done
if $IE score --help >/dev/null 2>&1; then
  echo "== 4. credit-risk classes (A/B/C/D) for every enterprise"
  $IE score --as-of 2026-12-01
fi
echo "== 5. the month's plan, frozen frames and the published commitment"
$IE month plan --month $MONTH --tasks "$CITY/tasks.csv"
$IE month freeze --month $MONTH --source "demo dice rolled in public on 2026-12-08"
echo "== 6. the public contribution (entered after the commitment) and the draw"
$IE month draw --month $MONTH --contribution "demo dice: 3-1-4-1-5-9-2-6-5-3"
echo "== 7. lawful random teams"
# exit 3 is a partial plan: the visits no lawful team can staff are listed with the rule
# that emptied their pool (e.g. a visit merging a local and a cross_office task keeps both)
status=0
$IE month assign --month $MONTH || status=$?
if [ "$status" -ne 0 ] && [ "$status" -ne 3 ]; then exit "$status"; fi
echo "== 8. export and verify"
$IE month export --month $MONTH --dir "$OUT"
first=$(ls "$OUT"/draws/*.json | head -n 1)
.venv/bin/python -m inspect_engine.verify "$first"
echo "== 9. verify the teams (the second random) against the published staffing hash"
staffing_hash=$(.venv/bin/python -c "import json,sys; print(json.load(open(sys.argv[1]))['staffing_hash'])" "$first")
.venv/bin/python -m inspect_engine.verify --teams "$OUT/teams.json" --staffing "$OUT/staffing.json" \
  --draws "$OUT/draws" --expect-staffing-hash "$staffing_hash"
echo
echo "Anyone can check a draw with the single file inspect_engine/verify.py:"
echo "  python inspect_engine/verify.py $first"
echo
echo "Open the public site and the API on the demo database:"
echo "  INSPECT_DATABASE_URL=$INSPECT_DATABASE_URL .venv/bin/inspect-engine serve --port 8000"
echo "  then http://127.0.0.1:8000/ (site) and http://127.0.0.1:8000/docs (API)"
echo "Create the first administrator (prints its token once):"
echo "  INSPECT_DATABASE_URL=$INSPECT_DATABASE_URL .venv/bin/inspect-engine users add admin --role admin"
