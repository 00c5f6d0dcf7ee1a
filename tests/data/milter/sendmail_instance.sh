#!/bin/sh
# sendmail_instance.sh - a private sendmail 8.17 for hamlet-milter tests
# (after /work/shared/rig/setup_sendmail_rig.sh). Sourced by
# tests/functional/60-sendmail.sh and tests/bench/bench_milter.sh, after
# postfix_instance.sh (for pf_free_port and tree_cpu).
#
#   sm_install                  unpack Debian's sendmail .debs into $SM_ROOT
#                               (sendmail-bin conflicts with postfix, so it
#                               is not installed) and install m4, swaks
#   sm_setup DIR PORT SINKPORT MILTER   write DIR/etc/test.cf (MILTER:
#                               unix:/path, or "" for no filter)
#   sm_start DIR / sm_stop DIR / sm_cpu DIR
#
# DIR must be root-owned and not world-writable all the way up (sendmail
# checks): use mktemp -d under /var/spool. Listens on 127.0.0.1:PORT only,
# relays everything to 127.0.0.1:SINKPORT.
SM_ROOT=${SM_ROOT:-/var/cache/hamlet-test/sendmail-root}
SM_BIN=$SM_ROOT/usr/libexec/sendmail/sendmail

sm_install() {
	if [ ! -x "$SM_BIN" ] || ! command -v m4 >/dev/null 2>&1 ||
	    ! command -v swaks >/dev/null 2>&1; then
		[ "$(id -u)" = 0 ] || return 1
		_debs=$(mktemp -d)
		DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 \
		    install -y -qq --no-install-recommends m4 libwrap0 liblockfile1 \
		    swaks >/dev/null 2>&1
		(cd "$_debs" && chown _apt "$_debs" 2>/dev/null
		 apt-get download sendmail-bin sendmail-base sendmail-cf >/dev/null 2>&1)
		mkdir -p "$SM_ROOT"
		for _d in "$_debs"/*.deb; do [ -f "$_d" ] && dpkg-deb -x "$_d" "$SM_ROOT"; done
		rm -rf "$_debs"
	fi
	[ -x "$SM_BIN" ] && command -v m4 >/dev/null 2>&1 &&
	    command -v swaks >/dev/null 2>&1 && command -v unshare >/dev/null 2>&1
}

sm_setup() {
	_w=$1 _port=$2 _sink=$3 _milter=$4
	mkdir -p "$_w/mqueue" "$_w/etc"
	chmod 700 "$_w/mqueue"
	: > "$_w/etc/local-host-names"
	: > "$_w/etc/statistics"
	{
	cat <<MC
divert(-1)
divert(0)dnl
include(\`$SM_ROOT/usr/share/sendmail/cf/m4/cf.m4')dnl
VERSIONID(\`hamlet milter test')dnl
OSTYPE(\`linux')dnl
define(\`confCF_VERSION', \`hamlet-test')dnl
define(\`QUEUE_DIR', \`$_w/mqueue')dnl
define(\`confPID_FILE', \`$_w/sendmail.pid')dnl
define(\`confCW_FILE', \`-o $_w/etc/local-host-names')dnl
define(\`STATUS_FILE', \`$_w/etc/statistics')dnl
define(\`confHELP_FILE', \`')dnl
define(\`ALIAS_FILE', \`')dnl
define(\`confDOMAIN_NAME', \`mta.test.example')dnl
define(\`confDONT_PROBE_INTERFACES', \`True')dnl
define(\`confBIND_OPTS', \`-DNSRCH -DEFNAMES')dnl
define(\`confLOG_LEVEL', \`9')dnl
define(\`confMILTER_LOG_LEVEL', \`6')dnl
define(\`confDELIVERY_MODE', \`background')dnl
define(\`confTO_IDENT', \`0s')dnl
define(\`confMAX_DAEMON_CHILDREN', \`40')dnl
define(\`confREFUSE_LA', \`100')dnl
define(\`confQUEUE_LA', \`100')dnl
define(\`confPRIVACY_FLAGS', \`goaway')dnl
define(\`confBAD_RCPT_THROTTLE', \`0')dnl
define(\`confCONNECTION_RATE_THROTTLE', \`0')dnl
FEATURE(\`no_default_msa')dnl
DAEMON_OPTIONS(\`Family=inet, Name=MTA-test, Port=$_port, Addr=127.0.0.1')dnl
FEATURE(\`promiscuous_relay')dnl
FEATURE(\`accept_unresolvable_domains')dnl
FEATURE(\`nocanonify')dnl
define(\`SMART_HOST', \`esmtp:[127.0.0.1]')dnl
define(\`ESMTP_MAILER_ARGS', \`TCP \$h $_sink')dnl
MC
	[ -n "$_milter" ] && echo "INPUT_MAIL_FILTER(\`hamlet', \`S=$_milter, F=T, T=C:10s;S:30s;R:30s;E:60s')dnl"
	echo "MAILER(\`smtp')dnl"
	} > "$_w/etc/test.mc"
	m4 "$_w/etc/test.mc" > "$_w/etc/test.cf" 2>"$_w/m4.err" || { cat "$_w/m4.err" >&2; return 1; }
}

sm_start() {
	# a fully qualified host name avoids sendmail's 60 s start-up stall
	unshare -u sh -c "hostname mta.test.example; exec '$SM_BIN' -C '$1/etc/test.cf' -bd -q1m -L sm-hamlet-test" \
	    > "$1/sendmail.out" 2>&1
}

sm_cpu() {
	tree_cpu "$1/sendmail.pid"
}

sm_stop() {
	[ -f "$1/sendmail.pid" ] || return 0
	_sp=$(head -n 1 "$1/sendmail.pid")
	kill -TERM "$_sp" 2>/dev/null
	_i=0
	while kill -0 "$_sp" 2>/dev/null && [ $_i -lt 30 ]; do sleep 0.1; _i=$((_i + 1)); done
	kill -KILL "$_sp" 2>/dev/null
	rm -f "$1/sendmail.pid"
}
