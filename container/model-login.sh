#!/bin/sh
# Signs the gateway in to the operator's ChatGPT/Codex subscription with
# OpenClaw's own device-code flow (`openclaw models auth login --provider
# openai --device-code`), which stores the sign-in in OpenClaw's state (the
# home the backups keep).
#
#   model-login.sh start   starts a sign-in in the background (ends one under way first)
#   model-login.sh cancel  ends the one under way
#
# The command wants a terminal: it runs under `script` (a pseudo-terminal) with
# the gateway's own environment (read from the gateway's /proc/PID/environ:
# the same state directory, proxy and CA settings), so what it stores is what
# the gateway reads. Its output goes to model-login.log beside the boot status,
# ending with a line `__exit <status>` (`cancelled`, or `ended` when the
# gateway stopped first); the Agent reads that file (as input
# from an untrusted container: it takes only the user code and the outcome).
set -u
BOOT_STATUS_FILE=${BOOT_STATUS_FILE:-/tmp/openclaw-boot/status.json}
DIR=$(dirname "$BOOT_STATUS_FILE")
LOG="$DIR/model-login.log"
PID_FILE="$DIR/model-login.pid"
GATEWAY_PID=$(cat "$DIR/gateway.pid" 2>/dev/null || true)

stop_running() {
  pid=$(cat "$PID_FILE" 2>/dev/null || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM -"$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
  fi
  rm -f "$PID_FILE"
}

case "${1:-}" in
  start)
    if [ -z "$GATEWAY_PID" ] || [ ! -r "/proc/$GATEWAY_PID/environ" ]; then
      echo "the gateway is not running: wake the assistant first" >&2
      exit 2
    fi
    stop_running
    : > "$LOG"
    # setsid: its own process group, so a cancel ends the command and what it started. It also
    # ends with the gateway (a sleep, a crash): a sign-in outliving its gateway would store into a home
    # no gateway reads until the next wake restores an older one.
    setsid sh -c '
      xargs -0 -x -a "/proc/$1/environ" sh -c '"'"'exec env -i "$@" script -qfec "openclaw models auth login --provider openai --device-code" /dev/null'"'"' login &
      login=$!
      while kill -0 "$1" 2>/dev/null && kill -0 "$login" 2>/dev/null; do sleep 1; done
      if kill -0 "$login" 2>/dev/null; then echo "__exit ended"; kill -TERM 0; fi
      wait "$login"
      status=$?
      # The CLI cannot make a gateway in trusted-proxy mode read the new sign-in: ask it as an internal
      # client (the gateway password of the environment), so its next turn uses the sign-in.
      if [ "$status" = 0 ]; then
        xargs -0 -x -a "/proc/$1/environ" sh -c '"'"'exec env -i "$@" openclaw gateway call models.authRefresh --params "{\"operation\":\"login\"}" --json --timeout 15000'"'"' refresh \
          && echo "__refreshed" || echo "__refresh_failed"
      fi
      echo "__exit $status"
    ' model-login "$GATEWAY_PID" >> "$LOG" 2>&1 < /dev/null &
    echo $! > "$PID_FILE"
    echo "started"
    ;;
  cancel)
    stop_running
    echo "__exit cancelled" >> "$LOG"
    echo "cancelled"
    ;;
  *)
    echo "usage: model-login.sh start|cancel" >&2
    exit 2
    ;;
esac
