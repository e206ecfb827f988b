#!/usr/bin/env bash
# Installs what the printable documents (inspect_engine/documents) need: a CJK TrueType font
# that reportlab can embed. Debian's Noto CJK (fonts-noto-cjk) has CFF outlines, which
# reportlab refuses, so this installs WenQuanYi Zen Hei (fonts-wqy-zenhei) unless a usable
# font is already there (INSPECT_CJK_FONT, or one of the paths the code looks at).
#
#   bash scripts/install-fonts.sh              # the font (servers)
#   bash scripts/install-fonts.sh --for-tests  # + pdftoppm (poppler-utils) and zbarimg
#                                              #   (zbar-tools): page images and QR reading
#
# Safe to run again: installs nothing that is already there.
set -euo pipefail

FONTS=(
  /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc
  /usr/share/fonts/truetype/wqy/wqy-microhei.ttc
  /usr/share/fonts/truetype/arphic/uming.ttc
)

need=()
font=""
if [ -n "${INSPECT_CJK_FONT:-}" ] && [ -f "${INSPECT_CJK_FONT}" ]; then
  font="${INSPECT_CJK_FONT}"
else
  for candidate in "${FONTS[@]}"; do
    if [ -f "$candidate" ]; then font="$candidate"; break; fi
  done
fi
[ -n "$font" ] || need+=(fonts-wqy-zenhei)

if [ "${1:-}" = "--for-tests" ]; then
  command -v pdftoppm >/dev/null 2>&1 || need+=(poppler-utils)
  command -v zbarimg >/dev/null 2>&1 || need+=(zbar-tools)
fi

if [ "${#need[@]}" -gt 0 ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${need[@]}"
  [ -n "$font" ] || font="${FONTS[0]}"
fi

echo "CJK font for documents: $font"
