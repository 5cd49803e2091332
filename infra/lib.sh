# shellcheck shell=bash
# Shared helpers for the rtmon infra scripts. Source it, don't run it:
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
# Provides:
#   ROOT       repo root (derived from this file's location, not from $PWD)
#   STATE_DIR  runtime data, logs and pid files: ${RTMON_STATE_DIR:-$ROOT/.rtmon}
#   log MSG... / warn MSG... / die MSG...   "[rtmon] ..." on stderr (die exits 1)
#   wait_for DESC TIMEOUT_S CMD [ARGS...]   retry CMD until it succeeds or the deadline passes
#   pid_alive PIDFILE                       true if PIDFILE names a live process
#   pid_running PID / pid_gone PID          process state (zombies count as gone)
#   as_root CMD...                          run CMD as root (sudo when we are not root)

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
STATE_DIR="${RTMON_STATE_DIR:-$ROOT/.rtmon}"
[[ "$STATE_DIR" == /* ]] || STATE_DIR="$PWD/$STATE_DIR"
export ROOT STATE_DIR

log() { printf '[rtmon] %s\n' "$*" >&2; }
warn() { printf '[rtmon] WARNING: %s\n' "$*" >&2; }
die() {
  printf '[rtmon] ERROR: %s\n' "$*" >&2
  exit 1
}

# wait_for DESC TIMEOUT_S CMD [ARGS...]
# Runs CMD (output discarded) once a second until it succeeds (return 0) or TIMEOUT_S seconds have
# passed (return 1). Prints progress dots on stderr. The loop is bounded by a wall-clock deadline; CMD
# itself should be bounded too (e.g. via `timeout`) so one attempt cannot overrun it by much.
# If WAIT_FOR_PID is set and that process dies, gives up at once (return 2).
wait_for() {
  local desc="$1" timeout_s="$2"
  shift 2
  local start now deadline
  start=$(date +%s)
  deadline=$((start + timeout_s))
  printf '[rtmon] waiting for %s (up to %ss) ' "$desc" "$timeout_s" >&2
  while :; do
    if "$@" >/dev/null 2>&1; then
      now=$(date +%s)
      printf ' ok (%ss)\n' "$((now - start))" >&2
      return 0
    fi
    if [[ -n "${WAIT_FOR_PID:-}" ]] && ! pid_running "$WAIT_FOR_PID"; then
      printf ' process %s exited\n' "$WAIT_FOR_PID" >&2
      return 2
    fi
    now=$(date +%s)
    if ((now >= deadline)); then
      printf ' timed out after %ss\n' "$((now - start))" >&2
      return 1
    fi
    printf '.' >&2
    sleep 1
  done
}

# pid_running PID: that process exists and is not a zombie (an exited daemon whose new parent, init,
# has not reaped it yet still answers kill -0).
pid_running() {
  local pid="$1" state
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  state="$(ps -o stat= -p "$pid" 2>/dev/null || true)"
  [[ -n "$state" && "$state" != Z* ]]
}

# pid_gone PID: the opposite of pid_running (for wait_for).
pid_gone() { ! pid_running "$1"; }

# pid_alive PIDFILE: the file exists, holds a number, and that process is running.
pid_alive() {
  local f="$1" pid
  [[ -s "$f" ]] || return 1
  pid="$(head -n 1 "$f" 2>/dev/null || true)"
  pid_running "$pid"
}

# read_pid PIDFILE: prints the pid (or nothing).
read_pid() {
  local f="$1" pid
  [[ -s "$f" ]] || return 0
  pid="$(head -n 1 "$f" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] && printf '%s\n' "$pid"
  return 0
}

as_root() {
  if [[ "$(id -u)" -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "need root for: $* (and sudo is not installed)"
  fi
}

need_cmd() {
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 || die "'$c' not found: run infra/deps.sh first"
  done
}
