# lib.sh - sourced by functional tests. Provides ok/fail and a summary.
# HAMLET is the binary under test; DATA the fixtures; T a scratch dir.
: "${HAMLET:?HAMLET must point at the hamlet binary}"
DATA=$(cd "$(dirname "$0")/../data" && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/hamlet-ft.XXXXXX")
trap 'rm -rf "$T"' EXIT
npass=0; nfail=0
ok()   { npass=$((npass + 1)); echo "ok $1"; }
fail() { nfail=$((nfail + 1)); echo "FAIL $1"; }
# check DESCRIPTION COMMAND... : passes when the command succeeds
check() { d=$1; shift; if "$@" >/dev/null 2>&1; then ok "$d"; else fail "$d"; fi; }
finish() { echo "$npass passed, $nfail failed"; [ "$nfail" = 0 ]; }
# stop_pids TENTHS PID...: SIGTERM each, give each up to TENTHS tenths of
# a second to exit, then SIGKILL and reap it (empty PID lists are fine)
stop_pids() {
	_t=$1; shift
	for _p in "$@"; do kill -TERM "$_p" 2>/dev/null; done
	for _p in "$@"; do
		_i=0
		while kill -0 "$_p" 2>/dev/null && [ $_i -lt "$_t" ]; do
			sleep 0.1; _i=$((_i + 1))
		done
		kill -KILL "$_p" 2>/dev/null
		wait "$_p" 2>/dev/null
	done
}
