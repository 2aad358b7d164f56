#!/bin/sh
# Slims OpenClaw's Discord channel plugin (@openclaw/discord, installed with its
# bundled dependencies) to what its text channel loads: OpenClaw copies a
# non-bundled plugin's whole package, dependencies included, into a capture at
# every load (twice per gateway start), so each megabyte here is paid at every
# wake (68 MB as published, 31 MB slimmed). Dropped: type declarations and
# source maps (never executed; the @types packages stay, emptied) and the native
# voice-encryption builds of other platforms (voice needs the bot's gateway
# session, which only the Worker's relay holds).
# Every declared dependency stays, even an unused one or one of types only:
# OpenClaw refuses a plugin whose dependency tree lacks one. Idempotent.
# Usage: slim-discord-plugin.sh <the plugin's directory>
set -eu
dir=${1:?usage: slim-discord-plugin.sh <plugin directory>}
modules="$dir/node_modules"
[ -d "$modules" ] || exit 0
platform=$(node -p 'process.platform + "-" + process.arch')
for build in "$modules"/@snazzah/davey-*; do
  [ -e "$build" ] || continue
  case "$(basename "$build")" in
    "davey-$platform" | "davey-$platform"-*) ;;
    *) rm -rf "$build" ;;
  esac
done
find "$modules" -type f \( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.map' \) -delete
