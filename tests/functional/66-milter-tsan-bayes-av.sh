#!/bin/sh
# 66-milter-tsan-bayes-av.sh - 65-milter-tsan.sh again, with Bayes and
# ClamAV on: the ThreadSanitizer milter behind Postfix classifies every
# message against an LMDB store from several threads at once (read
# transactions, and autolearn write transactions: bayes_auto_learn yes),
# and scans attachments with one libclamav engine shared by all threads,
# while SIGHUP reloads both (a reload opens the store and loads the
# signature database again).
#
# The store is trained here on the tests/data/train mailboxes (7 spam,
# 7 ham; bayes_min_spam/ham 5 so it is used), the signature database is
# the tiny EICAR one of 70-av.sh, and the messages are the fixtures plus
# tests/data/av/mkmsg.py's (EICAR in base64, zip, zip in zip and body,
# clean and broken archives), so every round has virus rejects
# (av_action reject), GTUBE rejects and Bayes verdicts.
# Shorter than 65 (TSAN_STRESS_HUPS 30) to stay cheap in make test; for a
# long run set TSAN_STRESS_FILES to corpus files and TSAN_STRESS_HUPS.
#
# SECURITY: writes only under a private mktemp directory; the store is
# handed to nobody because the milter drops to it.
. ./lib.sh
MT=$DATA/milter
if [ -z "${HAMLET_MILTER_TSAN:-}" ] || [ ! -x "$HAMLET_MILTER_TSAN" ]; then
	echo "skip: no ThreadSanitizer hamlet-milter (HAMLET_MILTER_TSAN; make tsan)"
	finish; exit
fi
if [ "$(id -u)" != 0 ]; then
	echo "skip: needs root to run a private Postfix instance"
	finish; exit
fi

V=$(mktemp -d /var/tmp/hamlet-tsanba.XXXXXX)
trap 'rm -rf "$V" "$T"' EXIT
chmod 755 "$V"
mkdir -p "$V/db" "$V/m"
chmod 755 "$V/db" "$V/m"
cp "$DATA/av/db/eicar.ndb" "$V/db/"
python3 "$DATA/av/mkmsg.py" "$V/m" || { fail "mkmsg.py"; finish; exit; }
rm -f "$V/m/blob.hdb"
chmod 644 "$V/db/"* "$V/m/"*
"$HAMLET" train-spam --db "$V/bayes" "$DATA/train/spam.mbox" \
    "$DATA/train/crlf.mbox" >/dev/null 2>&1
"$HAMLET" train-ham --db "$V/bayes" "$DATA/train/maildir" "$DATA/train/mh" \
    "$DATA/train/single.eml" >/dev/null 2>&1
"$HAMLET" bayes stats --db "$V/bayes" > "$V/stats" 2>&1
check "store trained (7 spam, 7 ham)" grep -q '^messages *7 spam, 7 ham$' "$V/stats"
chown -R nobody "$V/bayes" && chmod 755 "$V/bayes"
cat > "$V/extra.conf" <<EOF2
use_bayes yes
bayes_path $V/bayes
bayes_min_spam 5
bayes_min_ham 5
bayes_auto_learn yes
av_db_dir $V/db
av_action reject
EOF2
chmod 644 "$V/extra.conf"
{ ls "$DATA"/*.eml; ls "$V/m"/*.eml; ls "$V/m"/*.eml; } > "$V/list"

out=$(TSAN_STRESS_FILES=$V/list TSAN_STRESS_N=1000 TSAN_STRESS_CONF=$V/extra.conf \
    TSAN_STRESS_HUPS=${TSAN_STRESS_HUPS:-30} sh ./65-milter-tsan.sh 2>&1)
printf '%s\n' "$out" | grep -v '^[0-9]* passed, [0-9]* failed$'
if printf '%s\n' "$out" | grep -q '^skip:'; then
	finish; exit
fi
line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1)
p=${line%% passed*}; f=${line#*, }; f=${f%% failed}
npass=$((npass + ${p:-0})); nfail=$((nfail + ${f:-1}))
vir=$(printf '%s\n' "$out" | sed -n 's/^phase 1: .* reject \([0-9]*\) .*/\1/p')
check "phase 1 had rejects (viruses and GTUBE: ${vir:-none})" [ "${vir:-0}" -gt 0 ]
finish
