#!/usr/bin/env bash
# lint.sh BUILD_DIR - format check and static analysis of every tracked C file.
#
# clang-format --dry-run -Werror against .clang-format, then clang-tidy with
# .clang-tidy using BUILD_DIR/compile_commands.json, then cppcheck. Any finding
# fails the run. Run by `make lint` and by CTest (label lint).
set -euo pipefail
build=$(cd "${1:?usage: lint.sh BUILD_DIR}" && pwd)
cd "$(dirname "$0")/.."

mapfile -t sources < <(git ls-files '*.c' '*.h' 2>/dev/null || find certs harness tests -name '*.[ch]')
mapfile -t units < <(printf '%s\n' "${sources[@]}" | grep '\.c$')

echo "lint: clang-format on ${#sources[@]} files"
clang-format --dry-run -Werror "${sources[@]}"

echo "lint: clang-tidy on ${#units[@]} files"
printf '%s\n' "${units[@]}" |
  xargs -P "$(nproc)" -n 4 clang-tidy -p "$build" --quiet --warnings-as-errors='*' 2>/dev/null

echo "lint: cppcheck"
cppcheck --quiet --error-exitcode=1 --std=c11 --enable=warning,portability,performance \
  --inline-suppr --suppress=missingIncludeSystem -I certs -I simulator "${units[@]}"
echo "lint: clean"
