#!/usr/bin/env bash
# Lint the GitHub Actions workflows with actionlint (+ shellcheck for run: steps).
#
# CTest-runnable: exits 0 and prints "1 passed, 0 failed" when the workflows
# are clean, non-zero and "0 passed, 1 failed" otherwise.
#
# actionlint is built from source through the Go module proxy into
#   ${RTMON_STATE_DIR:-<repo>/.rtmon}/tools
# and reused on later runs when the binary there reports the pinned version.
#
# Pinned version: v1.7.12 (needs Go >= 1.25). With an older Go, e.g. Debian
# 12's golang-go 1.19 (what a bare debian:12 container gets), v1.7.7 is used:
# the newest release whose go.mod still accepts Go 1.18/1.19.
set -uo pipefail

ACTIONLINT_VERSION="v1.7.12"
ACTIONLINT_MIN_GO="1.25"
ACTIONLINT_FALLBACK_VERSION="v1.7.7" # go.mod: go 1.18

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(git -C "$SCRIPT_DIR" rev-parse --show-toplevel 2>/dev/null || (cd "$SCRIPT_DIR/../.." && pwd))"
STATE="${RTMON_STATE_DIR:-$REPO/.rtmon}/tools"
case "$STATE" in /*) ;; *) STATE="$PWD/$STATE" ;; esac # GOBIN must be absolute

log() { printf 'actionlint.sh: %s\n' "$*"; }

finish() {
  if [ "$1" -eq 0 ]; then
    echo "1 passed, 0 failed"
  else
    echo "0 passed, 1 failed"
  fi
  exit "$1"
}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo -n "$@"
  else
    return 1
  fi
}

apt_updated=0
apt_install() {
  local apt=(env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300)
  if [ "$apt_updated" -eq 0 ]; then
    as_root "${apt[@]}" update -qq || return 1
    apt_updated=1
  fi
  as_root "${apt[@]}" install -y -qq --no-install-recommends "$@"
}

deb_installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# --- Go toolchain -----------------------------------------------------------
if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
  export PATH="$PATH:/usr/local/go/bin"
fi
if ! command -v go >/dev/null 2>&1; then
  log "go not found; installing Debian's golang-go"
  if ! apt_install golang-go || ! command -v go >/dev/null 2>&1; then
    log "ERROR: no Go toolchain and could not install golang-go"
    finish 1
  fi
fi
# Never let go fetch a newer toolchain on its own: pick the version to suit the local one.
export GOTOOLCHAIN=local

go_version="$(go env GOVERSION 2>/dev/null)" # e.g. go1.26.8
go_version="${go_version#go}"
version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]; }
if ! version_ge "$go_version" "$ACTIONLINT_MIN_GO"; then
  log "Go $go_version is older than $ACTIONLINT_MIN_GO; using actionlint $ACTIONLINT_FALLBACK_VERSION"
  ACTIONLINT_VERSION="$ACTIONLINT_FALLBACK_VERSION"
fi

# --- actionlint ----------------------------------------------------------------
ACTIONLINT="$STATE/actionlint"
installed_version=""
if [ -x "$ACTIONLINT" ]; then
  installed_version="$("$ACTIONLINT" -version 2>/dev/null | head -n1)"
fi
if [ "$installed_version" = "$ACTIONLINT_VERSION" ]; then
  log "using cached actionlint $installed_version at $ACTIONLINT"
else
  log "installing actionlint $ACTIONLINT_VERSION with Go $go_version into $STATE"
  mkdir -p "$STATE"
  start=$SECONDS
  if ! GOBIN="$STATE" go install "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION"; then
    log "ERROR: go install of actionlint $ACTIONLINT_VERSION failed"
    finish 1
  fi
  installed_version="$("$ACTIONLINT" -version 2>/dev/null | head -n1)"
  if [ "$installed_version" != "$ACTIONLINT_VERSION" ]; then
    log "ERROR: installed actionlint reports '$installed_version', expected $ACTIONLINT_VERSION"
    finish 1
  fi
  log "installed actionlint $installed_version in $((SECONDS - start))s"
fi

# --- shellcheck (actionlint runs it on every run: script) ----------------------
if ! deb_installed shellcheck; then
  log "installing Debian's shellcheck"
  apt_install shellcheck || true
fi
if ! command -v shellcheck >/dev/null 2>&1; then
  log "ERROR: shellcheck is required (apt-get install shellcheck) so results match everywhere"
  finish 1
fi
log "shellcheck $(shellcheck --version | sed -n 's/^version: //p')"

# --- lint --------------------------------------------------------------------
cd "$REPO" || finish 1
shopt -s nullglob
workflows=(.github/workflows/*.yml .github/workflows/*.yaml)
shopt -u nullglob
if [ "${#workflows[@]}" -eq 0 ]; then
  log "ERROR: no workflow files under $REPO/.github/workflows"
  finish 1
fi

log "checking ${workflows[*]}"
if "$ACTIONLINT" -no-color -shellcheck="$(command -v shellcheck)" "${workflows[@]}"; then
  log "no findings"
  finish 0
else
  log "actionlint reported findings (see above)"
  finish 1
fi
