/*
 * main.c - hamlet-milter: options, daemon life cycle, privilege drop,
 * reload and shutdown. Everything about mail is in callbacks.c/reply.c.
 *
 *   hamlet-milter [-f] [-v] [-t] [-c FILE] [-p SOCKET]
 *
 * Start: build the engine snapshot (config errors are reported on the
 * terminal, before detaching), open the libmilter socket as root, set its
 * mode and owner, detach (unless -f), write the pid file, then drop to
 * milter_user for good. libmilter runs in its own thread; the main thread
 * keeps SIGHUP and SIGTERM unblocked with a handler that only writes one
 * byte to a pipe, so the kernel hands those signals to it rather than to
 * libmilter's signal thread (which would stop the milter on SIGHUP).
 *
 * SIGHUP: a new snapshot is built from the same options and swapped in;
 * on error the old one stays and the log says why. Messages in progress
 * finish with the snapshot they started with. Socket, user, mode and pid
 * file are start-time settings.
 * SIGTERM/SIGINT: remove the socket, tempfail any new MAIL FROM, let
 * messages in flight finish (up to scan_timeout + 5 s), remove the pid
 * file, exit 0. Idle connections are closed; the MTA opens a new one for
 * its next message.
 *
 * SECURITY: runs as root only until the socket and pid file exist; the
 * drop (initgroups, setgid, setuid, then a check that root cannot be
 * regained) is drop_privileges() below. Mail is only ever parsed after it.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sysexits.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "engine/cfg.h"
#include "engine/log.h"
#include "engine/spamhdr.h"
#include "engine/xalloc.h"
#include "milter/callbacks.h"
#include "milter/snap.h"
#include "milter/tcpopt.h"
#include "train/setup.h"

static int sig_pipe[2] = { -1, -1 };

static void
usage(void)
{
	fprintf(stderr,
	    "usage: hamlet-milter [-ftv] [-c config] [-p socket]\n"
	    "  -c FILE    configuration file (default %s)\n"
	    "  -p SOCKET  unix:PATH or inet:PORT@ADDR (default: milter_socket)\n"
	    "  -f         stay in the foreground, log to stderr\n"
	    "  -t         check the configuration and exit\n"
	    "  -v         verbose (debug) logging\n", setup_default_config());
	exit(EX_USAGE);
}

static void
on_signal(int sig)
{
	int saved = errno;
	char c = sig == SIGHUP ? 'H' : 'T';

	if (write(sig_pipe[1], &c, 1) < 0) {
		/* pipe full: a wakeup is pending anyway */
	}
	errno = saved;
}

static void *
milter_thread(void *arg)
{
	char c = 'X';
	int r = smfi_main();

	if (r != MI_SUCCESS)
		log_warnx("libmilter stopped with an error");
	if (write(sig_pipe[1], &c, 1) < 0) {
		/* cannot happen: the main thread reads it */
	}
	return NULL;
}

/* the file system path of a unix socket spec, or NULL for inet */
static const char *
unix_path(const char *spec)
{
	if (strncmp(spec, "unix:", 5) == 0)
		return spec + 5;
	if (strncmp(spec, "local:", 6) == 0)
		return spec + 6;
	if (spec[0] == '/')
		return spec;
	return NULL;
}

static int
write_pidfile(const char *path)
{
	char buf[32];
	int fd, n;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
		return -1;
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (write(fd, buf, (size_t)n) != n) {
		close(fd);
		return -1;
	}
	return close(fd);
}

static void
drop_privileges(const struct passwd *pw)
{
	if (initgroups(pw->pw_name, pw->pw_gid) != 0)
		log_fatal(EX_OSERR, "initgroups %s", pw->pw_name);
	if (setgid(pw->pw_gid) != 0)
		log_fatal(EX_OSERR, "setgid %ld", (long)pw->pw_gid);
	if (setuid(pw->pw_uid) != 0)
		log_fatal(EX_OSERR, "setuid %ld", (long)pw->pw_uid);
	if (pw->pw_uid != 0 && (setuid(0) == 0 || seteuid(0) == 0))
		log_fatalx(EX_OSERR, "could regain root after dropping to %s",
		    pw->pw_name);
}

static void
reload(const struct setup *o, const struct snap *first)
{
	char err[1024];
	struct snap *sn;

	if (snap_load(o, err, sizeof(err)) != ST_OK) {
		log_warnx("reload failed, keeping the running configuration: %s",
		    err);
		return;
	}
	sn = snap_get();
	if (strcmp(sn->cfg->milter_socket, first->cfg->milter_socket) ||
	    strcmp(sn->cfg->milter_user, first->cfg->milter_user) ||
	    strcmp(sn->cfg->milter_pidfile, first->cfg->milter_pidfile) ||
	    sn->cfg->milter_socket_mode != first->cfg->milter_socket_mode)
		log_warnx("milter_socket, milter_user, milter_socket_mode and "
		    "milter_pidfile take effect only at restart");
	log_info("reloaded configuration (generation %u)", sn->generation);
	snap_put(sn);
}

int
main(int argc, char **argv)
{
	struct setup o;
	struct snap *first;
	const char *sock = NULL, *path;
	struct passwd *pw = NULL;
	struct sigaction sa;
	sigset_t block, old;
	pthread_t tid;
	int ch, fg = 0, verbose = 0, check = 0, left;
	char err[1024], *pidfile, *cfgabs = NULL;

	memset(&o, 0, sizeof(o));
	while ((ch = getopt(argc, argv, "c:fp:tv")) != -1) {
		switch (ch) {
		case 'c': o.config = optarg; break;
		case 'f': fg = 1; break;
		case 'p': sock = optarg; break;
		case 't': check = 1; break;
		case 'v': verbose = 1; break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	/* a daemon runs in "/": keep the config findable for SIGHUP */
	if (o.config && o.config[0] != '/' &&
	    (cfgabs = realpath(o.config, NULL)) != NULL)
		o.config = cfgabs;
	log_init("hamlet-milter", 0, verbose);

	if (snap_load(&o, err, sizeof(err)) != ST_OK)
		log_fatalx(EX_CONFIG, "%s", err);
	first = snap_get();
	if (check) {
		printf("configuration ok\n");
		return 0;
	}
	if (sock == NULL)
		sock = first->cfg->milter_socket;
	if (*first->cfg->milter_user) {
		if ((pw = getpwnam(first->cfg->milter_user)) == NULL)
			log_fatalx(EX_NOUSER, "milter_user %s: no such user",
			    first->cfg->milter_user);
		if (geteuid() != 0)
			log_fatalx(EX_NOPERM, "milter_user %s: must start as root",
			    first->cfg->milter_user);
		pw = xmemdup(pw, sizeof(*pw));
		pw->pw_name = xstrdup(pw->pw_name);
	}
	pidfile = xstrdup(first->cfg->milter_pidfile);

	if (smfi_setconn((char *)sock) != MI_SUCCESS)
		log_fatalx(EX_CONFIG, "bad milter socket '%s'", sock);
	if (smfi_register(*callbacks_desc()) != MI_SUCCESS)
		log_fatalx(EX_SOFTWARE, "smfi_register failed");
	if ((path = unix_path(sock)) != NULL) {
		char *dir = xstrdup(path), *slash = strrchr(dir, '/');

		/* a missing socket directory (/run/hamlet) is made for us */
		if (slash && slash != dir) {
			*slash = '\0';
			if (mkdir(dir, 0755) == 0 && pw)
				if (chown(dir, pw->pw_uid, pw->pw_gid) != 0)
					log_warn("chown %s", dir);
		}
		free(dir);
	}
	if (smfi_opensocket(1) != MI_SUCCESS)
		log_fatalx(EX_UNAVAILABLE, "cannot open milter socket %s", sock);
	/* small writes in a row must not wait for the MTA's delayed ACKs */
	if ((strncmp(sock, "inet:", 5) == 0 || strncmp(sock, "inet6:", 6) == 0) &&
	    tcpopt_nodelay_listeners(256) == 0)
		log_warnx("no listening TCP socket found to set TCP_NODELAY on: "
		    "replies may wait for delayed ACKs");
	if (path) {
		if (chmod(path, (mode_t)first->cfg->milter_socket_mode) != 0)
			log_fatal(EX_OSERR, "chmod %s", path);
		if (pw && chown(path, pw->pw_uid, pw->pw_gid) != 0)
			log_fatal(EX_OSERR, "chown %s", path);
	}

	/*
	 * From here on a signal only writes a byte to the pipe; the main
	 * loop below acts on it (a SIGTERM during the rest of the start-up
	 * is a clean stop right after it).
	 */
	if (pipe2(sig_pipe, O_CLOEXEC) != 0)
		log_fatal(EX_OSERR, "pipe");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (!fg) {
		if (daemon(0, 0) != 0)
			log_fatal(EX_OSERR, "daemon");
		log_init("hamlet-milter", 1, verbose);
	}
	if (*pidfile && write_pidfile(pidfile) != 0)
		log_fatal(EX_CANTCREAT, "pid file %s", pidfile);
	if (pw)
		drop_privileges(pw);
	else if (geteuid() == 0)
		log_warnx("running as root: set milter_user");

	/*
	 * libmilter's threads start with these signals blocked. Its signal
	 * thread sigwait()s for them (and would stop on SIGHUP), but the
	 * kernel hands a process-wide signal to the main thread first when
	 * that thread does not block it: this one never does (SA_NODEFER).
	 */
	sigemptyset(&block);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	if ((errno = pthread_create(&tid, NULL, milter_thread, NULL)) != 0)
		log_fatal(EX_OSERR, "pthread_create");
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	log_info("hamlet-milter %s listening on %s", HAMLET_VERSION, sock);

	for (;;) {
		struct pollfd pfd = { .fd = sig_pipe[0], .events = POLLIN };
		char c;
		ssize_t r;

		/*
		 * poll() first: it returns EINTR even under SA_RESTART, so the
		 * handler has run by the time it returns. A read() restarted
		 * by SA_RESTART is a problem where the handler runs late: under
		 * ThreadSanitizer, which defers it to the end of the blocking
		 * call, the signal was never acted on (no reload, no stop).
		 */
		if (poll(&pfd, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_fatal(EX_OSERR, "poll");
		}
		r = read(sig_pipe[0], &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || c != 'H')
			break;
		reload(&o, first);
	}
	/*
	 * libmilter is not stopped: smfi_stop() (in the Debian build, with
	 * its worker pool) stops serving the connections it has, so a
	 * message in flight would hang until our timeout, and it tears down
	 * mutexes those connections still use. Instead no new message is
	 * begun (MAIL FROM is tempfailed), the socket is removed so the MTA
	 * connects no more, and once the messages in flight are done the
	 * process exits with libmilter still running.
	 */
	callbacks_stop();
	log_info("stopping: %d message(s) in flight", callbacks_inflight());
	if (path && unlink(path) != 0 && errno != ENOENT)
		log_warn("unlink %s", path);
	left = callbacks_wait_idle(first->cfg->scan_timeout_ms + 5000);
	if (left)
		log_warnx("exiting with %d message(s) unfinished", left);
	if (*pidfile && unlink(pidfile) != 0 && errno != ENOENT)
		log_warn("unlink %s", pidfile);
	log_info("stopped");
	/*
	 * Connection threads may still be idle in libmilter; exit without
	 * running library destructors under their feet.
	 */
	_exit(0);
}
