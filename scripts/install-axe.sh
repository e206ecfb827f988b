#!/usr/bin/env bash
# Installs axe-core (the accessibility engine the browser tests inject into the pages)
# from the npm registry, pinned, under .cache/node/ (ignored by git). The tests read
# .cache/node/node_modules/axe-core/axe.min.js, or the file named by $AXE_CORE_JS.
# Safe to run again: does nothing when the pinned version is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=4.14.1
PREFIX=.cache/node
PACKAGE="$PREFIX/node_modules/axe-core/package.json"

if [ -f "$PACKAGE" ] && grep -q "\"version\": \"$VERSION\"" "$PACKAGE"; then
  echo "axe-core $VERSION: present"
  exit 0
fi
mkdir -p "$PREFIX"
npm install --prefix "$PREFIX" --no-save --no-audit --no-fund --ignore-scripts "axe-core@$VERSION"
echo "axe-core $(node -p "require('./$PACKAGE').version")"
