#!/usr/bin/env bash
# Runs Go fuzz targets one after another, then prints how many inputs each ran.
#
#   scripts/fuzz.sh [-fresh] <fuzztime> <minimizetime> <package>:<FuzzName>...
#
# The Makefile holds the list of targets (FUZZ_TARGETS); `make test` runs each for a few seconds
# and `make fuzz` for a minute. A failing input is written by Go under
# <package>/testdata/fuzz/<FuzzName>/: fix the code and commit the file as a regression input.
# -fuzzminimizetime bounds how long a new input is shrunk; Go's default (60 s) would spend a short
# run's whole budget shrinking.
#
# Go keeps the inputs each run found interesting in its build cache and replays them all before
# fuzzing anew, inside the fuzz time. -fresh starts from the seeds and testdata/fuzz alone, in a
# cache of its own that is then removed, so that a short run (CI) does the same bounded work
# every time instead of replaying a corpus that grows with every run. It sets the test binary's
# -test.fuzzcachedir, the flag the go command itself uses to pass that cache (the later value wins).
set -uo pipefail
GO=${GO:-go}
fresh=
if [ "${1:-}" = -fresh ]; then
  fresh=1
  shift
fi
if [ $# -lt 3 ]; then
  echo "usage: $0 [-fresh] <fuzztime> <minimizetime> <package>:<FuzzName>..." >&2
  exit 2
fi
fuzztime=$1 minimize=$2
shift 2

# A fuzz target missing from the list would never run: refuse to start without it.
missing=$(grep -rno --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*' . |
  sed -E 's|^\./(.*)/[^/]*_test\.go:[0-9]+:func (Fuzz.*)$|\1:\2|' | sort -u |
  while read -r found; do
    case " $* " in *" $found "*) ;; *) echo "$found" ;; esac
  done)
if [ -n "$missing" ]; then
  echo "fuzz targets not in the list (add them to FUZZ_TARGETS in the Makefile):" >&2
  echo "$missing" >&2
  exit 2
fi

# stop_race: the run failed only with Go's own "context deadline exceeded" as the fuzz time ran
# out, and wrote no failing input: a race in Go's fuzzing coordinator (go.dev/issue/75804, fixed
# in Go 1.27), not a finding. A real failure writes its input under testdata/fuzz and says so.
stop_race() {
  local name=$1 log=$2
  ! grep -q 'Failing input written to' "$log" &&
    grep -A1 "^--- FAIL: ${name} (" "$log" | tail -n 1 | grep -qx '[[:space:]]*context deadline exceeded' &&
    [ "$(grep -c '^--- FAIL' "$log")" = 1 ]
}

log=$(mktemp)
cache=$(mktemp -d)
trap 'rm -rf "$log" "$cache"' EXIT
status=0
summary=$(printf '%-32s %10s %12s  %s' "fuzz target" "time" "executions" "result")
for target in "$@"; do
  pkg=${target%%:*} name=${target##*:}
  echo "== $pkg $name ($fuzztime)"
  args=()
  if [ -n "$fresh" ]; then
    args=(-args -test.fuzzcachedir="$cache")
  fi
  if "$GO" test -run '^$' -fuzz="^${name}\$" -fuzztime="$fuzztime" -fuzzminimizetime="$minimize" "./$pkg" "${args[@]}" 2>&1 | tee "$log"; then
    result=ok
  elif stop_race "$name" "$log"; then
    result="ok (stop race)"
  else
    result=FAIL
    status=1
  fi
  # Go prints the count so far every 3 s and once more when it stops.
  execs=$(grep -o 'execs: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
  summary+=$'\n'$(printf '%-32s %10s %12s  %s' "$pkg $name" "$fuzztime" "${execs:-?}" "$result")
done
echo
echo "$summary"
exit $status
