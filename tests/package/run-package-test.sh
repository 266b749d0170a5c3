#!/usr/bin/env bash
# The .deb, installed and removed as a person would, then the AppImage, run
# as a person would: both bundled from the debug binaries already built (no
# second compile); the .deb installed with apt-get, the *installed* app
# launched under Xvfb with trayer as the tray host and openbox as the window
# manager, in a temporary HOME, GATEHOUSE_HOME and CLAUDE_CONFIG_DIR, then
# the package removed; then the AppImage started the same way in fresh
# ones.
#
# 1. The package: its version is `gatehouse --version`'s and the app's About
#    line's; it installs /usr/bin/gatehouse-desktop, /usr/bin/gatehouse, the
#    desktop entry with its icon, and depends on the appindicator runtime.
# 2. The installed app shows its tray icon, runs /usr/bin/gatehouse as its
#    gateway, which answers /health and records a request.
# 3. "Claude Code uses Gatehouse" and "Start at login", through the tray
#    menu: both autostart entries run the installed programs, and "Start at
#    login" has the installed icon and a comment.
# 4. `apt-get remove gatehouse`: the app quits, the gateway stops, Claude
#    Code's settings.json is restored byte for byte, both autostart entries
#    are gone, and the user's Gatehouse data and config are kept.
# 5. The AppImage, mounted with FUSE where this machine allows it, else with
#    --appimage-extract-and-run: its About line and, through a link named
#    `gatehouse`, the `gatehouse` command; on a system without WebKitGTK
#    (hidden in a mount namespace), a message naming the library; its app shows the tray icon with
#    the appindicator library it carries, and runs as its gateway the copy
#    of `gatehouse` it took out of the image (the image is gone once the app
#    ends), which the gateway's login entry also runs; it puts itself in the
#    applications menu with its icon, and `gatehouse` on PATH; "Start at login" runs
#    the AppImage; `gatehouse quit` through the link ends it all, restores
#    settings.json and unmounts the image.
# The package is removed and the AppImage's app ended at the end whatever
# happens.
#
# Needs: root (apt-get), target/debug/gatehouse, gatehouse-desktop and
# mock-anthropic (cargo build -p gatehouse -p gatehouse-desktop -p
# gatehouse-e2e), ui/node_modules (scripts/build-ui), and the Debian packages
# of the tray test, squashfs-tools, patchelf and libfuse2
# (scripts/install-test-deps installs them all).
set -euo pipefail
cd "$(dirname "$0")/../.."

target_dir="$(realpath -m "${CARGO_TARGET_DIR:-target}")"
mock="$target_dir/debug/mock-anthropic"
[ -x "$target_dir/debug/gatehouse" ] && [ -x "$target_dir/debug/gatehouse-desktop" ] && [ -x "$mock" ] || {
  echo "error: build first: cargo build -p gatehouse -p gatehouse-desktop -p gatehouse-e2e" >&2
  exit 1
}
[ "$(id -u)" = 0 ] || { echo "error: run as root: the test installs and removes a package with apt-get" >&2; exit 1; }
if dpkg-query -W -f '${Status}' gatehouse 2>/dev/null | grep -q 'ok installed'; then
  echo "error: the gatehouse package is installed already; this test installs and removes it (apt-get remove gatehouse)" >&2
  exit 1
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-package-test.XXXXXX")"
chmod 755 "$work"
shots="${GATEHOUSE_SCREENSHOTS:-$work/screenshots}"
mkdir -p "$shots" "$work/home" "$work/gatehouse" "$work/claude"
passed=0
background=()
app_pid=
appimage_app_pid=

cleanup() {
  if dpkg-query -W -f '${Status}' gatehouse 2>/dev/null | grep -q 'ok installed'; then
    apt-get remove -y gatehouse >>"$work/apt.log" 2>&1 || echo "warning: apt-get remove gatehouse failed; see $work/apt.log" >&2
  fi
  [ -z "$app_pid" ] || kill "$app_pid" 2>/dev/null || true
  [ -z "$appimage_app_pid" ] || kill "$appimage_app_pid" 2>/dev/null || true
  for pid in "${background[@]}"; do kill "$pid" 2>/dev/null || true; done
  local gateway_pid home
  for home in "$work/gatehouse" "$work/appimage/gatehouse"; do
    gateway_pid="$(sed -n 's/.*"pid": \([0-9]*\).*/\1/p' "$home/state/gateway.json" 2>/dev/null || true)"
    [ -z "$gateway_pid" ] || kill "$gateway_pid" 2>/dev/null || true
  done
  if [ -n "${DBUS_SESSION_BUS_PID:-}" ]; then kill "$DBUS_SESSION_BUS_PID" 2>/dev/null || true; fi
  # The copies of the debug build (about 190 MB each) go; the logs and
  # screenshots stay.
  rm -rf "$work"/*.deb "$work/appimage/Gatehouse.AppImage" "$work/appimage/gatehouse/data/bin" "$work/appimage/no-webkit"
}
trap cleanup EXIT

test_name=package-test
# shellcheck source=tests/desktop/common.sh
source tests/desktop/common.sh

echo "== bundle the .deb and the AppImage from the debug build"
scripts/package --debug --bundles deb,appimage >"$work/bundle.log" 2>&1 ||
  { tail -n 30 "$work/bundle.log" >&2; fail "bundling the .deb and the AppImage failed"; }
deb="$(find "$target_dir/debug/bundle/deb" -maxdepth 1 -name 'gatehouse_*.deb' | head -n 1)"
[ -n "$deb" ] || fail "no gatehouse_*.deb in $target_dir/debug/bundle/deb"
appimage="$(find "$target_dir/debug/bundle/appimage" -maxdepth 1 -name 'Gatehouse_*.AppImage' | head -n 1)"
[ -n "$appimage" ] || fail "no Gatehouse_*.AppImage in $target_dir/debug/bundle/appimage"
ok "bundled $deb ($(stat -c %s "$deb") bytes) and $appimage ($(stat -c %s "$appimage") bytes)"

echo "== install it"
cp "$deb" "$work/"
apt-get install -y "$work/$(basename "$deb")" >"$work/apt.log" 2>&1 || { tail -n 20 "$work/apt.log" >&2; fail "apt-get install failed"; }
for file in /usr/bin/gatehouse-desktop /usr/bin/gatehouse; do
  [ -x "$file" ] || fail "the package did not install $file"
done
entry=/usr/share/applications/Gatehouse.desktop
[ -f "$entry" ] || fail "the package did not install $entry"
grep -qx 'Exec=gatehouse-desktop' "$entry" || fail "$entry does not run gatehouse-desktop: $(cat "$entry")"
grep -qx 'Icon=gatehouse-desktop' "$entry" || fail "$entry has no icon: $(cat "$entry")"
grep -q '^Categories=Development;' "$entry" || fail "$entry has no category: $(cat "$entry")"
grep -q '^Comment=.' "$entry" || fail "$entry has no comment"
icon=/usr/share/icons/hicolor/128x128/apps/gatehouse-desktop.png
[ -f "$icon" ] || fail "the package did not install its icon $icon"
dpkg-query -W -f '${Depends}' gatehouse | grep -q 'libayatana-appindicator3-1' || fail "the package does not depend on libayatana-appindicator3-1"
ok "installed: /usr/bin/gatehouse-desktop, /usr/bin/gatehouse, $entry with its icon, the appindicator dependency"

version="$(dpkg-query -W -f '${Version}' gatehouse)"
[ "$(/usr/bin/gatehouse --version)" = "gatehouse $version" ] || fail "gatehouse --version says $(/usr/bin/gatehouse --version), the package $version"
[ "$(/usr/bin/gatehouse-desktop --version)" = "Gatehouse $version" ] ||
  fail "the app's About line is $(/usr/bin/gatehouse-desktop --version), the package $version"
ok "the package, \`gatehouse --version\` and the app's About line all say $version"

echo "== the installed app under Xvfb, with trayer as the tray host"
start_desktop

mock_port="$(free_port)"
"$mock" --port "$mock_port" >"$work/mock.log" 2>&1 &
background+=($!)
port="$(free_port)"
gateway="http://127.0.0.1:$port"
settings="$work/claude/settings.json"
printf '[gateway]\nport = %s\n\n[anthropic]\nbase_url = "http://127.0.0.1:%s"\n' "$port" "$mock_port" \
  >"$work/gatehouse/config.toml"
cp "$work/gatehouse/config.toml" "$work/config.original.toml"
printf '{\n  "model": "opus",\n  "hooks": {}\n}\n' >"$settings"
cp "$settings" "$work/settings.original.json"
mkdir -p "$work/bin"
cat >"$work/bin/claude" <<'CLAUDE'
#!/bin/sh
[ "$1 $2" = "auth status" ] || exit 2
echo '{"loggedIn":true,"authMethod":"claude.ai","apiProvider":"firstParty","subscriptionType":"max"}'
CLAUDE
chmod +x "$work/bin/claude"

env NO_AT_BRIDGE=1 HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config" GATEHOUSE_HOME="$work/gatehouse" \
  CLAUDE_CONFIG_DIR="$work/claude" GATEHOUSE_CLAUDE_BIN="$work/bin/claude" PATH=/usr/bin:/bin \
  /usr/bin/gatehouse-desktop >>"$work/app.log" 2>&1 &
app_pid=$!

healthy() { curl -sf -m 2 "$gateway/health" >/dev/null; }
down() { ! healthy; }
configured() { grep -q "\"ANTHROPIC_BASE_URL\": \"$gateway\"" "$settings" 2>/dev/null; }
restored() { cmp -s "$settings" "$work/settings.original.json"; }
window_shown() { xdotool search --onlyvisible --name '^Gatehouse$' >/dev/null 2>&1; }
window_hidden() { ! window_shown; }
gateway_pid() { sed -n 's/.*"pid": \([0-9]*\).*/\1/p' "$work/gatehouse/state/gateway.json" 2>/dev/null; }

wait_until 30 icon_shown || fail "no tray icon appeared"
wait_until 30 healthy || fail "the gateway did not start"
[ "$(readlink "/proc/$(gateway_pid)/exe")" = /usr/bin/gatehouse ] ||
  fail "the gateway runs $(readlink "/proc/$(gateway_pid)/exe"), not the installed /usr/bin/gatehouse"
ok "the installed app shows its tray icon, and runs /usr/bin/gatehouse as its gateway, which answers $gateway/health"
# The first launch opens the window on its first-run guide.
wait_until 20 window_shown || fail "the first launch did not open the window"
sleep 2
shot first-launch-installed
wmctrl -c Gatehouse
wait_until 10 window_hidden || fail "the window did not close"
sleep 1

echo "== \"Claude Code uses Gatehouse\" on, and a request through the gateway"
choose Down Down Return
wait_until 15 configured || fail "settings.json does not point at $gateway"
key="$(sed -n 's/.*x-gatehouse-key: \([^"]*\)".*/\1/p' "$settings")"
curl -sf -m 10 "$gateway/v1/messages" -H "x-gatehouse-key: $key" -H 'authorization: Bearer sk-ant-oat01-FAKE-test' \
  -H 'anthropic-version: 2023-06-01' -H 'content-type: application/json' \
  -d '{"model":"claude-sonnet-4-5","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}' >/dev/null ||
  fail "the request through the gateway failed"
one_request() { GATEHOUSE_HOME="$work/gatehouse" /usr/bin/gatehouse spend --since today --json | grep -q '"requests": 1'; }
wait_until 10 one_request || fail "the request did not reach the ledger"
login_entry="$work/home/.config/autostart/gatehouse-gateway.desktop"
wait_until 10 grep -qs '/usr/bin/gatehouse gateway supervise --at-login$' "$login_entry" ||
  fail "the gateway's login entry does not run /usr/bin/gatehouse: $(cat "$login_entry" 2>/dev/null)"
ok "Claude Code uses the gateway, a request is in the ledger, and the gateway's login entry runs /usr/bin/gatehouse"

echo "== \"Start at login\""
start_entry="$work/home/.config/autostart/Gatehouse.desktop"
# The request adds the subscription's windows to the menu, which the tray,
# refreshing every second, rebuilds (closing a menu open meanwhile).
sleep 2
open_menu
shot menu-installed
xdotool key Escape
choose Down Down Down Down Down Down Down Down Down Return
wait_until 10 test -f "$start_entry" || fail "Start at login wrote no $start_entry"
grep -qx 'Exec=/usr/bin/gatehouse-desktop' "$start_entry" || fail "the entry does not run the installed app: $(cat "$start_entry")"
grep -qx 'Icon=gatehouse-desktop' "$start_entry" || fail "the entry has not the installed icon: $(cat "$start_entry")"
grep -q '^Comment=Starts Gatehouse in the tray at login' "$start_entry" || fail "the entry's comment: $(cat "$start_entry")"
ok "Start at login runs /usr/bin/gatehouse-desktop, with its icon and a comment"

echo "== apt-get remove gatehouse"
apt-get remove -y gatehouse >>"$work/apt.log" 2>&1 || { tail -n 20 "$work/apt.log" >&2; fail "apt-get remove failed"; }
[ ! -e /usr/bin/gatehouse ] && [ ! -e /usr/bin/gatehouse-desktop ] || fail "the programs are still installed"
wait_until 10 app_gone "$app_pid" || fail "the app still runs after the package's removal"
down || fail "the gateway still answers after the package's removal"
restored || fail "settings.json was not restored byte for byte: $(diff "$work/settings.original.json" "$settings" || true)"
[ ! -e "$start_entry" ] && [ ! -e "$login_entry" ] || fail "an autostart entry outlived the package: $(ls "$work/home/.config/autostart")"
[ -s "$work/gatehouse/data/ledger.sqlite3" ] || fail "the ledger was removed with the package"
cmp -s "$work/gatehouse/config.toml" "$work/config.original.toml" || fail "config.toml changed with the package's removal"
ok "removing the package quit the app, stopped the gateway, restored settings.json byte for byte, removed both autostart entries, and kept the ledger and config.toml"

echo "== the AppImage, with no package installed"
ai="$work/appimage"
mkdir -p "$ai/home" "$ai/gatehouse" "$ai/claude" "$ai/bin"
# Where a person keeps a downloaded AppImage, and the link that makes it the
# `gatehouse` command.
image="$ai/Gatehouse.AppImage"
cp "$appimage" "$image"
ln -s "$image" "$ai/bin/gatehouse"
# Mounted with FUSE where this machine allows it, else extracted.
run=(env)
if "$image" --version >"$work/appimage-fuse.log" 2>&1; then
  mode=FUSE
else
  mode="--appimage-extract-and-run (FUSE: $(head -n 1 "$work/appimage-fuse.log"))"
  run=(env APPIMAGE_EXTRACT_AND_RUN=1)
fi
[ "$("${run[@]}" "$image" --version)" = "Gatehouse $version" ] ||
  fail "the AppImage's About line is $("${run[@]}" "$image" --version 2>&1), the package's $version"
[ "$(APPIMAGE_EXTRACT_AND_RUN=1 "$image" --version)" = "Gatehouse $version" ] ||
  fail "extracted, the AppImage's About line is $(APPIMAGE_EXTRACT_AND_RUN=1 "$image" --version 2>&1)"
[ "$("${run[@]}" "$ai/bin/gatehouse" --version)" = "gatehouse $version" ] ||
  fail "through a link named gatehouse, the AppImage says $("${run[@]}" "$ai/bin/gatehouse" --version 2>&1), not gatehouse $version"
ok "the AppImage runs ($mode, and extracted): its About line and, through a link named gatehouse, \`gatehouse --version\` say $version"

# A system without WebKitGTK: in a mount namespace of its own, the library
# directory is replaced by links to everything in it but WebKitGTK's library.
unshare --mount sh -c '
  set -e
  lib=/usr/lib/x86_64-linux-gnu
  mkdir -p "$1/all" "$1/without"
  mount --bind "$lib" "$1/all"
  cp -rs "$1/all/." "$1/without/"
  rm -f "$1/without"/libwebkit2gtk-4.1.so*
  mount --bind "$1/without" "$lib"
  APPIMAGE_EXTRACT_AND_RUN=1 "$2"
' sh "$ai/no-webkit" "$image" >"$work/no-webkit.log" 2>&1 && fail "the AppImage started on a system without WebKitGTK"
grep -q '^Gatehouse cannot start: this system lacks libwebkit2gtk-4.1.so.0\. .*sudo apt install libwebkit2gtk-4.1-0' "$work/no-webkit.log" ||
  fail "without WebKitGTK, the AppImage said: $(cat "$work/no-webkit.log")"
ok "without WebKitGTK, the AppImage says which library is missing and how to install it"

port="$(free_port)"
gateway="http://127.0.0.1:$port"
settings="$ai/claude/settings.json"
printf '[gateway]\nport = %s\n\n[anthropic]\nbase_url = "http://127.0.0.1:%s"\n' "$port" "$mock_port" >"$ai/gatehouse/config.toml"
printf '{\n  "model": "opus",\n  "hooks": {}\n}\n' >"$settings"
cp "$settings" "$work/settings.original.json"
echo "== the AppImage's app ($mode)" >>"$work/app.log"
"${run[@]}" NO_AT_BRIDGE=1 HOME="$ai/home" XDG_CONFIG_HOME="$ai/home/.config" XDG_DATA_HOME="$ai/home/.local/share" \
  GATEHOUSE_HOME="$ai/gatehouse" CLAUDE_CONFIG_DIR="$ai/claude" GATEHOUSE_CLAUDE_BIN="$work/bin/claude" \
  PATH="$ai/home/.local/bin:/usr/bin:/bin" "$image" >>"$work/app.log" 2>&1 &
runtime_pid=$!
ai_gateway_pid() { sed -n 's/.*"pid": \([0-9]*\).*/\1/p' "$ai/gatehouse/state/gateway.json" 2>/dev/null; }
# The app: the gatehouse-desktop from the image whose parent is not one
# (the window's process is the app's child).
ai_app_pid() {
  local pid
  for pid in $(pgrep -f '/usr/bin/gatehouse-desktop$'); do
    tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx "GATEHOUSE_HOME=$ai/gatehouse" || continue
    [ "$(readlink "/proc/$(ps -o ppid= -p "$pid" | tr -d ' ')/exe" 2>/dev/null)" != "$(readlink "/proc/$pid/exe")" ] || continue
    echo "$pid"
    return 0
  done
  return 1
}
wait_until 30 icon_shown || fail "the AppImage's app shows no tray icon"
wait_until 30 healthy || fail "the AppImage's gateway did not start"
appimage_app_pid="$(ai_app_pid)" || fail "no app from the AppImage runs"
appdir="$(dirname "$(dirname "$(dirname "$(readlink "/proc/$appimage_app_pid/exe")")")")"
[ "$(readlink "/proc/$(ai_gateway_pid)/exe")" = "$ai/gatehouse/data/bin/gatehouse" ] ||
  fail "the AppImage's gateway runs $(readlink "/proc/$(ai_gateway_pid)/exe"), not the copy in $ai/gatehouse/data/bin"
cmp -s "$ai/gatehouse/data/bin/gatehouse" "$appdir/usr/bin/gatehouse" || fail "the gateway's copy differs from the image's gatehouse"
grep -q " $appdir/usr/lib/libayatana-appindicator3.so.1$" "/proc/$appimage_app_pid/maps" ||
  fail "the app did not load the appindicator library the AppImage carries: $(grep -o '/.*appindicator.*' "/proc/$appimage_app_pid/maps" | sort -u)"
! tr '\0' '\n' <"/proc/$appimage_app_pid/environ" | grep -q '^LD_LIBRARY_PATH=' ||
  fail "the app runs with LD_LIBRARY_PATH, which every program it starts would inherit"
ok "the AppImage's app ($appdir) shows its tray icon with the appindicator library it carries, and its gateway runs the copy $ai/gatehouse/data/bin/gatehouse"
menu_entry="$ai/home/.local/share/applications/gatehouse-appimage.desktop"
wait_until 10 test -f "$menu_entry" || fail "the AppImage put no entry in the applications menu"
grep -qx "Exec=$image" "$menu_entry" && grep -qx "TryExec=$image" "$menu_entry" && grep -qx 'Icon=gatehouse-desktop' "$menu_entry" ||
  fail "the AppImage's menu entry: $(cat "$menu_entry")"
[ -s "$ai/home/.local/share/icons/hicolor/128x128/apps/gatehouse-desktop.png" ] || fail "the AppImage put no icon in the icon theme"
wait_until 10 test -L "$ai/home/.local/bin/gatehouse" || fail "the AppImage linked no gatehouse command in ~/.local/bin, which is on PATH"
[ "$("$ai/home/.local/bin/gatehouse" --version)" = "gatehouse $version" ] || fail "the linked gatehouse command: $("$ai/home/.local/bin/gatehouse" --version 2>&1)"
ok "the AppImage is in the applications menu (running the file, gone with it), with its icon, and \`gatehouse\` is on PATH"
wait_until 20 window_shown || fail "the AppImage's first launch did not open the window"
sleep 2
shot first-launch-appimage
wmctrl -c Gatehouse
wait_until 10 window_hidden || fail "the window did not close"
sleep 1

choose Down Down Return
wait_until 15 configured || fail "settings.json does not point at $gateway"
login_entry="$ai/home/.config/autostart/gatehouse-gateway.desktop"
wait_until 10 grep -qs "^Exec=.*$ai/gatehouse/data/bin/gatehouse gateway supervise --at-login$" "$login_entry" ||
  fail "the gateway's login entry does not run the copy outside the image: $(cat "$login_entry" 2>/dev/null)"
start_entry="$ai/home/.config/autostart/Gatehouse.desktop"
sleep 2
choose Down Down Down Down Down Down Down Down Down Return
wait_until 10 test -f "$start_entry" || fail "Start at login wrote no $start_entry"
grep -qx "Exec=$image" "$start_entry" || fail "Start at login does not run the AppImage: $(cat "$start_entry")"
ok "Claude Code uses the gateway; its login entry runs the copy outside the image, and Start at login runs $image"

key="$(sed -n 's/.*x-gatehouse-key: \([^"]*\)".*/\1/p' "$settings")"
curl -sf -m 10 "$gateway/v1/messages" -H "x-gatehouse-key: $key" -H 'authorization: Bearer sk-ant-oat01-FAKE-test' \
  -H 'anthropic-version: 2023-06-01' -H 'content-type: application/json' \
  -d '{"model":"claude-sonnet-4-5","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}' >/dev/null ||
  fail "the request through the AppImage's gateway failed"
one_request() { "${run[@]}" GATEHOUSE_HOME="$ai/gatehouse" "$ai/bin/gatehouse" spend --since today --json | grep -q '"requests": 1'; }
wait_until 10 one_request || fail "\`gatehouse spend\` through the link does not show the request"
ok "a request through the AppImage's gateway, in \`gatehouse spend\` through the link"
"${run[@]}" GATEHOUSE_HOME="$ai/gatehouse" HOME="$ai/home" XDG_CONFIG_HOME="$ai/home/.config" CLAUDE_CONFIG_DIR="$ai/claude" \
  "$ai/bin/gatehouse" quit >>"$work/app.log" 2>&1 || fail "\`gatehouse quit\` through the link failed"
wait_until 10 app_gone "$appimage_app_pid" || fail "the AppImage's app still runs after \`gatehouse quit\`"
wait_until 10 app_gone "$runtime_pid" || fail "the AppImage's runtime still runs after its app quit"
down || fail "the AppImage's gateway still answers after \`gatehouse quit\`"
restored || fail "settings.json was not restored byte for byte: $(diff "$work/settings.original.json" "$settings" || true)"
[ ! -e "$login_entry" ] || fail "the gateway's login entry outlived Claude Code's restore"
[ -f "$start_entry" ] || fail "quitting removed Start at login, which the user chose"
! grep -q " $appdir " /proc/mounts && [ ! -e "$appdir/AppRun" ] || fail "the image is still mounted or extracted at $appdir"
ok "\`gatehouse quit\` through the link ended the app, its gateway and the image's runtime, restored settings.json, removed the gateway's login entry, kept Start at login, and left nothing at $appdir"

echo "screenshots: $shots"
echo "package-test: $passed passed, 0 failed"
