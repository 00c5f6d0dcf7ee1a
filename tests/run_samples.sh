#!/bin/sh
# run_samples.sh HAMLET - `make run`: score the bundled sample messages
# with built-in defaults (no configuration needed) and print a verdict
# table, then show one tagged message.
H=${1:-train/hamlet}
D=$(dirname "$0")/data
printf '%-28s %-5s %9s  %s\n' MESSAGE VERDICT SCORE "RULES HIT"
for f in "$D"/*.eml; do
	"$H" check --batch "$f" | awk -F '\t' -v n="$(basename "$f")" \
	    '{ printf "%-28s %-7s %7s  %s\n", n, $2, $3, $4 }'
done
echo
echo "--- hamlet check < $D/gtube.eml (headers) ---"
"$H" check < "$D/gtube.eml" | sed '/^$/q'
