#!/usr/bin/env bash
# The real desktop app, clicked as a person would: under Xvfb, with openbox
# as the window manager, trayer as the system tray host, dunst as the
# notification daemon, a session bus from dbus-launch, and every file in a
# temporary HOME, GATEHOUSE_HOME and CLAUDE_CONFIG_DIR.
#
# 1. Launch: the tray icon appears and the gateway starts (first launch),
#    and the window opens by itself, once, on its first-run guide; later
#    launches stay in the tray with no web view. The window runs in a
#    process of its own: each time it closes, that process and its WebKit
#    processes end, and they end with the app too.
# 2. Through the real tray menu (opened with a click on the icon, items
#    chosen with the keyboard as GTK menus allow): "Claude Code uses
#    Gatehouse" on, "Run gateway" off and on again, "Restart gateway", "Open
#    dashboard", "Open logs", "Start at login" on and off, "Test connection"
#    ▸ anthropic (its result as a notification), "Quit". After
#    each: the gateway answers GET /health or not, Claude Code's
#    settings.json is merged, restored byte for byte, and merged again, the
#    window shows in front, the log file opens, the autostart entry appears
#    and goes. The mock's 5-hour window rises with each request: dunst shows
#    "5-hour window at 80%" once, however many requests and relaunches
#    follow. The "Today" line opens the window (its Spend page).
# 3. Fail-open: a gateway that stops answering (SIGSTOP) is taken out of
#    settings.json and put back when it answers again (SIGCONT); dunst shows
#    a notification for each. A gateway killed (SIGKILL) is restarted; one
#    that keeps dying ends in the error state with a notification, and
#    "Restart gateway" brings it back.
# 4. A second launch brings the first one's window to the front. Quit with
#    "Keep gateway running after quit" leaves the gateway looked after by
#    `gatehouse gateway supervise` (restarted after a SIGKILL), and the next
#    launch adopts it.
# 5. No tray host and a corrupt config.toml: the window opens by itself and
#    names the file and line; a second launch hands over to the first. With
#    no session bus at all, the app still runs and logs what it could not
#    notify.
#
# Screenshots are saved as PNG files; their paths are printed.
# Needs: target/debug/gatehouse, gatehouse-desktop and mock-anthropic (cargo
# build -p gatehouse -p gatehouse-desktop -p gatehouse-e2e), and the Debian
# packages xvfb xauth openbox wmctrl trayer dunst xdg-utils xdotool
# imagemagick dbus-x11 x11-utils curl jq.
set -euo pipefail
cd "$(dirname "$0")/../.."

target_dir="${CARGO_TARGET_DIR:-target}"
app="$(realpath "$target_dir/debug/gatehouse-desktop")"
mock="$target_dir/debug/mock-anthropic"
[ -x "$target_dir/debug/gatehouse" ] && [ -x "$app" ] && [ -x "$mock" ] || {
  echo "error: build first: cargo build -p gatehouse -p gatehouse-desktop -p gatehouse-e2e" >&2
  exit 1
}
work="$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-tray-test.XXXXXX")"
shots="${GATEHOUSE_SCREENSHOTS:-$work/screenshots}"
mkdir -p "$shots" "$work/home" "$work/gatehouse" "$work/claude"
passed=0
background=()

cleanup() {
  for pid in "${background[@]}"; do kill "$pid" 2>/dev/null || true; done
  # A headless supervisor left by a failed step would restart the gateway.
  for pid in $(pgrep -f "gatehouse gateway supervise" || true); do
    grep -qz "GATEHOUSE_HOME=$work/gatehouse" "/proc/$pid/environ" 2>/dev/null && kill "$pid" 2>/dev/null || true
  done
  # A killed app leaves its gateway running (by design); stop it too.
  local gateway_pid
  gateway_pid="$(sed -n 's/.*"pid": \([0-9]*\).*/\1/p' "$work/gatehouse/state/gateway.json" 2>/dev/null || true)"
  if [ -n "$gateway_pid" ]; then
    kill -CONT "$gateway_pid" 2>/dev/null || true
    kill "$gateway_pid" 2>/dev/null || true
  fi
  if [ -n "${DBUS_SESSION_BUS_PID:-}" ]; then kill "$DBUS_SESSION_BUS_PID" 2>/dev/null || true; fi
}
trap cleanup EXIT

test_name=tray-test
# shellcheck source=tests/desktop/common.sh
source tests/desktop/common.sh

# The display, the session bus and the tray host.
start_desktop

# dunst shows notifications, and runs a script for each one it shows, which
# records "app|summary|body|icon" in notifications.log.
printf '#!/bin/sh\nprintf "%%s|%%s|%%s|%%s\\n" "$1" "$2" "$3" "$4" >>"%s"\n' "$work/notifications.log" \
  >"$work/record-notification"
chmod +x "$work/record-notification"
# Notifications stay until acted on or closed, so a test can act on one.
printf '[global]\n    font = DejaVu Sans 10\n[urgency_normal]\n    timeout = 0\n[record]\n    summary = "*"\n    script = %s\n' \
  "$work/record-notification" >"$work/dunstrc"
dunst -config "$work/dunstrc" >"$work/dunst.log" 2>&1 &
dunst_pid=$!
background+=("$dunst_pid")
# Asks the bus itself: a call to the daemon (dunstctl) would have D-Bus
# start another dunst, with no recording, if this one is not up yet.
notification_daemon_pid() {
  dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus.GetConnectionUnixProcessID string:org.freedesktop.Notifications 2>/dev/null |
    sed -n 's/.*uint32 //p'
}
dunst_up() { [ "$(notification_daemon_pid)" = "$dunst_pid" ]; }
wait_until 10 dunst_up || fail "dunst did not start"
notified() { grep -q "^Gatehouse|$1|" "$work/notifications.log" 2>/dev/null; }

# The user's default viewer for text files, as xdg-open finds it: here one
# that records what it was asked to open, and the environment it got.
mkdir -p "$work/home/.local/share/applications" "$work/home/.config"
printf '#!/bin/sh\nenv >"%s"\necho "$1" >>"%s"\n' "$work/opened.env" "$work/opened.log" >"$work/record-open"
chmod +x "$work/record-open"
printf '[Desktop Entry]\nType=Application\nName=Viewer\nExec=%s %%f\nMimeType=text/plain;\n' "$work/record-open" \
  >"$work/home/.local/share/applications/test-viewer.desktop"
printf '[Default Applications]\ntext/plain=test-viewer.desktop\n' >"$work/home/.config/mimeapps.list"

# The mock Anthropic API stands in for api.anthropic.com.
mock_port="$(free_port)"
# Its 5-hour window starts at 70% and rises 6 points with each subscription request.
"$mock" --port "$mock_port" --five-hour 0.70,0.06 >"$work/mock.log" 2>&1 &
background+=($!)
port="$(free_port)"
gateway="http://127.0.0.1:$port"
settings="$work/claude/settings.json"
printf '[gateway]\nport = %s\n\n[anthropic]\nbase_url = "http://127.0.0.1:%s"\n\n[supervisor]\nfail_open_after_secs = 2\ncrash_limit = 3\n' \
  "$port" "$mock_port" >"$work/gatehouse/config.toml"
# The user's own settings, which must survive byte for byte.
printf '{\n  "model": "opus",\n  "hooks": {}\n}\n' >"$settings"
cp "$settings" "$work/settings.original.json"

# A stand-in `claude` that reports a Max login, as `claude auth status --json` does.
mkdir -p "$work/bin"
cat >"$work/bin/claude" <<'EOF'
#!/bin/sh
[ "$1 $2" = "auth status" ] || exit 2
echo '{"loggedIn":true,"authMethod":"claude.ai","apiProvider":"firstParty","subscriptionType":"max"}'
EOF
chmod +x "$work/bin/claude"

# launch [NAME=VALUE...]: starts the app, with these variables changed.
launch() {
  # NO_AT_BRIDGE: no accessibility bus daemon outliving the test.
  env NO_AT_BRIDGE=1 HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config" GATEHOUSE_HOME="$work/gatehouse" \
    CLAUDE_CONFIG_DIR="$work/claude" \
    GATEHOUSE_CLAUDE_BIN="$work/bin/claude" "$@" "$app" >>"$work/app.log" 2>&1 &
  app_pid=$!
  background+=("$app_pid")
}
healthy() { curl -sf -m 2 "$gateway/health" >/dev/null; }
down() { ! healthy; }
configured() { grep -q "\"ANTHROPIC_BASE_URL\": \"$gateway\"" "$settings" 2>/dev/null && grep -q 'x-gatehouse-key: ' "$settings"; }
restored() { cmp -s "$settings" "$work/settings.original.json"; }
window_shown() { xdotool search --onlyvisible --name '^Gatehouse$' >/dev/null 2>&1; }
window_hidden() { ! window_shown; }
# Whether the window manager has made this window the active one (the one
# with the keyboard, in front).
active_is() { [ "$(xdotool getactivewindow getwindowname 2>/dev/null)" = "$1" ]; }
# The window runs in a process of its own (`gatehouse-desktop --window`),
# which the app starts when the window opens.
window_pids() { pgrep -P "$app_pid" -f -- ' --window$| --window ' || true; }
# The window's process and the WebKit processes it started.
window_processes() {
  local pid
  for pid in $(window_pids); do
    echo "$pid"
    pgrep -P "$pid" || true
  done
}
# The open window's web content process (its name cut to 15 characters).
web_view_exists() {
  local pid
  for pid in $(window_pids); do pgrep -P "$pid" -x WebKitWebProces >/dev/null && return 0; done
  return 1
}
# None of these processes runs any more.
all_ended() {
  local pid
  for pid in "$@"; do ! kill -0 "$pid" 2>/dev/null || return 1; done
}
# Closes the window and checks that it, its process and its WebKit processes
# all end: the app keeps nothing of the window.
close_window() {
  local closing
  closing="$(window_processes)"
  [ -n "$closing" ] || fail "$1: no window process runs"
  web_view_exists || fail "$1: no web view runs"
  wmctrl -c Gatehouse
  wait_until 10 window_hidden || fail "$1: the window did not close"
  # shellcheck disable=SC2086 # one pid per word
  wait_until 10 all_ended $closing || fail "$1: the closed window's processes still run: $(ps -o pid=,args= -p "${closing//$'\n'/,}" || true)"
}
# How many times dunst showed this notification.
times_notified() { cat "$work/notifications.log" 2>/dev/null | grep -c "^Gatehouse|$1|" || true; }

echo "== launch with trayer as the tray host (work dir $work)"
launch
wait_until 30 icon_shown || fail "no tray icon appeared"
wait_until 30 healthy || fail "the gateway did not start on first launch"
ok "tray icon shown and gateway answers $gateway/health"
wait_until 20 window_shown || fail "the first launch did not open the window"
wait_until 10 active_is Gatehouse || fail "the first launch's window is not the active one"
grep -q '"window_opened": true' "$work/gatehouse/state/first-run.json" || fail "the first launch was not remembered"
sleep 2 # the page draws after the window maps
shot first-run
close_window "the first-run window"
ok "the first launch opens the window (its first-run guide) once; closed, its process and web view end"
sleep 1 # the login check runs in the background
open_menu
shot menu-running
xdotool key Escape

echo "== \"Claude Code uses Gatehouse\" on"
choose Down Down Return
wait_until 15 configured || fail "settings.json does not point at $gateway"
grep -q '"model": "opus"' "$settings" || fail "the user's own settings were lost"
ok "settings.json points at the gateway and keeps the user's keys"

echo "== a subscription request through the gateway, as Claude Code sends it"
key="$(sed -n 's/.*x-gatehouse-key: \([^"]*\)".*/\1/p' "$settings")"
subscription_request() {
  curl -sf -m 10 "$gateway/v1/messages" -H "x-gatehouse-key: $key" -H 'authorization: Bearer sk-ant-oat01-FAKE-test' \
    -H 'anthropic-version: 2023-06-01' -H 'content-type: application/json' \
    -d '{"model":"claude-sonnet-4-5","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}' >/dev/null ||
    fail "the request through the gateway failed"
}
subscription_request # the 5-hour window at 70%
spend() { GATEHOUSE_HOME="$work/gatehouse" "$target_dir/debug/gatehouse" spend --since today --json; }
one_request() { spend | grep -q '"requests": 1'; }
wait_until 10 one_request || fail "the request did not reach the ledger"
sleep 2 # the tray refreshes every second
ok "the request landed in the ledger"
open_menu
shot menu-after-a-request
xdotool key Escape

echo "== the 5-hour window crosses 80%: one notification"
five_hour_at() { curl -sf -m 2 "$gateway/status" | jq -e ".rate_limits.windows[\"5h\"].utilization == $1" >/dev/null; }
subscription_request
wait_until 10 five_hour_at 0.76 || fail "the gateway does not show the 5-hour window at 76%"
sleep 2 # the tray refreshes every second
[ "$(times_notified '5-hour window at 80%')" = 0 ] || fail "notified of 80% at 76%"
subscription_request
wait_until 10 notified "5-hour window at 80%" || fail "no notification that the 5-hour window crossed 80%"
subscription_request
wait_until 10 five_hour_at 0.88 || fail "the gateway does not show the 5-hour window at 88%"
sleep 3 # refreshes and requests that repeat the crossing
[ "$(times_notified '5-hour window at 80%')" = 1 ] || fail "the 80% crossing was notified more than once"
grep "^Gatehouse|5-hour window at 80%|" "$work/notifications.log" | grep -q '|[^|]*icons/128x128.png$\||gatehouse-desktop$' ||
  fail "the notification does not carry the app's icon: $(grep '5-hour window' "$work/notifications.log")"
ok "dunst showed \"5-hour window at 80%\" once, for the request that crossed it, under the app's name and icon"
# Its "Open dashboard" action (dunst's default action) opens the window.
dunstctl action 0
wait_until 10 window_shown || fail "the notification's Open dashboard action did not open the window"
close_window "the window opened from a notification"
ok "the notification's Open dashboard action opens the window"

echo "== \"Test connection\" ▸ anthropic"
# Right opens the submenu on its first item, the subscription's upstream.
choose Down Down Down Down Down Right Return
wait_until 20 notified "Connection to anthropic: OK" || fail "no notification with the connection test's result"
grep "^Gatehouse|Connection to anthropic: OK|" "$work/notifications.log" | grep -q "Claude Code is logged in" ||
  fail "the notification does not say Claude Code's login"
ok "Test connection ▸ anthropic asked the subscription's base URL and Claude Code's login, and dunst showed the result"

echo "== the \"Today\" line opens the window"
open_menu
xdotool key Down Return # the first clickable row
wait_until 10 window_shown || fail "the Today line did not open the window"
close_window "the Spend window"
ok "the Today line opens the window, which closes again"

echo "== \"Run gateway\" off"
choose Down Return
wait_until 30 down || fail "the gateway still answers after Run gateway off"
wait_until 15 restored || fail "settings.json was not restored exactly"
ok "gateway stopped and settings.json restored byte for byte"
open_menu
shot menu-proxy-off
xdotool key Escape

echo "== \"Run gateway\" on again"
choose Down Return
wait_until 30 healthy || fail "the gateway did not start again"
wait_until 15 configured || fail "Claude Code was not put back on the gateway"
ok "gateway answers again and Claude Code uses it again"

echo "== fail-open: the gateway stops answering, then recovers"
gateway_pid() { sed -n 's/.*"pid": \([0-9]*\).*/\1/p' "$work/gatehouse/state/gateway.json"; }
gateway_pid="$(gateway_pid)"
kill -STOP "$gateway_pid"
wait_until 30 restored || fail "settings.json was not restored while the gateway did not answer"
wait_until 10 notified "Claude Code bypasses Gatehouse" || fail "no notification that Claude Code bypasses Gatehouse"
shot notification-fail-open
ok "a hung gateway is taken out of settings.json, and dunst shows why"
kill -CONT "$gateway_pid"
wait_until 30 configured || fail "Claude Code was not put back on the gateway after it recovered"
wait_until 10 notified "Claude Code uses Gatehouse again" || fail "no notification that Claude Code uses Gatehouse again"
ok "the recovered gateway is put back in settings.json, and dunst says so"

echo "== the gateway is killed until the supervisor gives up (crash_limit = 3)"
kill -9 "$gateway_pid"
restarted() { [ "$(gateway_pid)" != "$1" ] && healthy; }
wait_until 30 restarted "$gateway_pid" || fail "the killed gateway was not restarted"
ok "a gateway killed with SIGKILL is restarted and answers again"
gateway_pid="$(gateway_pid)"
kill -9 "$gateway_pid"
wait_until 30 restarted "$gateway_pid" || fail "the killed gateway was not restarted a second time"
kill -9 "$(gateway_pid)"
wait_until 30 notified "Gatehouse gateway stopped" || fail "no notification that the gateway stopped"
down || fail "the gateway answers after the supervisor gave up"
wait_until 30 restored || fail "settings.json still points at the stopped gateway"
open_menu
shot menu-crash-loop
xdotool key Escape
ok "after 3 crashes the gateway stays down, Claude Code is restored, and dunst says why"

echo "== \"Restart gateway\""
choose Down Down Down Down Down Down Down Down Return
wait_until 30 healthy || fail "Restart gateway did not bring the gateway back"
wait_until 30 configured || fail "Claude Code was not put back on the restarted gateway"
ok "Restart gateway recovers from the error state, and Claude Code uses it again"

echo "== \"Open dashboard\""
# The restarted gateway brings back the windows it saved, which adds rows to
# the menu (a menu open meanwhile is rebuilt, and closes): let the tray,
# which refreshes every second, settle first.
sleep 2
open_menu
shot menu-restarted
xdotool key Escape
choose Down Down Down Down Down Down Return
wait_until 10 window_shown || fail "the window did not open"
wait_until 10 active_is Gatehouse || fail "the opened window is not the active one"
web_view_exists || fail "no web view runs for the open window"
sleep 2
shot window
ok "the window opened in front"

echo "== a second launch brings the window to the front"
# Another application in front of it, over the same spot.
xmessage -name other-app -title other-app -geometry 400x200+300+200 "another application" >/dev/null 2>&1 &
background+=($!)
wait_until 10 active_is other-app || fail "the other application did not become active"
xdotool windowminimize "$(xdotool search --onlyvisible --name '^Gatehouse$' | head -n 1)"
wait_until 10 window_hidden || fail "the window did not minimise"
first_pid=$app_pid
launch
wait_until 20 app_gone "$app_pid" || fail "a second launch did not hand over to the first"
app_pid=$first_pid
wait_until 10 window_shown || fail "the second launch did not show the window"
wait_until 10 active_is Gatehouse || fail "the second launch did not bring the window to the front"
kill -0 "$app_pid" || fail "the first instance died"
sleep 1 # openbox animates the restore
shot window-after-second-launch
ok "a second launch restores and focuses the first one's window, and exits"

echo "== closing the window keeps the app in the tray"
close_window "the window"
kill -0 "$app_pid" || fail "closing the window ended the app"
healthy || fail "closing the window stopped the gateway"
ok "the window closed, and its process and WebKit processes ended; the app and the gateway run on"

echo "== \"Open logs\""
choose Down Down Down Down Down Down Down Return
wait_until 10 window_shown || fail "Open logs did not show the window"
wait_until 10 active_is Gatehouse || fail "the log window is not the active one"
sleep 1
shot window-logs
# The window shows the log with "open the file" focused: Enter opens it in
# the user's viewer.
xdotool key Return
log_file="$work/gatehouse/logs/gateway.log"
wait_until 10 grep -sqx "$log_file" "$work/opened.log" || fail "the log file was not opened in the viewer"
ok "Open logs shows the gateway log, and its file opens in the user's viewer"
# The app and its window draw without OpenGL (src-tauri's graphics.rs); the
# programs it opens for the user inherit none of that.
for name in GDK_GL WEBKIT_DISABLE_COMPOSITING_MODE WEBKIT_DISABLE_DMABUF_RENDERER WEBKIT_WEB_RENDER_DEVICE_FILE; do
  [ -n "${!name+set}" ] || ! grep -q "^$name=" "$work/opened.env" ||
    fail "the viewer the app opened inherited the app's drawing setting $(grep "^$name=" "$work/opened.env")"
done
# gl_driver PID: the OpenGL driver files the process has mapped, if any.
gl_driver() { grep -oE '[^ ]*(libLLVM|/dri/|libgallium|libGLX_mesa|libEGL_mesa)[^ ]*' "/proc/$1/maps" | sort -u | tr '\n' ' '; }
[ -z "$(gl_driver "$app_pid")" ] || fail "the tray app loaded an OpenGL driver: $(gl_driver "$app_pid")"
for pid in $(window_processes); do
  tr '\0' '\n' <"/proc/$pid/environ" | grep -qx 'WEBKIT_DISABLE_COMPOSITING_MODE=1' ||
    fail "the window's process $pid ($(tr '\0' ' ' <"/proc/$pid/cmdline")) composites with OpenGL"
done
# The window's own process (WebKit's web process still opens OpenGL).
for pid in $(window_pids); do
  [ -z "$(gl_driver "$pid")" ] || fail "the window's process loaded an OpenGL driver: $(gl_driver "$pid")"
done
ok "neither the tray app nor the window's process loads an OpenGL driver, the window's WebKit processes composite without it, and the viewer inherits none of these settings"

echo "== \"Start at login\" on and off, with no ~/.config yet"
autostart_entry() { grep -qs "^Exec=$app *$" "$work"/home/.config/autostart/*.desktop; }
mv "$work/home/.config" "$work/home/config.saved"
choose Down Down Down Down Down Down Down Down Down Return
wait_until 10 autostart_entry || fail "no autostart entry that starts $app"
ok "Start at login writes an autostart entry for the app, creating ~/.config"
choose Down Down Down Down Down Down Down Down Down Return
wait_until 10 eval '! autostart_entry' || fail "the autostart entry is still there"
ok "Start at login off removes it"
mv "$work/home/config.saved/mimeapps.list" "$work/home/.config/"

echo "== \"Keep gateway running after quit\", then \"Quit\""
choose Down Down Down Down Down Down Down Down Down Down Return
sleep 1
gateway_pid="$(gateway_pid)"
choose Up Return
wait_until 30 app_gone "$app_pid" || fail "the app did not quit"
healthy || fail "the gateway stopped although it should keep running"
configured || fail "Claude Code was taken off a gateway that keeps running"
headless_pid() { pgrep -f "gatehouse gateway supervise" | head -n 1; }
wait_until 10 eval 'test -n "$(headless_pid)"' || fail "nobody looks after the gateway the app left running"
ok "after Quit the gateway keeps running, looked after by \`gatehouse gateway supervise\`"
kill -9 "$gateway_pid"
wait_until 30 restarted "$gateway_pid" || fail "the gateway killed while the app was closed was not restarted"
gateway_pid="$(gateway_pid)"
configured || fail "Claude Code does not point at the restarted gateway"
ok "a gateway killed while the app is closed is restarted"

echo "== the next launch takes the gateway back"
headless="$(headless_pid)"
launch
wait_until 30 icon_shown || fail "no tray icon after the relaunch"
wait_until 30 app_gone "$headless" || fail "the headless supervisor did not hand the gateway back"
wait_until 30 healthy || fail "the gateway does not answer after the relaunch"
[ "$(gateway_pid)" = "$gateway_pid" ] || fail "the relaunched app replaced the gateway instead of adopting it"
ok "the relaunched app adopts the gateway, and the headless supervisor exits"
window_hidden || fail "a later launch opened the window by itself"
web_view_exists && fail "a web view was created before the window was opened"
ok "a later launch stays in the tray: no window, no web view until one is opened"
choose Down Down Down Down Down Down Down Down Down Down Return # "Keep gateway running after quit" off again

echo "== \"Quit\""
choose Up Return
wait_until 30 app_gone "$app_pid" || fail "the app did not quit"
down || fail "the gateway still runs after Quit"
restored || fail "settings.json was not restored after Quit"
ok "Quit stopped the gateway and restored settings.json"

login_entry="$work/home/.config/autostart/gatehouse-gateway.desktop"
gatehouse_processes() { pgrep -f "$(realpath "$target_dir/debug/gatehouse") gateway" || true; }
for sig in INT TERM HUP; do
  echo "== SIG$sig ends the app as \"Quit\" does"
  launch
  wait_until 30 icon_shown || fail "no tray icon after the relaunch"
  wait_until 30 healthy || fail "the gateway did not start"
  wait_until 15 configured || fail "Claude Code was not put back on the gateway at launch"
  grep -q -- "gateway supervise --at-login" "$login_entry" || fail "no login entry while Claude Code uses the gateway"
  kill -"$sig" "$app_pid"
  wait_until 20 app_gone "$app_pid" || fail "the app did not end within 20 s of SIG$sig"
  restored || fail "settings.json was not restored after SIG$sig"
  [ ! -e "$login_entry" ] || fail "the login entry outlived Claude Code's use of the gateway"
  # Whatever is left of Gatehouse dies now: Claude Code must not care.
  for pid in $(gatehouse_processes); do kill -9 "$pid" 2>/dev/null || true; done
  down || fail "a gateway answers after SIG$sig"
  restored || fail "settings.json changed after SIG$sig"
  ok "SIG$sig: the app quit, restored settings.json byte for byte and stopped the gateway"
done

echo "== the app killed with SIGKILL: a headless supervisor looks after its gateway"
launch
wait_until 30 icon_shown || fail "no tray icon after the relaunch"
wait_until 30 healthy || fail "the gateway did not start"
wait_until 15 configured || fail "Claude Code was not put back on the gateway at launch"
gateway_pid="$(gateway_pid)"
kill -9 "$app_pid"
wait_until 20 eval 'test -n "$(headless_pid)"' || fail "nobody took over the gateway of the killed app within 20 s"
healthy || fail "the gateway of the killed app stopped answering"
configured || fail "Claude Code was taken off the gateway of the killed app"
ok "within 20 s of the app's SIGKILL, \`gatehouse gateway supervise\` looks after its gateway"
kill -9 "$gateway_pid"
wait_until 30 restarted "$gateway_pid" || fail "the gateway of the killed app was not restarted after a SIGKILL"
configured || fail "Claude Code does not point at the restarted gateway"
ok "and restarts that gateway after a SIGKILL"
headless="$(headless_pid)"
launch
wait_until 30 icon_shown || fail "no tray icon after the relaunch"
wait_until 30 app_gone "$headless" || fail "the headless supervisor did not hand the gateway back"
kill -TERM "$app_pid"
wait_until 20 app_gone "$app_pid" || fail "the app did not end on SIGTERM"
restored || fail "settings.json was not restored after SIGTERM"
ok "the next launch takes the gateway back; SIGTERM then restores Claude Code"

echo "== no display"
no_display_error() {
  local out code=0
  out="$(env -u WAYLAND_DISPLAY "$@" "$app" 2>&1)" || code=$?
  [ "$code" = 1 ] && grep -q "there is no graphical session" <<<"$out" && ! grep -q "panicked" <<<"$out" ||
    fail "without a display ($*): exit $code: $out"
}
no_display_error -u DISPLAY
no_display_error DISPLAY=:4242
ok "without a display the app says so in one sentence, with no panic"

echo "== no tray host, corrupt config.toml"
kill "$trayer_pid"
printf '[gateway]\nport = "not a number"\n' >"$work/gatehouse/config.toml"
launch
wait_until 20 window_shown || fail "no window without a tray host"
sleep 2
shot window-no-tray-corrupt-config
kill -0 "$app_pid" || fail "the app died"
ok "without a tray host the window opens, and the app survives a corrupt config"

first_pid=$app_pid
open_window="$(window_processes)"
[ -n "$open_window" ] || fail "the open window has no process"
launch
wait_until 20 app_gone "$app_pid" || fail "a second launch did not hand over to the first"
kill -0 "$first_pid" || fail "the first instance died"
ok "a second launch hands over to the running app"
kill "$first_pid"
wait_until 20 app_gone "$first_pid" || fail "the app did not end on SIGTERM"
# shellcheck disable=SC2086 # one pid per word
wait_until 10 all_ended $open_window || fail "the window's processes outlived the app"
ok "the open window, its process and its WebKit processes end with the app"

echo "== no session bus at all"
: >"$work/app.log"
launch DBUS_SESSION_BUS_ADDRESS="unix:path=$work/no-such-bus"
wait_until 20 window_shown || fail "no window without a session bus"
wait_until 20 grep -q "notification not shown: no D-Bus session bus" "$work/app.log" ||
  fail "the notification for the config error was not logged as not shown"
sleep 2
kill -0 "$app_pid" || fail "the app died without a session bus"
ok "without a session bus the app runs, shows its window, and logs the notification it could not show"
kill "$app_pid"

[ "$(times_notified '5-hour window at 80%')" = 1 ] || fail "a relaunch notified the same 80% crossing again"
ok "no relaunch notified the same crossing of the same window again"

echo "screenshots: $shots"
echo "tray-test: $passed passed, 0 failed"
