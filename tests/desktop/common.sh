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
# A loopback port nothing listens on, below the ephemeral range (32768+).
free_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 12000))
    ss -ltnH "sport = :$port" | grep -q . || { echo "$port"; return; }
  done
}
