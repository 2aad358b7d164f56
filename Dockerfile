# The OpenClaw container for Cloudflare Containers (linux/amd64 only).
# The base image tag must equal the @cloudflare/sandbox version in package.json
# (checked by the tests); it brings the Sandbox control server and Node 24.
FROM --platform=linux/amd64 docker.io/cloudflare/sandbox:0.12.10

ARG OPENCLAW_VERSION=2026.9.6
# Optional: the Claude Code CLI inside the container (adds ~100 MB).
ARG WITH_CLAUDE_CODE=false

# git, gh (GitHub CLI) and jq for the agent's tools; nothing secret is baked in.
RUN apt-get update \
 && apt-get install -y --no-install-recommends git gh jq ca-certificates \
 && rm -rf /var/lib/apt/lists/*

RUN npm install -g --no-fund --no-audit "openclaw@${OPENCLAW_VERSION}" \
 && if [ "$WITH_CLAUDE_CODE" = "true" ]; then npm install -g --no-fund --no-audit @anthropic-ai/claude-code; fi \
 && npm cache clean --force

COPY container/start.sh /container/start.sh
RUN chmod 0755 /container/start.sh

# The OpenClaw gateway.
EXPOSE 18789
