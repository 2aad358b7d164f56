#!/bin/sh
# Starts OpenClaw inside the container (or on the host, in local mode):
#   restoring → configuring → starting-gateway, then the gateway replaces
#   this shell (exec), so the platform's SIGTERM reaches it directly.
# Each phase is written to $BOOT_STATUS_FILE (contract: src/contract/boot-status.ts).
# A failure is written there too, with a code and a message, before exiting
# non-zero: a boot that cannot succeed fails fast and visibly.
#
# Environment (all optional unless noted):
#   BOOT_STATUS_FILE    where phases are written (default /tmp/openclaw-boot/status.json)
#   GATEWAY_PID_FILE    where the gateway's PID is written (default: gateway.pid beside the status file),
#                       so a stop can send the gateway its SIGTERM and wait for its drain
#   GATEWAY_PORT        port of the gateway (default 18789)
#   GATEWAY_BIND        loopback (local mode) or lan (container; default loopback)
#   GATEWAY_TRUSTED_PROXIES  comma list of proxy addresses/CIDRs the gateway trusts
#   OPENCLAW_HOME       OpenClaw's home (default /home/openclaw: inside the backup-able tree)
#   OPENCLAW_STATE_DIR  OpenClaw's state directory (default $OPENCLAW_HOME/.openclaw)
#   ANTHROPIC_API_KEY / OPENAI_API_KEY / OPENAI_BASE_URL + OPENAI_MODEL / OPENCLAW_MODEL
#                       the model provider (see container/configure-openclaw.mjs)
#   GATEWAY_COMMAND     command that runs the gateway instead of `openclaw gateway run`
#                       (the local mode's stand-in gateway uses it; then nothing is configured)
#   BROWSER_CDP_URL     the agent's browser is this CDP endpoint (production: Browser Rendering through the Agent)
#   BROWSER_EXECUTABLE  else a local Chromium the gateway launches itself (local mode); neither: no browser
#   GATEWAY_PROXY_HEADER  local mode: a header the gateway requires of every proxied request (its name is the run's secret)
#   BOOT_FAIL_AT        test hook: fail at this phase with code `injected_failure`
# Secrets (the gateway token, model keys, BROWSER_CDP_URL, GATEWAY_PROXY_HEADER) stay in the
# environment: openclaw.json names them as ${VAR} and the gateway, which inherits it, resolves them.
set -u

BOOT_STATUS_FILE=${BOOT_STATUS_FILE:-/tmp/openclaw-boot/status.json}
GATEWAY_PID_FILE=${GATEWAY_PID_FILE:-$(dirname "$BOOT_STATUS_FILE")/gateway.pid}
GATEWAY_PORT=${GATEWAY_PORT:-18789}
OPENCLAW_HOME=${OPENCLAW_HOME:-/home/openclaw}
OPENCLAW_STATE_DIR=${OPENCLAW_STATE_DIR:-$OPENCLAW_HOME/.openclaw}
SCRIPT_DIR=$(cd "$(dirname "$0")" && pwd)
export GATEWAY_PORT OPENCLAW_HOME OPENCLAW_STATE_DIR BOOT_STATUS_FILE

json_escape() {
  printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' | tr '\n\r\t' '   '
}

write_status() {
  dir=$(dirname "$BOOT_STATUS_FILE")
  mkdir -p "$dir" || return 1
  printf '%s\n' "$1" > "$BOOT_STATUS_FILE.tmp.$$" && mv -f "$BOOT_STATUS_FILE.tmp.$$" "$BOOT_STATUS_FILE"
}

# The version of the contract with the Agent (src/contract/boot-status.ts,
# CONTAINER_CONTRACT_VERSION): written with every status, so an Agent that
# meets a container of another version during a deploy's rollout says so.
CONTRACT_VERSION=2

# When each phase began, for the boot's timeline (GNU date: milliseconds); the browser set up (after configuring).
TIMELINE=""
BROWSER_JSON=""
phase() {
  now=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
  echo "[boot] phase=$1"
  TIMELINE="${TIMELINE:+$TIMELINE,}\"$1\":\"$now\""
  write_status "{\"phase\":\"$1\",\"at\":\"$now\",\"contract\":$CONTRACT_VERSION,\"timeline\":{$TIMELINE}${BROWSER_JSON:+,\"browser\":$BROWSER_JSON}}" || echo "[boot] cannot write $BOOT_STATUS_FILE" >&2
  if [ "${BOOT_FAIL_AT:-}" = "$1" ]; then fail injected_failure "failure injected at phase $1" false; fi
}

# fail CODE MESSAGE [RETRYABLE=false]
fail() {
  now=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
  echo "[boot] failed: $1: $2" >&2
  write_status "{\"phase\":\"failed\",\"at\":\"$now\",\"contract\":$CONTRACT_VERSION,\"error\":{\"code\":\"$1\",\"message\":\"$(json_escape "$2")\"},\"retryable\":${3:-false}}"
  exit 1
}

phase restoring
# Backups are restored here before anything else touches the state directory.

phase configuring
mkdir -p "$OPENCLAW_STATE_DIR" || fail state_dir_unwritable "cannot create $OPENCLAW_STATE_DIR"
if [ -n "${GATEWAY_COMMAND:-}" ]; then
  phase starting-gateway
  echo $$ > "$GATEWAY_PID_FILE"
  exec sh -c "exec $GATEWAY_COMMAND"
fi
command -v openclaw >/dev/null 2>&1 || fail openclaw_missing "the openclaw CLI is not installed in this image" false
command -v node >/dev/null 2>&1 || fail node_missing "node is not installed in this image" false
# OpenClaw's Discord channel plugin is installed beside openclaw (npm's global prefix in the image, the
# project's node_modules in the local mode); configure-openclaw.mjs loads it when a Discord bot is connected.
if [ -z "${OPENCLAW_DISCORD_PLUGIN:-}" ]; then
  OPENCLAW_DISCORD_PLUGIN="$(dirname "$(dirname "$(readlink -f "$(command -v openclaw)")")")/@openclaw/discord"
  export OPENCLAW_DISCORD_PLUGIN
fi
# Internal clients (CLI, the browser plugin's control routes) authenticate with a
# gateway password. Without one, OpenClaw's browser service generates a password
# at its first use and writes it into openclaw.json, which restarts the gateway
# in the middle of the agent's first browser call (and leaves a secret in the
# home). So there is always one: the gateway token when given, else one for this
# boot only, in the gateway's environment (openclaw.json holds a reference).
if [ -z "${OPENCLAW_GATEWAY_TOKEN:-}" ] && [ -z "${OPENCLAW_GATEWAY_PASSWORD:-}" ]; then
  OPENCLAW_GATEWAY_PASSWORD=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')
  export OPENCLAW_GATEWAY_PASSWORD
fi
# configure-openclaw.mjs prints one JSON line {code,message} on stderr when it cannot configure.
if ! node "$SCRIPT_DIR/configure-openclaw.mjs" 2>"$OPENCLAW_STATE_DIR/.configure-error"; then
  err=$(tail -n 1 "$OPENCLAW_STATE_DIR/.configure-error")
  code=$(printf '%s' "$err" | sed -n 's/.*"code":"\([a-z_]*\)".*/\1/p')
  msg=$(printf '%s' "$err" | sed -n 's/.*"message":"\(.*\)","retryable".*/\1/p')
  fail "${code:-config_failed}" "${msg:-configuring OpenClaw failed: $err}" false
fi
rm -f "$OPENCLAW_STATE_DIR/.configure-error"
# The browser the configure step set up for the agent ({mode, detail}), shown in the status from here on.
BROWSER_JSON=$(cat "$(dirname "$BOOT_STATUS_FILE")/browser.json" 2>/dev/null | tr -d '\n')

# The gateway runs in trusted-proxy mode, which refuses a shared token: the
# gateway token becomes the password of internal clients (CLI, health checks).
if [ -n "${OPENCLAW_GATEWAY_TOKEN:-}" ]; then
  OPENCLAW_GATEWAY_PASSWORD=$OPENCLAW_GATEWAY_TOKEN
  export OPENCLAW_GATEWAY_PASSWORD
  unset OPENCLAW_GATEWAY_TOKEN
fi
# OPENAI_BASE_URL / OPENAI_MODEL are the configure step's inputs (the `compat` provider holds the URL and the
# model id). OpenClaw itself reads OPENAI_BASE_URL as the endpoint of its own `openai` provider, which would move
# openai/* — and the ChatGPT/Codex subscription's sign-in, which needs OpenAI's own endpoint — off OpenAI.
# With an endpoint, OPENAI_API_KEY is that endpoint's key: the gateway gets it as OPENAI_COMPAT_API_KEY (what the
# compat provider names), never as OPENAI_API_KEY, which OpenClaw's own openai provider would send to OpenAI — and use
# instead of the subscription's sign-in.
if [ -n "${OPENAI_BASE_URL:-}" ] && [ -n "${OPENAI_API_KEY:-}" ]; then
  OPENAI_COMPAT_API_KEY=$OPENAI_API_KEY
  export OPENAI_COMPAT_API_KEY
  unset OPENAI_API_KEY
fi
unset OPENAI_BASE_URL OPENAI_MODEL
# This script and the Agent own the gateway's lifecycle: no self-update, no
# lingering triage after a failed start (it exits, and the Agent sees why).
OPENCLAW_SUPERVISOR_MODE=external
export OPENCLAW_SUPERVISOR_MODE

phase starting-gateway
# exec keeps this PID: the file names the gateway itself.
echo $$ > "$GATEWAY_PID_FILE"
exec openclaw gateway run --port "$GATEWAY_PORT"
