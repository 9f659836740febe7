#!/usr/bin/env bash
# Runs a command inside the project's environment: Node >= 22.12 on PATH, npm dependencies
# installed from the lockfile, and the Debian tools tests and benchmarks compare against.
# Machines with an older Node get Node 24 from the npm registry's `node` package, installed
# into .tools/ (ignored by git). Usage: bash scripts/env.sh npm test
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

need_major=22
need_minor=12
node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  local v
  v="$(node -p 'process.versions.node' 2>/dev/null)" || return 1
  local major="${v%%.*}" rest="${v#*.}"
  local minor="${rest%%.*}"
  [ "$major" -gt "$need_major" ] || { [ "$major" -eq "$need_major" ] && [ "$minor" -ge "$need_minor" ]; }
}

if ! node_ok; then
  if [ ! -x .tools/node_modules/.bin/node ]; then
    echo "sonodiff: installing Node 24 from the npm registry into .tools/ (machine Node is older than 22.12)" >&2
    mkdir -p .tools
    npm install --prefix .tools --no-audit --no-fund --loglevel=error node@24 >&2
  fi
  export PATH="$root/.tools/node_modules/.bin:$PATH"
  node_ok || { echo "sonodiff: could not provide Node >= 22.12" >&2; exit 1; }
fi

# sox/ffmpeg (reference peers) and ALSA (node-web-audio-api links it); SONODIFF_SYSTEM_DEPS=skip to opt out.
if [ "${SONODIFF_SYSTEM_DEPS:-}" != "skip" ]; then
  bash "$root/scripts/install-system-deps.sh"
fi

# Install from the lockfile when node_modules is missing or older than the lockfile.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "sonodiff: installing dependencies from package-lock.json" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
fi

exec "$@"
