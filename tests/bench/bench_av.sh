#!/bin/sh
# bench_av.sh HAMLET CORPUS_DIR - what ClamAV inside hamlet costs.
#
# CPU time (user+sys, one core) of `hamlet check --batch` with the same
# rules and no Bayes, without AV and with AV, on
#   - the SpamAssassin corpus (CORPUS_DIR, mostly text-only mail), and
#   - attachment-heavy mail generated here: 200 messages, each with a zip,
#     a PDF, a .docx and a random binary (unique bytes per message, so
#     ClamAV's clean-file cache cannot help), EICAR zipped into every 10th;
# each with two signature databases built here:
#   - tiny: the one EICAR .ndb signature of the tests (the fixed cost of
#     the AV pass: type detection, archive/PDF/OLE parsers, hashing), and
#   - synthetic: 50,000 random .ndb body signatures and 200,000 .hdb hashes
#     (the matcher under load; no real ClamAV database can be downloaded
#     here, and the real one is ~100x bigger, so this is a lower bound).
# Prints ms/message (least CPU of 3 runs) and the ratio to the scan
# without AV, the database load cost and peak RSS, and checks the
# verdicts (20 viruses found in the generated set, none on the corpus,
# no AV_ERROR anywhere).
set -u
H=${1:?usage: bench_av.sh HAMLET CORPUS_DIR}
CORPUS=${2:?usage: bench_av.sh HAMLET CORPUS_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
PIN=""
command -v taskset >/dev/null && PIN="taskset -c 0"
RULES=""
[ -d "$ROOT/rules/default" ] && RULES="--rules $ROOT/rules/default"
mkdir -p "$TMP/nodb" "$TMP/tiny" "$TMP/syn" "$TMP/att"
CHK="$H check $RULES --db $TMP/nodb --set use_bayes=no"

cp "$ROOT/tests/data/av/db/eicar.ndb" "$TMP/tiny/"
python3 - "$TMP/syn" "$TMP/att" <<'PY'
import io, os, random, sys, zipfile, zlib
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

syn, att = sys.argv[1], sys.argv[2]
r = random.Random(20261123)
with open(os.path.join(syn, "synthetic.ndb"), "w") as f:
    for i in range(50000):
        n = r.randint(16, 48)
        f.write("Hamlet.Bench.Ndb.%d:0:*:%s\n" % (i, r.randbytes(n).hex()))
with open(os.path.join(syn, "synthetic.hdb"), "w") as f:
    for i in range(200000):
        f.write("%032x:%d:Hamlet.Bench.Hdb.%d\n" %
                (r.getrandbits(128), r.randint(100, 10**6), i))
# the tiny database's EICAR signature too, so detection is checked
f = open(os.path.join(syn, "eicar.ndb"), "w")
f.write(open(os.path.join(os.path.dirname(syn), "tiny", "eicar.ndb")).read())
f.close()

EICAR = (b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" +
         b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*")
words = ("invoice quarterly report figures revenue shipment order account "
         "meeting schedule budget forecast customer supplier contract").split()

def text(n):
    return " ".join(r.choice(words) for _ in range(n)).encode()

def zipped(files):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files:
            z.writestr(name, data)
    return b.getvalue()

def pdf(body):
    s = zlib.compress(body)
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /Contents 4 0 R >>",
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(s) + s +
            b"\nendstream"]
    out = bytearray(b"%PDF-1.4\n")
    offs = []
    for i, o in enumerate(objs, 1):
        offs.append(len(out))
        out += b"%d 0 obj\n" % i + o + b"\nendobj\n"
    x = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for o in offs:
        out += b"%010d 00000 n \n" % o
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objs) + 1, x)
    return bytes(out)

def docx(body):
    return zipped([("[Content_Types].xml", b'<?xml version="1.0"?><Types/>'),
                   ("word/document.xml",
                    b"<w:document><w:body><w:p>" + body +
                    b"</w:p></w:body></w:document>")])

for i in range(200):
    m = MIMEMultipart()
    m["From"] = "bench@example.test"
    m["To"] = "rcpt@example.test"
    m["Subject"] = "documents %d" % i
    m.attach(MIMEText(text(80).decode() + "\n"))
    files = [("report.txt", text(6000))]
    if i % 10 == 0:
        files.append(("setup.com", EICAR))
    parts = [("report.zip", zipped(files)),
             ("statement.pdf", pdf(text(8000))),
             ("letter.docx", docx(text(6000))),
             ("data.bin", r.randbytes(64 * 1024))]
    for name, data in parts:
        a = MIMEApplication(data, Name=name)
        a["Content-Disposition"] = 'attachment; filename="%s"' % name
        m.attach(a)
    with open(os.path.join(att, "att-%03d.eml" % i), "wb") as f:
        f.write(m.as_bytes())
PY
[ $? = 0 ] || { echo "bench_av: generating data failed"; exit 1; }

find "$CORPUS" -type f ! -name '.*' | sort > "$TMP/corpus.lst"
find "$TMP/att" -type f | sort > "$TMP/att.lst"
: > "$TMP/empty.lst"

# run LIST OUT [ARGS...]: prints "cpu_seconds peak_rss_kb", the least
# CPU time of three runs (the machine is shared; noise only adds time)
run() {
	l=$1; o=$2; shift 2
	best=""
	for i in 1 2 3; do
		/usr/bin/time -f '%U %S %M' -o "$TMP/t" $PIN $CHK "$@" --batch \
		    < "$l" > "$o" 2> "$TMP/err" || echo "bench_av: hamlet" \
		    "failed: $(tail -n 1 "$TMP/err")" >&2
		read -r u s rss <<EOF
$(tail -n 1 "$TMP/t")
EOF
		c=$(echo "$u + $s" | bc -l)
		if [ -z "$best" ] || [ "$(echo "$c < $best" | bc -l)" = 1 ]; then
			best=$c
		fi
	done
	echo "$best $rss"
}
ms() { printf '%.3f' "$(echo "($1) * 1000 / ($2)" | bc -l)"; }
ratio() { printf '%.2f' "$(echo "($1) / ($2)" | bc -l)"; }

echo "ClamAV $(dpkg-query -W -f='${Version}' libclamav12 2>/dev/null); rules: ${RULES:-default}; Bayes off"
# the database load alone (an empty batch)
set -- $(run "$TMP/empty.lst" /dev/null); e0=$1
set -- $(run "$TMP/empty.lst" /dev/null --av-db "$TMP/tiny"); e1=$1; r1=$2
set -- $(run "$TMP/empty.lst" /dev/null --av-db "$TMP/syn"); e2=$1; r2=$2
ld1=$(printf '%.0f' "$(echo "($e1 - $e0) * 1000" | bc -l)")
ld2=$(printf '%.0f' "$(echo "($e2 - $e0) * 1000" | bc -l)")
echo "database load+compile (10 ms clock): tiny (1 sig) $ld1 ms, process RSS $(($r1 / 1024)) MB;" \
    "synthetic (250,001 sigs) $ld2 ms, process RSS $(($r2 / 1024)) MB"

for set in corpus att; do
	n=$(wc -l < "$TMP/$set.lst")
	$CHK --batch < "$TMP/$set.lst" > /dev/null 2>&1	# warm the page cache
	set -- $(run "$TMP/$set.lst" "$TMP/$set.0"); c0=$1
	set -- $(run "$TMP/$set.lst" "$TMP/$set.1" --av-db "$TMP/tiny"); c1=$1
	set -- $(run "$TMP/$set.lst" "$TMP/$set.2" --av-db "$TMP/syn"); c2=$1; rss=$2
	# the load time is not per-message cost
	c1=$(echo "$c1 - ($e1 - $e0)" | bc -l); c2=$(echo "$c2 - ($e2 - $e0)" | bc -l)
	if [ "$set" = corpus ]; then
		what="SpamAssassin corpus ($n msgs)"
	else
		kb=$(($(cat $(cat "$TMP/att.lst") | wc -c) / $n / 1024))
		what="attachment-heavy ($n msgs, 4 attachments, ${kb} KB each)"
	fi
	echo "$what:"
	echo "  no AV           $(ms "$c0" "$n") ms/msg"
	echo "  AV tiny db      $(ms "$c1" "$n") ms/msg  ratio $(ratio "$c1" "$c0")x  (AV cost $(ms "$c1 - $c0" "$n") ms/msg)"
	echo "  AV synthetic db $(ms "$c2" "$n") ms/msg  ratio $(ratio "$c2" "$c0")x  (AV cost $(ms "$c2 - $c0" "$n") ms/msg, peak RSS $(($rss / 1024)) MB)"
	v1=$(grep -c 'AV_VIRUS' "$TMP/$set.1"); v2=$(grep -c 'AV_VIRUS' "$TMP/$set.2")
	x=$(cat "$TMP/$set.1" "$TMP/$set.2" | grep -c 'AV_ERROR')
	want=0; [ "$set" = att ] && want=20
	ok=ok; [ "$v1" = $want ] && [ "$v2" = $want ] && [ "$x" = 0 ] || ok=WRONG
	echo "  verdicts: AV_VIRUS $v1 (tiny) / $v2 (synthetic), expected $want; AV_ERROR $x: $ok"
done
