#!/bin/sh
# 10-check.sh - hamlet check as a procmail filter: SpamAssassin's exact
# header layout, byte-exact passthrough, hostile input, --report, --batch,
# exit codes and the never-lose-mail rule on errors.
. ./lib.sh
H="$HAMLET"
S="python3 ./strip_xspam.py"
mkdir -p "$T/norules"
# no rules, no Bayes: the golden output must not depend on the rule set
CHK="$H check --set hostname=test.example --rules $T/norules --db $T/nodb"

# GTUBE: exact output, byte for byte
$CHK < "$DATA/gtube.eml" > "$T/gtube.out"; rc=$?
check "gtube exit 0" test $rc = 0
check "gtube output is exactly SpamAssassin's layout" cmp "$T/gtube.out" "$DATA/expected/gtube.out"
check "gtube has X-Spam-Flag: YES" grep -q '^X-Spam-Flag: YES$' "$T/gtube.out"

# ham: Status No, no Flag, otherwise untouched
$CHK < "$DATA/ham.eml" > "$T/ham.out"
check "ham X-Spam-Status: No" grep -q '^X-Spam-Status: No, score=' "$T/ham.out"
check "ham has no X-Spam-Flag" sh -c "! grep -q '^X-Spam-Flag' '$T/ham.out'"
$S < "$T/ham.out" > "$T/ham.stripped"
check "ham passes byte for byte" cmp "$T/ham.stripped" "$DATA/ham.eml"

# forged inbound X-Spam-* removed and ignored
$CHK < "$DATA/forged-xspam.eml" > "$T/forged.out"
check "forged Status removed" sh -c "! grep -q 'ALL_TRUSTED' '$T/forged.out'"
check "forged continuation removed" sh -c "! grep -q 'continuation line' '$T/forged.out'"
check "forged message still spam" grep -q '^X-Spam-Flag: YES$' "$T/forged.out"
check "exactly one X-Spam-Status" test "$(grep -c '^X-Spam-Status' "$T/forged.out")" = 1
$S < "$DATA/forged-xspam.eml" > "$T/forged.orig"
$S < "$T/forged.out" > "$T/forged.stripped"
check "forged: rest byte for byte" cmp "$T/forged.stripped" "$T/forged.orig"

# CRLF kept, encoded subject rewritten validly
$CHK --set 'rewrite_subject=*****SPAM*****' < "$DATA/gtube-crlf.eml" > "$T/crlf.out"
check "CRLF headers" grep -q "^X-Spam-Flag: YES$(printf '\r')\$" "$T/crlf.out"
check "CRLF fold" grep -q "^$(printf '\t')autolearn_force=no version=.*$(printf '\r')\$" "$T/crlf.out"
check "subject tagged before encoded word" grep -q "^Subject: \*\*\*\*\*SPAM\*\*\*\*\* =?UTF-8?B?w6l0w6kgc3BhbQ==?=$(printf '\r')\$" "$T/crlf.out"
tail -c 80 "$T/crlf.out" > "$T/a"; tail -c 80 "$DATA/gtube-crlf.eml" > "$T/b"
check "CRLF body byte for byte" cmp "$T/a" "$T/b"

# hostile and broken input: exit 0, message intact
for f in nul-bytes 8bit-headers broken-mime html-hidden; do
	$CHK < "$DATA/$f.eml" > "$T/$f.out"; rc=$?
	check "$f: exit 0" test $rc = 0
	$S < "$T/$f.out" > "$T/$f.stripped"
	check "$f: byte for byte" cmp "$T/$f.stripped" "$DATA/$f.eml"
done
# a message without any header gets an empty line after ours, so its
# first line stays body text
$CHK < "$DATA/no-headers.eml" > "$T/nohdr.out"
$S < "$T/nohdr.out" | tail -n +2 > "$T/nohdr.stripped"
check "no-headers: text intact after our header block" cmp "$T/nohdr.stripped" "$DATA/no-headers.eml"

# 1,000-deep MIME nesting
python3 - "$T/deep.eml" <<'PY'
import sys
d = 1000
with open(sys.argv[1], "w") as f:
    f.write("From: a@example.com\nSubject: deep\n")
    for i in range(d):
        f.write('Content-Type: multipart/mixed; boundary="b%d"\n\n--b%d\n' % (i, i))
    f.write("Content-Type: text/plain\n\ndeep text\n")
    for i in range(d - 1, -1, -1):
        f.write("--b%d--\n" % i)
PY
$CHK < "$T/deep.eml" > "$T/deep.out"; rc=$?
check "deep nesting: exit 0" test $rc = 0
$S < "$T/deep.out" > "$T/deep.stripped"
check "deep nesting: byte for byte" cmp "$T/deep.stripped" "$T/deep.eml"
$H check --report < "$T/deep.eml" > "$T/deep.report"
check "deep nesting: limit reported" grep -q 'limits reached' "$T/deep.report"

# a 50 MB message: bounded memory, intact output
python3 - "$T/big.eml" <<'PY'
import base64, os, sys
with open(sys.argv[1], "wb") as f:
    f.write(b"From: a@example.com\nSubject: big\nMIME-Version: 1.0\n"
            b"Content-Type: multipart/mixed; boundary=BIG\n\n--BIG\n"
            b"Content-Type: text/plain\n\nsee attachment\n--BIG\n"
            b"Content-Type: application/octet-stream; name=big.bin\n"
            b"Content-Transfer-Encoding: base64\n\n")
    chunk = base64.encodebytes(os.urandom(57 * 1000))
    n = 0
    while n < 50 * 1024 * 1024:
        f.write(chunk); n += len(chunk)
    f.write(b"--BIG--\n")
PY
/usr/bin/time -f '%M' -o "$T/big.rss" $CHK < "$T/big.eml" > "$T/big.out"; rc=$?
check "50 MB: exit 0" test $rc = 0
rss=$(tail -n 1 "$T/big.rss")
echo "50 MB message: peak RSS ${rss} KB"
check "50 MB: peak RSS under 300 MB" test "$rss" -lt 307200
$S < "$T/big.out" > "$T/big.stripped"
check "50 MB: byte for byte" cmp "$T/big.stripped" "$T/big.eml"
rm -f "$T/big.eml" "$T/big.out" "$T/big.stripped"

# --report
$CHK --report < "$DATA/gtube.eml" > "$T/report"
check "report shows GTUBE with description" grep -q '^1000 GTUBE  *BODY: Generic Test for Unsolicited Bulk Email' "$T/report"
check "report shows points and required" grep -q '(1000.0 points, 5.0 required)' "$T/report"

# --batch: arguments, stdin list, unreadable paths
$CHK --batch "$DATA/gtube.eml" "$DATA/ham.eml" "$T/missing.eml" > "$T/batch"
check "batch gtube line" grep -q "^$DATA/gtube.eml	spam	1000.000	GTUBE\$" "$T/batch"
check "batch ham line" grep -q "^$DATA/ham.eml	ham	" "$T/batch"
check "batch missing file is an error line" grep -q "^$T/missing.eml	error	" "$T/batch"
printf '%s\n%s\n' "$DATA/gtube.eml" "$DATA/ham.eml" | $H check --batch > "$T/batch2"
check "batch from stdin" test "$(wc -l < "$T/batch2")" = 2

# exit codes
$H check -e < "$DATA/gtube.eml" > /dev/null; rc=$?
check "-e: spam exits 1" test $rc = 1
$H check -e < "$DATA/ham.eml" > /dev/null; rc=$?
check "-e: ham exits 0" test $rc = 0
$H check --no-such-option < "$DATA/ham.eml" > /dev/null 2>&1; rc=$?
check "bad option: EX_USAGE" test $rc = 64
$H check "$T/nonexistent" > /dev/null 2>&1; rc=$?
check "missing file: EX_NOINPUT" test $rc = 66

# a broken configuration never loses the message
printf 'required_score 5\nno_such_key 1\n' > "$T/bad.conf"
$H check -c "$T/bad.conf" < "$DATA/ham.eml" > "$T/cfgerr.out" 2> "$T/cfgerr.err"; rc=$?
check "bad config: exit 0 in filter mode" test $rc = 0
check "bad config: header names file:line" grep -q "^X-Hamlet-Error: not scanned: $T/bad.conf:2: unknown key 'no_such_key'" "$T/cfgerr.out"
$S --also-error < "$T/cfgerr.out" > "$T/cfgerr.stripped"
check "bad config: message intact" cmp "$T/cfgerr.stripped" "$DATA/ham.eml"
$H check --tempfail -c "$T/bad.conf" < "$DATA/ham.eml" > /dev/null 2>&1; rc=$?
check "bad config with --tempfail: EX_TEMPFAIL" test $rc = 75
$H config -c "$T/bad.conf" > /dev/null 2> "$T/cfg.err"; rc=$?
check "hamlet config: bad file is EX_CONFIG" test $rc = 78
check "hamlet config: error names file:line" grep -q "bad.conf:2:" "$T/cfg.err"
$H config --set required_score=6 > "$T/cfg.out"
check "hamlet config prints effective values" grep -q '^required_score 6$' "$T/cfg.out"
finish
