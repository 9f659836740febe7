#!/usr/bin/env bash
# Runs a command with Node >= 22.12 on PATH and the project's dependencies installed.
# Machines that have an older Node get Node 24 from the npm registry's `node` package,
# installed into .tools/ (ignored by git); nothing outside the project is touched.
# Usage: bash scripts/with-node.sh npm test
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

# Install from the lockfile when node_modules is missing or older than the lockfile.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "sonodiff: installing dependencies from package-lock.json" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
fi

exec "$@"
