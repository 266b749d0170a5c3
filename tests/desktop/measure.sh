#!/usr/bin/env bash
# Measures the desktop app for docs/BENCHMARKS.md: the time from launching
# it to its gateway answering GET /health (5 launches); the time from asking
# for the window to the Overview having painted its figures from the ledger
# (5 launches, first open and a reopen); and the memory (RSS and PSS, the app
# and its WebKit processes) idle before the window is first opened, open on
# the Overview, open on Spend (30 days by session), and 10 s and 60 s after
# it is closed again. Runs the release build under Xvfb with openbox as the
# window manager and trayer as the tray host, in a temporary home.
#   cargo build --release -p gatehouse -p gatehouse-desktop && tests/desktop/measure.sh
# GATEHOUSE_MEASURE_LEDGER=<ledger.sqlite3> copies that ledger into the home
# first (e.g. the ledger bench's million rows, kept with GATEHOUSE_BENCH_HOME).
set -euo pipefail
cd "$(dirname "$0")/../.."

target_dir="${CARGO_TARGET_DIR:-target}"
profile="${GATEHOUSE_PROFILE:-release}"
app="$(realpath "$target_dir/$profile/gatehouse-desktop")"
work="$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-measure.XXXXXX")"
background=()
app_pid=""
cleanup() {
  if [ -n "$app_pid" ] && kill -0 "$app_pid" 2>/dev/null; then quit_app; fi
  for pid in "${background[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [ -n "${DBUS_SESSION_BUS_PID:-}" ]; then kill "$DBUS_SESSION_BUS_PID" 2>/dev/null || true; fi
}
trap cleanup EXIT

test_name=measure
shots="$work"
passed=0
# shellcheck source=tests/desktop/common.sh
source tests/desktop/common.sh
start_desktop

port=$((20000 + RANDOM % 12000)) # below the ephemeral range (32768+)
mkdir -p "$work/gatehouse/data"
if [ -n "${GATEHOUSE_MEASURE_LEDGER:-}" ]; then
  cp "$GATEHOUSE_MEASURE_LEDGER" "$work/gatehouse/data/ledger.sqlite3"
fi
printf '[gateway]\nport = %s\n' "$port" >"$work/gatehouse/config.toml"
now_ms() { date +%s%3N; }
mib() { echo $((($1 + 512) / 1024)); }
field_kb() { awk -v f="$2:" '$1 == f {print $2}' "$1"; }
# The window's processes: the window's own (`gatehouse-desktop --window`,
# started when it opens) and the WebKit processes it starts (web content,
# network). Not the gateway, the app's other child, which docs/BENCHMARKS.md
# measures on its own.
window_pids() {
  local pid
  for pid in $(pgrep -P "$app_pid" -f -- ' --window' || true); do
    echo "$pid"
    pgrep -P "$pid" || true
  done
}
# One table row: the tray app's RSS, its private part (RssAnon: beyond the
# shared GTK and WebKit libraries) and its PSS (shared pages divided among
# the processes mapping them, so the sum over processes does not count the
# libraries twice); the same summed over the window's processes; and the
# totals.
memory_row() {
  local app_rss app_anon app_pss win_rss=0 win_pss=0 pid
  app_rss=$(field_kb "/proc/$app_pid/status" VmRSS)
  app_anon=$(field_kb "/proc/$app_pid/status" RssAnon)
  app_pss=$(field_kb "/proc/$app_pid/smaps_rollup" Pss)
  for pid in $(window_pids); do
    win_rss=$((win_rss + $(field_kb "/proc/$pid/status" VmRSS)))
    win_pss=$((win_pss + $(field_kb "/proc/$pid/smaps_rollup" Pss)))
  done
  echo "| $1 | $(mib "$app_rss") | $(mib "$app_anon") | $(mib "$app_pss") | $(mib "$win_rss") | $(mib "$win_pss") | $(mib $((app_rss + win_rss))) | $(mib $((app_pss + win_pss))) | $(window_pids | wc -l) |"
}
app_vars=(NO_AT_BRIDGE=1 HOME="$work" GATEHOUSE_HOME="$work/gatehouse" CLAUDE_CONFIG_DIR="$work/claude"
  GATEHOUSE_CLAUDE_BIN=/bin/false)
handovers=0
run_app() {
  # The paint target's debug level makes the page report when the Overview
  # painted (see src-tauri's window.rs); it costs one IPC call per window.
  # A simple command, not a function: `env` then execs the app, so $! is
  # the app's pid. (A function run with & is a subshell of its own, which
  # SIGTERM would end instead of the app, leaving the app running.)
  env "${app_vars[@]}" GATEHOUSE_LOG=info,gatehouse_desktop::paint=debug "$app" >>"$work/app.log" 2>&1 &
  app_pid=$!
  until curl -sf -m 1 "http://127.0.0.1:$port/health" >/dev/null; do
    if ! kill -0 "$app_pid" 2>/dev/null; then
      # The last instance's single-instance name on the session bus can
      # outlive it for a moment; this launch handed over to it and exited.
      echo "  (a launch handed over to the last instance; launching again)" >&2
      handovers=$((handovers + 1))
      if [ "$handovers" -gt 10 ]; then
        echo "error: 10 launches in a row handed over; is another Gatehouse running? $(pgrep -a gatehouse-desk)" >&2
        tail -n 20 "$work/app.log" >&2
        exit 1
      fi
      sleep 1
      start=$(now_ms)
      run_app
      return
    fi
    sleep 0.01
  done
  handovers=0
}
quit_app() {
  # SIGTERM ends the app as "Quit" does: it stops the gateway.
  kill -TERM "$app_pid"
  wait "$app_pid" 2>/dev/null || true
  while curl -sf -m 1 "http://127.0.0.1:$port/health" >/dev/null; do sleep 0.1; done
  sleep 1
}
# "Open dashboard": a second launch hands over to the running app, which
# calls the same show_window as the tray item (no panel: the Overview). The
# tray menu's rows depend on the data (window lines), so keys would not
# reliably reach that item.
open_dashboard() { env "${app_vars[@]}" "$app" >>"$work/second-launch.log" 2>&1; }
# Waits for the page's paint report after the window was opened and prints
# its milliseconds.
painted_ms() {
  local before=$1 deadline=$(($(now_ms) + 60000))
  until [ "$(grep -c 'painted the Overview' "$work/app.log")" -gt "$before" ]; do
    if [ "$(now_ms)" -gt "$deadline" ]; then echo "no paint report in 60 s" >&2; exit 1; fi
    sleep 0.05
  done
  # "T (P)": painted after T ms; the page itself began loading after P ms.
  grep 'painted the Overview' "$work/app.log" | tail -n 1 |
    sed -E 's/.* ([0-9]+) ms after the window.* after ([0-9]+) ms\).*/\1 (\2)/'
}
paint_count() { grep -c 'painted the Overview' "$work/app.log" || true; }
close_window() {
  wmctrl -c Gatehouse
  while wmctrl -l | grep -q ' Gatehouse$'; do sleep 0.1; done
}

echo "launch to gateway ready (ms):"
for _ in 1 2 3 4 5; do
  start=$(now_ms)
  run_app
  echo "  $(($(now_ms) - start))"
  quit_app
done

# A kept ledger may need migrating and its rollup building on the first
# open: one untimed round first.
run_app
before=$(paint_count)
open_dashboard
painted_ms "$before" >/dev/null
close_window
quit_app

echo "Open dashboard to the Overview's figures painted, ms (in brackets: when the page began loading): first open after launch, reopen"
for _ in 1 2 3 4 5; do
  run_app
  sleep 3
  before=$(paint_count)
  open_dashboard
  first=$(painted_ms "$before")
  close_window
  sleep 2
  before=$(paint_count)
  open_dashboard
  echo "  $first, $(painted_ms "$before")"
  close_window
  quit_app
done

echo "memory (MiB):"
echo "| state | tray app RSS | tray app private | tray app PSS | window processes RSS | window processes PSS | total RSS | total PSS | window processes |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
run_app
sleep 10
memory_row "idle, window never opened"
before=$(paint_count)
open_dashboard
painted_ms "$before" >/dev/null
sleep 10
memory_row "open, Overview"
per_process="$(for pid in $(window_pids); do
  echo "$(cut -c1-15 "/proc/$pid/comm") $(mib "$(field_kb "/proc/$pid/status" VmRSS)") / $(mib "$(field_kb "/proc/$pid/smaps_rollup" Pss)")"
done | paste -sd ';' | sed 's/;/; /g')"
# The tray's second row ("Today: ...") opens Spend (30 days by model).
icon="$(xdotool search --class 'tray-icon tray app gatehouse' | head -n 1)"
xdotool mousemove --window "$icon" 16 15 click 1
sleep 1
xdotool key Down Return
sleep 3
# Group by session: the page has the focus; Tab passes the four range
# buttons and the two dates' month, day and year fields, then the Breakdown's
# Model and Project buttons.
xdotool key --delay 50 Tab Tab Tab Tab Tab Tab Tab Tab Tab Tab Tab Tab Tab space
sleep 10
memory_row "open, Spend (30 days by session)"
if [ -n "${MEASURE_SCREENSHOT:-}" ]; then import -window root "$MEASURE_SCREENSHOT"; fi
close_window
sleep 10
echo "(open, Overview, per window process, RSS / PSS MiB: $per_process)"
memory_row "closed, 10 s after"
sleep 50
memory_row "closed, 60 s after"
quit_app
