#!/bin/sh
# deps.sh [bench] - install the Debian packages hamlet builds and tests
# with (and, with "bench", what make bench compares against). Idempotent
# and quiet when everything is present; runs apt-get update at most once,
# only when something is missing.
PKGS="build-essential pkg-config libmilter-dev libpcre2-dev libclamav-dev
liblmdb-dev libgmime-3.0-dev libgumbo-dev libmagic-dev libspf2-dev
libopendkim-dev libopendmarc-dev libc-ares-dev libssl-dev publicsuffix
python3-dnslib iproute2 lmdb-utils miltertest procmail clamav-testfiles
python3 time npm"
if [ "${1:-}" = bench ]; then
	PKGS="$PKGS bc spamassassin spamc bogofilter util-linux hyperfine"
fi
missing=""
for p in $PKGS; do
	# a node/npm installed outside Debian's packages does as well
	[ "$p" = npm ] && command -v npm >/dev/null && continue
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
	    missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing"
if [ "$(id -u)" != 0 ]; then
	echo "deps: not root; install these packages:$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null &&
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
    $missing >/dev/null || { echo "deps: apt-get failed" >&2; exit 1; }
