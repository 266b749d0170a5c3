#!/usr/bin/env bash
# Regenerates every PNG in icons/ from gatehouse.svg: the app icon in the
# sizes Tauri bundles, and one tray icon per gateway state, which differ
# only in the colour of the status dot. Needs rsvg-convert (Debian:
# librsvg2-bin).
set -euo pipefail
cd "$(dirname "$0")"

render() { # svg-text size output
  printf '%s' "$1" | rsvg-convert --width "$2" --height "$2" --format png --output "$3"
}

source_svg="$(cat gatehouse.svg)"
for size in 32 128 256; do
  render "$source_svg" "$size" "${size}x${size}.png"
done
cp 256x256.png icon.png

# Tray states: running (green), stopped (grey), error (red), degraded (amber).
declare -A colours=([running]='#22c55e' [stopped]='#9ca3af' [error]='#ef4444' [degraded]='#f59e0b')
for state in "${!colours[@]}"; do
  recoloured="${source_svg/fill=\"#3b82f6\"/fill=\"${colours[$state]}\"}"
  render "$recoloured" 64 "tray-$state.png"
done
echo "icons regenerated in $(pwd)"
