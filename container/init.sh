#!/bin/sh
# The container's init, run by tini (PID 1) in front of the Sandbox control
# server: it holds a SIGTERM the platform sends on its own (a rollout of a new
# deploy, a host move) until the Agent has drained the gateway and taken its
# final backup, instead of letting the control server kill the gateway within
# a second and lose what it had not backed up yet.
#
# - The Agent's own stops write $STOP_EXPECTED first (SandboxRuntime), so
#   their SIGTERM goes on to the control server at once.
# - Any other SIGTERM writes $TERMINATING (its time) and is held: the Agent
#   reads that file at its next health check and runs a sleep's stop
#   sequence (drain, final backup, stop), whose SIGTERM then goes on. A
#   second SIGTERM from outside, or TERMINATION_HOLD seconds (default 600,
#   below the platform's 15 minutes before SIGKILL), ends the hold.
# Usage (Dockerfile ENTRYPOINT): tini -- /container/init.sh /container-server/sandbox
set -u
MARKS=${BOOT_MARKS_DIR:-/tmp/openclaw-boot}
TERMINATING="$MARKS/terminating"
STOP_EXPECTED="$MARKS/stop-expected"
HOLD=${TERMINATION_HOLD:-600}

rm -f "$TERMINATING" "$STOP_EXPECTED"
"$@" &
child=$!

forward() {
  kill -TERM "$child" 2>/dev/null
}

on_term() {
  if [ -e "$STOP_EXPECTED" ] || [ -e "$TERMINATING" ]; then
    forward
    return
  fi
  mkdir -p "$MARKS"
  date -u +%Y-%m-%dT%H:%M:%S.000Z >"$TERMINATING.tmp" && mv "$TERMINATING.tmp" "$TERMINATING"
  echo "init: SIGTERM from the platform held for the Agent's drain and backup (at most ${HOLD} s)" >&2
  (sleep "$HOLD" && kill -TERM $$) &
}

trap on_term TERM
trap forward INT

status=0
while :; do
  wait "$child"
  status=$?
  kill -0 "$child" 2>/dev/null || break
done
exit "$status"
