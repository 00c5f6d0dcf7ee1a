#!/bin/sh
# summary.sh RESULTS... - the final line of make test.
cat "$@" 2>/dev/null | awk '{p += $2; f += $3} END {printf "%d passed, %d failed\n", p, f; exit f != 0}'
