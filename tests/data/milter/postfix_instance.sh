#!/bin/sh
# postfix_instance.sh - a private Postfix instance for hamlet-milter tests
# (after /work/shared/rig/setup_postfix_instance.sh). Sourced by
# tests/functional/60-mta.sh and tests/bench/bench_milter.sh.
#
#   pf_install                  install postfix + swaks if missing (root, apt)
#   pf_free_port                print a free 127.0.0.1 TCP port
#   pf_setup DIR PORT SINKPORT MILTER   write the instance into DIR
#                               (MILTER: unix:/path or "" for none)
#   pf_start DIR / pf_stop DIR
#   pf_cpu DIR                  CPU seconds the instance used so far: its
#                               master, every live daemon and every daemon
#                               the master reaped (the MTA's own CPU)
#   tree_cpu PIDFILE            the same for any daemon
#
# The instance listens on 127.0.0.1:PORT only, relays everything to
# 127.0.0.1:SINKPORT, runs without chroot (a chroot would hide the milter
# socket), logs to DIR/maillog, and never touches /etc/postfix or port 25.

pf_install() {
	if command -v postfix >/dev/null 2>&1 && command -v swaks >/dev/null 2>&1; then
		return 0
	fi
	[ "$(id -u)" = 0 ] || return 1
	echo "postfix postfix/main_mailer_type select Local only" | debconf-set-selections
	echo "postfix postfix/mailname string rig.localdomain" | debconf-set-selections
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 \
	    install -y -qq --no-install-recommends postfix swaks >/dev/null 2>&1 ||
	{ apt-get update -qq >/dev/null 2>&1 &&
	  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 \
	    install -y -qq --no-install-recommends postfix swaks >/dev/null 2>&1; }
	command -v postfix >/dev/null 2>&1 && command -v swaks >/dev/null 2>&1
}

pf_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

pf_setup() {
	_d=$1 _port=$2 _sink=$3 _milter=$4
	mkdir -p "$_d/conf" "$_d/queue" "$_d/data"
	chmod 755 "$_d" "$_d/conf"
	chown root:root "$_d/queue" && chmod 755 "$_d/queue"
	chown postfix "$_d/data"
	{
	cat <<CF
compatibility_level = 3.6
queue_directory = $_d/queue
data_directory = $_d/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mta.test.example
mydomain = test.example
myorigin = \$myhostname
inet_interfaces = loopback-only
inet_protocols = ipv4
mydestination =
local_transport = error:no local delivery in the test MTA
relayhost = [127.0.0.1]:$_sink
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
smtp_dns_support_level = disabled
disable_dns_lookups = yes
smtp_tls_security_level = none
smtpd_tls_security_level = none
biff = no
maillog_file = $_d/maillog
default_process_limit = 50
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
smtp_destination_concurrency_limit = 20
default_destination_concurrency_limit = 20
in_flow_delay = 0
# load clients reuse a connection across rejected messages: no tarpit
smtpd_error_sleep_time = 0
smtpd_soft_error_limit = 10000
smtpd_hard_error_limit = 10000
CF
	if [ -n "$_milter" ]; then
		cat <<CF
smtpd_milters = $_milter
milter_default_action = tempfail
milter_protocol = 6
milter_connect_timeout = 10s
milter_command_timeout = 30s
milter_content_timeout = 60s
CF
	fi
	} > "$_d/conf/main.cf"
	cat > "$_d/conf/master.cf" <<MC
127.0.0.1:$_port inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
MC
	postfix -c "$_d/conf" check >/dev/null 2>&1 || postfix -c "$_d/conf" check
}

pf_start() {
	postfix -c "$1/conf" start >/dev/null 2>&1
}

pf_cpu() {
	tree_cpu "$1/queue/pid/master.pid"
}

# tree_cpu PIDFILE: CPU seconds of a daemon (first number in PIDFILE), its
# reaped children and its live children
tree_cpu() {
	python3 - "$1" <<'PY'
import os, sys
hz = os.sysconf("SC_CLK_TCK")
try:
    m = int(open(sys.argv[1]).read().split()[0])
except (OSError, ValueError, IndexError):
    print("0"); sys.exit()
t = 0
for d in os.listdir("/proc"):
    if not d.isdigit():
        continue
    try:
        st = open("/proc/%s/stat" % d).read()
    except OSError:
        continue
    f = st[st.rindex(")") + 2:].split()
    ppid, ut, sy, cut, cst = int(f[1]), int(f[11]), int(f[12]), int(f[13]), int(f[14])
    if int(d) == m:
        t += ut + sy + cut + cst
    elif ppid == m:
        t += ut + sy
print("%.2f" % (t / hz))
PY
}

pf_stop() {
	[ -f "$1/conf/main.cf" ] || return 0
	postfix -c "$1/conf" stop >/dev/null 2>&1
	_i=0
	while [ -f "$1/queue/pid/master.pid" ] &&
	    kill -0 "$(cat "$1/queue/pid/master.pid" 2>/dev/null)" 2>/dev/null &&
	    [ $_i -lt 50 ]; do
		sleep 0.1; _i=$((_i + 1))
	done
	if [ -f "$1/queue/pid/master.pid" ] &&
	    kill -0 "$(cat "$1/queue/pid/master.pid" 2>/dev/null)" 2>/dev/null; then
		postfix -c "$1/conf" abort >/dev/null 2>&1
	fi
}
