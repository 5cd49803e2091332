#!/usr/bin/env bash
# Builds the web UI (ui/ -> ui/dist, which the hub serves at /). Idempotent and quick when
# nothing changed:
#   - `npm ci` only when ui/package-lock.json changed since the last install
#     (stamp: ui/node_modules/.rtmon-lock.sha256),
#   - `npm run build` only when the sources changed (hash of ui/src, index.html, package files
#     and configs vs the stamp ui/dist/.rtmon-src.sha256).
# Usage: infra/ui.sh [build|test|clean]   (RTMON_UI_FORCE=1 rebuilds anyway)
set -euo pipefail
# shellcheck source=infra/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

UI="$ROOT/ui"
cmd="${1:-build}"
case "$cmd" in
  build | test | clean) ;;
  -h | --help)
    sed -n '2,8p' "$0"
    exit 0
    ;;
  *) die "usage: infra/ui.sh [build|test|clean]" ;;
esac

if [[ "$cmd" == clean ]]; then
  rm -rf "$UI/dist" "$UI/node_modules"
  log "ui: removed ui/dist and ui/node_modules"
  exit 0
fi

command -v node >/dev/null 2>&1 || die "ui: node not found (Node.js 20+ with npm is needed to build the UI)"
command -v npm >/dev/null 2>&1 || die "ui: npm not found (Node.js 20+ with npm is needed to build the UI)"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
((node_major >= 20)) || die "ui: Node.js $(node --version) is too old; 20 or newer is needed"
[[ -f "$UI/package-lock.json" ]] || die "ui: ui/package-lock.json is missing"

# 1. Dependencies: npm ci when the lock file changed (or node_modules is gone).
lock_sha="$(sha256sum "$UI/package-lock.json" | cut -d' ' -f1)"
lock_stamp="$UI/node_modules/.rtmon-lock.sha256"
if [[ ! -d "$UI/node_modules" || "$(cat "$lock_stamp" 2>/dev/null || true)" != "$lock_sha" ]]; then
  log "ui: installing dependencies (npm ci)"
  npm_log="$(mktemp "${TMPDIR:-/tmp}/rtmon-npm.XXXXXX")"
  if ! (cd "$UI" && npm ci --no-audit --no-fund --loglevel=error) >"$npm_log" 2>&1; then
    tail -n 40 "$npm_log" >&2
    rm -f "$npm_log"
    die "ui: npm ci failed (see above); is the npm registry reachable?"
  fi
  rm -f "$npm_log"
  echo "$lock_sha" >"$lock_stamp"
else
  log "ui: dependencies up to date"
fi

if [[ "$cmd" == test ]]; then
  log "ui: running unit tests (vitest)"
  (cd "$UI" && npm test --silent) || die "ui: unit tests failed"
  exit 0
fi

# 2. Build: when the sources (or the lock file) changed since the last build.
src_sha="$(
  cd "$UI"
  {
    find src public -type f 2>/dev/null | LC_ALL=C sort | xargs -r sha256sum
    for f in index.html package.json package-lock.json vite.config.ts tsconfig.json tsconfig.app.json \
      tsconfig.node.json tailwind.config.ts postcss.config.js; do
      [[ -f "$f" ]] && sha256sum "$f"
    done
  } | sha256sum | cut -d' ' -f1
)"
src_stamp="$UI/dist/.rtmon-src.sha256"
if [[ -z "${RTMON_UI_FORCE:-}" && -f "$UI/dist/index.html" && "$(cat "$src_stamp" 2>/dev/null || true)" == "$src_sha" ]]; then
  log "ui: ui/dist is up to date"
  exit 0
fi

log "ui: building (tsc + vite) into ui/dist"
build_log="$(mktemp "${TMPDIR:-/tmp}/rtmon-ui-build.XXXXXX")"
start=$(date +%s)
if ! (cd "$UI" && npm run build --silent) >"$build_log" 2>&1; then
  tail -n 60 "$build_log" >&2
  rm -f "$build_log"
  die "ui: build failed (see above)"
fi
rm -f "$build_log"
[[ -f "$UI/dist/index.html" ]] || die "ui: build finished but ui/dist/index.html is missing"
echo "$src_sha" >"$src_stamp"
log "ui: built ui/dist in $(($(date +%s) - start))s"
