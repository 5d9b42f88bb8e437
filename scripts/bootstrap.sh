#!/bin/sh
# One-time set-up on a fresh machine: pnpm (the version package.json names), the workspace's
# dependencies from the lockfile, and a build of every package. Safe to run again.
set -e
cd "$(dirname "$0")/.."
want=$(node -p "require('./package.json').packageManager.split('@')[1]")
if [ "$(pnpm --version 2>/dev/null)" != "$want" ]; then
  echo "bootstrap: installing pnpm@$want" >&2
  npm install -g "pnpm@$want" >/dev/null
fi
pnpm install --frozen-lockfile --prefer-offline >/dev/null
pnpm build >/dev/null
