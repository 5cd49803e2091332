#!/usr/bin/env bash
# Check that every tracked .cpp/.hpp file matches the repo's .clang-format.
#
# CTest-runnable. Passes as a no-op when clang-format is not installed (the
# project does not install it; CI's `format` job does). Otherwise runs
#   clang-format --dry-run --Werror
# over `git ls-files '*.cpp' '*.hpp'`, prints clang-format's findings and a
# summary, and exits non-zero if any file needs reformatting.
# To fix locally: git ls-files '*.cpp' '*.hpp' | xargs clang-format -i
set -uo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

if ! command -v clang-format >/dev/null 2>&1; then
  echo "skipped: clang-format not installed"
  exit 0
fi

REPO="$(git -C "$SCRIPT_DIR" rev-parse --show-toplevel 2>/dev/null)" || {
  echo "clang_format_check.sh: ERROR: not inside a git work tree"
  echo "0 passed, 1 failed"
  exit 1
}
cd "$REPO" || exit 1

echo "clang_format_check.sh: $(clang-format --version)"
mapfile -t files < <(git ls-files '*.cpp' '*.hpp')
if [ "${#files[@]}" -eq 0 ]; then
  echo "clang_format_check.sh: no tracked .cpp/.hpp files"
  echo "0 passed, 0 failed"
  exit 0
fi

passed=0
failed=0
bad=()
for f in "${files[@]}"; do
  # A file deleted in the work tree but still in the index is not ours to judge.
  [ -f "$f" ] || continue
  if clang-format --dry-run --Werror "$f" 2>&1; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    bad+=("$f")
  fi
done

if [ "$failed" -gt 0 ]; then
  echo "clang_format_check.sh: $failed file(s) need clang-format:"
  printf '  %s\n' "${bad[@]}"
  echo "fix with: git ls-files '*.cpp' '*.hpp' | xargs clang-format -i"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
