# The OpenClaw container for Cloudflare Containers (linux/amd64 only).
# The base image tag must equal the @cloudflare/sandbox version in package.json
# (checked by the tests); it brings the Sandbox control server.
FROM --platform=linux/amd64 docker.io/cloudflare/sandbox:0.12.10

# Node.js is our own, pinned (= scripts/node24.sh's NODE_PIN, checked by the
# tests): the base image's Node may be 22 and OpenClaw needs >= 24.16. The
# install fails the build, saying so, when the result is older.
ARG NODE_VERSION=24.21.0
COPY container/install-node.sh /container/install-node.sh
RUN sh /container/install-node.sh "$NODE_VERSION"
# npm keeps the base image's prefix and configuration (/usr/local), whichever Node runs it.
ENV PATH=/opt/node/bin:$PATH NPM_CONFIG_PREFIX=/usr/local

# Must equal the `openclaw` version in package.json (checked by the tests), so the
# local mode runs what production runs. OpenClaw's Discord channel plugin, of the
# same version, is installed beside it (loaded only when a Discord bot is connected),
# slimmed to what its text channel loads (container/slim-discord-plugin.sh says why).
ARG OPENCLAW_VERSION=2026.9.6
# Optional: the Claude Code CLI inside the container (adds ~100 MB).
ARG WITH_CLAUDE_CODE=false

# git, gh (GitHub CLI) and jq for the agent's tools; tini as PID 1 (container/init.sh);
# nothing secret is baked in.
RUN apt-get update \
 && apt-get install -y --no-install-recommends git gh jq ca-certificates tini \
 && rm -rf /var/lib/apt/lists/*

COPY container/slim-discord-plugin.sh /container/slim-discord-plugin.sh
RUN node -e 'if (process.execPath !== "/opt/node/bin/node") { console.error("node on PATH is " + process.execPath + ", not the pinned /opt/node/bin/node"); process.exit(1) }' \
 && npm install -g --no-fund --no-audit "openclaw@${OPENCLAW_VERSION}" "@openclaw/discord@${OPENCLAW_VERSION}" \
 && mkdir -p /usr/local/lib/node_modules/@openclaw/discord/node_modules \
 && { [ -e /usr/local/lib/node_modules/@openclaw/discord/node_modules/openclaw ] || ln -s ../../../openclaw /usr/local/lib/node_modules/@openclaw/discord/node_modules/openclaw; } \
 && sh /container/slim-discord-plugin.sh /usr/local/lib/node_modules/@openclaw/discord \
 && if [ "$WITH_CLAUDE_CODE" = "true" ]; then npm install -g --no-fund --no-audit @anthropic-ai/claude-code; fi \
 && npm cache clean --force

# A patch to the pinned OpenClaw, applied before the compile cache is made
# (README: "Patch to OpenClaw: the ESM resolve fast path"): its resolve fast
# path accepts only ".js" specifiers while its chunks import ".mjs" ones. The
# script fails the build unless it changed exactly the expected file.
COPY container/patch-openclaw-fast-path.mjs /container/patch-openclaw-fast-path.mjs
RUN node /container/patch-openclaw-fast-path.mjs

# OpenClaw's state lives under /home: the Sandbox backup API only archives
# /workspace, /home, /tmp, /var/tmp and /app. The gateway listens on the
# container's interface for the Worker (the only way in: Containers have no
# public ingress) and trusts it as its authenticating proxy.
# The Sandbox control server (PID 1) pre-starts pools of code-interpreter
# processes (3 JavaScript + 3 TypeScript in the base image): ~0.3 GB and CPU
# that compete with the gateway's boot on half a vCPU, for an API this project
# does not use.
ENV PYTHON_POOL_MIN_SIZE=0 JAVASCRIPT_POOL_MIN_SIZE=0 TYPESCRIPT_POOL_MIN_SIZE=0

ENV OPENCLAW_HOME=/home/openclaw \
    GATEWAY_BIND=lan \
    GATEWAY_TRUSTED_PROXIES=10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,100.64.0.0/10,127.0.0.1,::1 \
    OPENCLAW_SUPERVISOR_MODE=external

COPY container/start.sh container/configure-openclaw.mjs container/snapshot-state.ts /container/
# The state snapshot used around the Sandbox backup API (SQLite online backup; Node 24 runs TypeScript).
COPY container/host/state-archive.ts /container/host/state-archive.ts
COPY src/contract/state-paths.ts /src/contract/state-paths.ts
RUN chmod 0755 /container/start.sh
# The ChatGPT/Codex subscription's sign-in (POST /api/login): OpenClaw's own device-code command, run in a
# pseudo-terminal (util-linux `script`). Everything it and the subscription's turns need is in this image:
# openai/* turns run on OpenClaw's embedded runtime (configure-openclaw.mjs), never on the Codex app-server
# plugin OpenClaw would install from a registry at wake.
COPY container/model-login.sh /container/model-login.sh
RUN chmod 0755 /container/model-login.sh \
 && command -v script && command -v setsid && command -v xargs

COPY container/compile-cache.mjs /container/compile-cache.mjs
# Boot the gateway once at build time: validates the generated configuration
# against this OpenClaw version and fills the compile cache OpenClaw's
# launcher uses (under $TMPDIR, /tmp here as in the container), so a wake
# does not compile OpenClaw's modules again. No NODE_COMPILE_CACHE and no
# NODE_OPTIONS: the first makes the launcher re-execute itself into another
# directory, the second changes the cache's key (README: "Cold start").
RUN node /container/compile-cache.mjs warm
# Boot it once more and fail the build unless >= 95 % of its compile-cache
# reads are accepted (NODE_DEBUG_NATIVE=COMPILE_CACHE counts them).
RUN node /container/compile-cache.mjs check --min 0.95

# The OpenClaw gateway.
EXPOSE 18789 18790

# PID 1: tini, then container/init.sh in front of the Sandbox control server.
# It holds a SIGTERM the platform sends on its own (a rollout, a host move)
# until the Agent has drained the gateway and taken its final backup.
COPY container/init.sh /container/init.sh
ENTRYPOINT ["/usr/bin/tini", "--", "/container/init.sh", "/container-server/sandbox"]
