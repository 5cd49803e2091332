#!/usr/bin/env bash
# Installs the system packages rtmon needs to build, test and run locally (Debian 12).
# Idempotent: when everything is installed it only checks (no apt-get update) and exits in well under 2 s.
# Usage: infra/deps.sh
set -euo pipefail
# shellcheck source=infra/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libcaf-dev librdkafka-dev libpqxx-dev
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libspdlog-dev libcurl4-openssl-dev libssl-dev libjemalloc-dev
  kcat openjdk-17-jre-headless maven
  postgresql-15 postgresql-client-15
  python3 python3-venv curl chromium
)

case "${1:-all}" in
  all) ;;
  -h | --help)
    sed -n '2,4p' "$0"
    exit 0
    ;;
  *) die "usage: infra/deps.sh" ;;
esac

command -v dpkg-query >/dev/null 2>&1 || die "dpkg-query not found: infra/deps.sh supports Debian/Ubuntu only"

missing=()
for p in "${PACKAGES[@]}"; do
  status="$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)"
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  log "deps: all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

log "deps: installing ${#missing[@]} missing package(s): ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt_log="$(mktemp "${TMPDIR:-/tmp}/rtmon-apt.XXXXXX")"
trap 'rm -f "$apt_log"' EXIT

log "deps: apt-get update"
if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >"$apt_log" 2>&1; then
  tail -n 30 "$apt_log" >&2
  die "apt-get update failed"
fi

log "deps: apt-get install ${missing[*]}"
if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
  "${missing[@]}" >"$apt_log" 2>&1; then
  tail -n 40 "$apt_log" >&2
  die "apt-get install failed"
fi

still=()
for p in "${missing[@]}"; do
  status="$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)"
  [[ "$status" == "install ok installed" ]] || still+=("$p")
done
((${#still[@]} == 0)) || die "still missing after install: ${still[*]}"
log "deps: done"
