#!/usr/bin/env bash
# Measures the desktop app for docs/BENCHMARKS.md: the time from launching
# it to its gateway answering GET /health (5 launches), and its memory
# (VmRSS) idle before the window is first opened, with it open, and after it
# is closed again. Runs the release build under Xvfb with openbox as the
# window manager and trayer as the tray host, in a temporary home.
#   cargo build --release -p gatehouse -p gatehouse-desktop && tests/desktop/measure.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

target_dir="${CARGO_TARGET_DIR:-target}"
profile="${GATEHOUSE_PROFILE:-release}"
app="$(realpath "$target_dir/$profile/gatehouse-desktop")"
work="$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-measure.XXXXXX")"
background=()
cleanup() {
  for pid in "${background[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [ -n "${DBUS_SESSION_BUS_PID:-}" ]; then kill "$DBUS_SESSION_BUS_PID" 2>/dev/null || true; fi
}
trap cleanup EXIT

display=99
while [ -e "/tmp/.X11-unix/X$display" ]; do display=$((display + 1)); done
Xvfb ":$display" -screen 0 1024x768x24 -nolisten tcp >"$work/xvfb.log" 2>&1 &
background+=($!)
export DISPLAY=":$display"
until xdpyinfo >/dev/null 2>&1; do sleep 0.1; done
eval "$(dbus-launch --sh-syntax)"
openbox >"$work/openbox.log" 2>&1 &
background+=($!)
trayer --edge top --align right --widthtype request --height 32 >"$work/trayer.log" 2>&1 &
background+=($!)

port=$((20000 + RANDOM % 12000)) # below the ephemeral range (32768+)
mkdir -p "$work/gatehouse"
printf '[gateway]\nport = %s\n' "$port" >"$work/gatehouse/config.toml"
now_ms() { date +%s%3N; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
# Private memory only (RssAnon): what the app costs beyond the shared GTK and WebKit libraries.
anon_kb() { awk '/^RssAnon/ {print $2}' "/proc/$1/status"; }
# The app and its WebKit helper processes (web content, network); not the
# gateway, its other child, which docs/BENCHMARKS.md measures on its own.
tree_rss_kb() {
  local total pid
  total=$(rss_kb "$1")
  for pid in $(pgrep -P "$1"); do
    case "$(cat "/proc/$pid/comm")" in WebKit*) total=$((total + $(rss_kb "$pid"))) ;; esac
  done
  echo "$total"
}
run_app() {
  env NO_AT_BRIDGE=1 HOME="$work" GATEHOUSE_HOME="$work/gatehouse" CLAUDE_CONFIG_DIR="$work/claude" \
    GATEHOUSE_CLAUDE_BIN=/bin/false "$app" >>"$work/app.log" 2>&1 &
  app_pid=$!
}
quit_app() {
  kill -TERM "$app_pid"
  wait "$app_pid" 2>/dev/null || true
  # SIGTERM ends the app without its quit path; stop the gateway it left.
  local gateway_pid
  gateway_pid="$(sed -n 's/.*"pid": \([0-9]*\).*/\1/p' "$work/gatehouse/state/gateway.json" 2>/dev/null || true)"
  if [ -n "$gateway_pid" ]; then kill -TERM "$gateway_pid" 2>/dev/null || true; fi
  while curl -sf -m 1 "http://127.0.0.1:$port/health" >/dev/null; do sleep 0.1; done
}

echo "launch to gateway ready (ms):"
for _ in 1 2 3 4 5; do
  start=$(now_ms)
  run_app
  until curl -sf -m 1 "http://127.0.0.1:$port/health" >/dev/null; do sleep 0.01; done
  echo "  $(($(now_ms) - start))"
  quit_app
done

run_app
until curl -sf -m 1 "http://127.0.0.1:$port/health" >/dev/null; do sleep 0.1; done
sleep 10
echo "idle, window never opened: app $(($(rss_kb "$app_pid") / 1024)) MiB (private $(($(anon_kb "$app_pid") / 1024)) MiB); with WebKit processes $(($(tree_rss_kb "$app_pid") / 1024)) MiB"
icon="$(xdotool search --class 'tray-icon tray app gatehouse' | head -n 1)"
xdotool mousemove --window "$icon" 16 15 click 1
sleep 1
xdotool key Down Down Down Down Return # "Open dashboard"
sleep 10
echo "idle, window open:   app $(($(rss_kb "$app_pid") / 1024)) MiB (private $(($(anon_kb "$app_pid") / 1024)) MiB); with WebKit processes $(($(tree_rss_kb "$app_pid") / 1024)) MiB"
wmctrl -c Gatehouse
sleep 10
echo "idle, window closed: app $(($(rss_kb "$app_pid") / 1024)) MiB (private $(($(anon_kb "$app_pid") / 1024)) MiB); with WebKit processes $(($(tree_rss_kb "$app_pid") / 1024)) MiB"
quit_app
