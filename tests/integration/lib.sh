# Shared by the integration scripts (sourced, not run): the binary under test, the repository root, a
# temporary directory removed on exit, pass/fail counting and the closing line.
#   source "$(dirname "$0")/lib.sh" "$1"   # after `set -uo pipefail`; defines bin, root, tmp
# A script that needs more cleanup sets its own EXIT trap afterwards (and removes $tmp there).
bin=$(realpath "$1")
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }
# finish [LABEL]: prints "[LABEL: ]N passed, M failed"; its status is the script's (0 only if none failed).
finish() {
  echo "${1:+$1: }$pass passed, $fail failed"
  [ "$fail" -eq 0 ]
}
