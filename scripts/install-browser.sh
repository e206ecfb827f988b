#!/usr/bin/env bash
# Installs the headless browser the public-site tests drive: Debian's chromium, driven by
# Playwright through executable_path (no browser download by Playwright itself).
# Safe to run again: does nothing when /usr/bin/chromium is already there.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  echo "chromium: $(/usr/bin/chromium --version 2>/dev/null || echo present)"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends chromium fonts-noto-cjk
echo "chromium: $(/usr/bin/chromium --version)"
