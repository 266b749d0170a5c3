# Helpers shared by the scripts that drive the real desktop app
# (run-tray-test.sh, ../package/run-package-test.sh). Source it after setting
# `test_name` (what the summary line is called), `work` (the scratch
# directory holding app.log), `shots` (where screenshots go) and `passed=0`.

# fail MESSAGE: says what failed, with the app's last log lines and a
# screenshot, and ends the test.
fail() {
  echo "FAILED: $*" >&2
  echo "--- app log ($work/app.log)" >&2
  tail -n 40 "$work/app.log" >&2 || true
  shot failure || true
  echo "$test_name: $passed passed, 1 failed"
  exit 1
}
ok() {
  passed=$((passed + 1))
  echo "ok: $*"
}
shot_number=0
# shot NAME: a screenshot of the whole screen, numbered in order.
shot() {
  shot_number=$((shot_number + 1))
  local file
  file="$shots/$(printf '%02d' "$shot_number")-$1.png"
  /usr/bin/import -window root "$file"
  echo "screenshot: $file"
}
# wait_until SECONDS COMMAND...: polls until the command succeeds.
wait_until() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}
# start_desktop: a virtual screen (Xvfb, 1024x768), a session bus, a window
# manager (openbox) and a tray host (trayer, its pid in `trayer_pid`). Each
# process goes on the caller's `background` list, which it ends on exit.
start_desktop() {
  local display=99
  while [ -e "/tmp/.X11-unix/X$display" ] || [ -e "/tmp/.X$display-lock" ]; do display=$((display + 1)); done
  Xvfb ":$display" -screen 0 1024x768x24 -nolisten tcp >"$work/xvfb.log" 2>&1 &
  background+=($!)
  export DISPLAY=":$display"
  wait_until 10 xdpyinfo >/dev/null 2>&1 || fail "Xvfb did not start"
  eval "$(dbus-launch --sh-syntax)"
  openbox >"$work/openbox.log" 2>&1 &
  background+=($!)
  trayer --edge top --align right --widthtype request --height 32 --tint 0x334455 --transparent true --alpha 0 \
    >"$work/trayer.log" 2>&1 &
  trayer_pid=$!
  background+=("$trayer_pid")
}
# A loopback port nothing listens on, below the ephemeral range (32768+).
free_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 12000))
    ss -ltnH "sport = :$port" | grep -q . || { echo "$port"; return; }
  done
}

# The tray menu. `gateway` is the gateway's base URL.
tray_icon() { xdotool search --class 'tray-icon tray app gatehouse' 2>/dev/null | head -n 1; }
icon_shown() { test -n "$(tray_icon)"; }
app_gone() { ! kill -0 "$1" 2>/dev/null; }
open_menu() {
  xdotool mousemove --window "$(tray_icon)" 16 15 click 1
  sleep 1
}
# The clickable rows above "Run gateway": "Today …" (it opens the Spend page) and
# one per subscription window the tray shows (they open the Windows page),
# which it shows while the gateway answers /status with them.
header_rows() {
  local windows
  windows="$(curl -sf -m 2 "$gateway/status" 2>/dev/null |
    jq '[(.rate_limits.windows // {})[] | select(.utilization != null or .status == "rejected")] | length' \
      2>/dev/null || true)"
  echo $((1 + ${windows:-0}))
}
# choose KEYS...: opens the menu and presses the keys. GTK skips disabled
# rows; when the keys start with "Down", the header rows are passed first,
# so "Down" lands on "Run gateway", then "Claude Code uses Gatehouse", the
# Claude login, "Sign in to OpenRouter…", the "Test connection" submenu,
# "Open dashboard", "Open logs",
# "Restart gateway", "Start at login", "Keep gateway running after quit".
choose() {
  local rows=0 i
  [ "$1" != Down ] || rows="$(header_rows)"
  open_menu
  for ((i = 0; i < rows; i++)); do xdotool key Down; done
  xdotool key "$@"
  sleep 0.5
}
