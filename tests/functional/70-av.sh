#!/bin/sh
# 70-av.sh - ClamAV inside hamlet check: EICAR in a base64 attachment, in a
# zip, in a zip in a zip and in the body; a clean attachment, a corrupt and
# a truncated archive; AV off without a database; startup errors for a
# missing or empty database directory and inconsistent limits; av_db_dir
# from a config file; av_max_recursion applied (AV_LIMIT); X-Virus-*
# headers; and, with clamav-testfiles, ClamAV's own test files (7z, PDF,
# OLE2 doc, PPT, CAB, tar.gz, UPX, RTF, a whole mail) through a .hdb of
# clam.exe.
# The signature databases are tiny and built here (or committed as hex).
. ./lib.sh
H="$HAMLET"
mkdir -p "$T/norules" "$T/db" "$T/empty" "$T/m"
cp "$DATA/av/db/eicar.ndb" "$T/db/"
python3 "$DATA/av/mkmsg.py" "$T/m" || { fail "mkmsg.py"; finish; exit; }
BASE="$H check --set hostname=test.example --rules $T/norules --db $T/nodb"
AV="$BASE --av-db $T/db"
EICAR=Hamlet.Test.Eicar.UNOFFICIAL

# --batch: one line per message, symbols last
$AV --batch "$T"/m/*.eml > "$T/batch.out" 2> "$T/batch.err"; rc=$?
check "batch exit 0" test $rc = 0
hits() {	# hits NAME: the symbols column for message NAME
	awk -F '\t' -v n="$T/m/$1.eml" '$1 == n { print $4 }' "$T/batch.out"
}
for m in eicar-b64 eicar-zip eicar-zipzip eicar-body; do
	case ",$(hits $m)," in
	*,AV_VIRUS,*) ok "$m: AV_VIRUS" ;;
	*) fail "$m: AV_VIRUS (got '$(hits $m)')" ;;
	esac
done
for m in clean corrupt-zip trunc-zip blob; do
	check "$m: scanned, no AV_VIRUS and no AV_ERROR" \
	    test -n "$(awk -F '\t' -v n="$T/m/$m.eml" '$1 == n' "$T/batch.out")" \
	    -a -z "$(hits $m)"
done
check "batch: 8 messages" test "$(wc -l < "$T/batch.out")" = 8

# --report shows the signature name as the detail
$AV --report < "$T/m/eicar-zip.eml" > "$T/report.out"
check "report: AV_VIRUS with score 100" grep -q '^ *100 AV_VIRUS ' "$T/report.out"
check "report: signature name" grep -qF "[$EICAR]" "$T/report.out"

# the procmail filter: tagged, message intact
$AV < "$T/m/eicar-b64.eml" > "$T/eicar.out"; rc=$?
check "check exit 0 on a virus" test $rc = 0
check "virus is spam" grep -q '^X-Spam-Flag: YES$' "$T/eicar.out"
check "X-Spam-Status names AV_VIRUS" grep -q '^X-Spam-Status: Yes, score=100.0 .*tests=AV_VIRUS' "$T/eicar.out"
grep -v '^X-Virus-' "$T/eicar.out" | python3 ./strip_xspam.py > "$T/eicar.stripped"
check "infected message passes byte for byte" cmp "$T/eicar.stripped" "$T/m/eicar-b64.eml"

# X-Virus-* headers (av_headers(); added by the front end's output)
$AV < "$T/m/clean.eml" > "$T/clean.out"
check "X-Virus-Status: Infected (NAME)" grep -qF "X-Virus-Status: Infected ($EICAR)" "$T/eicar.out"
check "X-Virus-Scanned names ClamAV" grep -q '^X-Virus-Scanned: hamlet .* with ClamAV [0-9.]* at test.example$' "$T/eicar.out"
check "X-Virus-Status: Clean" grep -q '^X-Virus-Status: Clean$' "$T/clean.out"
$BASE < "$T/m/clean.eml" > "$T/noav.out"
check "no X-Virus headers without AV" sh -c '! grep -q "^X-Virus-" "$1"' sh "$T/noav.out"
printf 'X-Virus-Status: Clean\nX-Virus-Scanned: forged\n' > "$T/forged.eml"
cat "$T/m/eicar-b64.eml" >> "$T/forged.eml"
$AV < "$T/forged.eml" > "$T/forged.out"
check "forged inbound X-Virus-Status removed" test "$(grep -c '^X-Virus-Status:' "$T/forged.out")" = 1
check "forged X-Virus-Scanned removed" sh -c '! grep -q "^X-Virus-Scanned: forged" "$1"' sh "$T/forged.out"

# AV off without a database: EICAR is not looked for
$BASE --batch "$T/m/eicar-b64.eml" > "$T/off.out"
check "no --av-db: no AV_VIRUS" sh -c '! grep -q AV_VIRUS "$1"' sh "$T/off.out"

# startup errors: the directory is named, the message is not lost
$BASE --av-db "$T/empty" < "$T/m/clean.eml" > "$T/empty.out" 2> "$T/empty.err"
check "empty db dir: error names the dir" grep -qF "$T/empty" "$T/empty.err"
check "empty db dir: error says empty" grep -q 'empty' "$T/empty.err"
check "empty db dir: header names the problem" grep -q '^X-Hamlet-Error: .*empty' "$T/empty.out"
check "empty db dir: message kept" grep -q '^Subject: clean$' "$T/empty.out"
$BASE --av-db "$T/missing" < "$T/m/clean.eml" > /dev/null 2> "$T/missing.err"
check "missing db dir: error names the dir" grep -q "$T/missing: No such file or directory" "$T/missing.err"
$AV --set scan_max_size=30M --batch "$T/m/clean.eml" > /dev/null 2> "$T/lim.err"
check "av_max_filesize below scan_max_size refused" grep -q 'av_max_filesize' "$T/lim.err"

# av_db_dir from the config file, limits from config
printf 'av_db_dir %s\nav_max_recursion 2\n' "$T/db" > "$T/av.conf"
$BASE -c "$T/av.conf" --batch "$T/m/eicar-zip.eml" "$T/m/eicar-zipzip.eml" > "$T/conf.out"
check "av_db_dir from config: zip found" grep -q "eicar-zip.eml	spam	.*AV_VIRUS" "$T/conf.out"
check "av_max_recursion 2: zip in zip not reached" grep -q "eicar-zipzip.eml	ham	" "$T/conf.out"
check "av_max_recursion 2: AV_LIMIT instead" grep -q "eicar-zipzip.eml	ham	.*AV_LIMIT" "$T/conf.out"
$BASE -c "$T/av.conf" --report < "$T/m/eicar-zipzip.eml" > "$T/limit.report"
check "AV_LIMIT names the limit" grep -qF "[Heuristics.Limits.Exceeded.MaxRecursion]" "$T/limit.report"

# ClamAV's test files, detected through a .hdb of clam.exe
TF=/usr/share/clamav-testfiles
if [ -f "$TF/clam.exe" ]; then
	mkdir -p "$T/cdb" "$T/cm"
	python3 - "$TF" "$T/cdb/clam.hdb" "$T/cm" <<'PY'
import hashlib, os, sys
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
tf, hdb, out = sys.argv[1:4]
exe = open(os.path.join(tf, "clam.exe"), "rb").read()
# the format of `sigtool --md5`: md5:size:name
open(hdb, "w").write("%s:%d:clam.exe\n" % (hashlib.md5(exe).hexdigest(), len(exe)))
for f in ["clam.7z", "clam.pdf", "clam.ole.doc", "clam.ppt", "clam.cab",
          "clam.tar.gz", "clam-upx.exe", "clam.exe.rtf", "clam.zip"]:
    m = MIMEMultipart()
    m["From"] = "a@example.test"
    m["To"] = "b@example.test"
    m["Subject"] = f
    m.attach(MIMEText("attached\n"))
    a = MIMEApplication(open(os.path.join(tf, f), "rb").read(), Name=f)
    a["Content-Disposition"] = 'attachment; filename="%s"' % f
    m.attach(a)
    open(os.path.join(out, f + ".eml"), "wb").write(m.as_bytes())
PY
	cp "$TF/clam.mail" "$T/cm/clam.mail.eml"
	$BASE --av-db "$T/cdb" --batch "$T"/cm/*.eml > "$T/cm.out"
	for f in "$T"/cm/*.eml; do
		b=$(basename "$f" .eml)
		check "clamav-testfiles $b: AV_VIRUS" grep -q "/$b.eml	spam	.*AV_VIRUS" "$T/cm.out"
	done
	$BASE --av-db "$T/cdb" --report < "$T/cm/clam.pdf.eml" > "$T/cm.report"
	check "clamav-testfiles: signature name clam.exe.UNOFFICIAL" grep -qF '[clam.exe.UNOFFICIAL]' "$T/cm.report"
else
	echo "note: clamav-testfiles not installed; ClamAV test-file cases skipped"
fi
finish
