/*
 * What every tool does alike: signals set an interrupt flag that the
 * library's long waits watch (they then return LDVM_EINTR), and library
 * messages go to standard error as err(3) would print them.
 */
#ifndef TOOL_H
#define TOOL_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "litedvm.h"

static volatile int stop;

static inline void
tool_onsig(int sig)
{
	stop = sig;
}

/*
 * SIGINT, SIGTERM and each signal in also (a 0-terminated list) set stop;
 * SIGPIPE is ignored unless listed, SIGHUP unless listed or in ignore.
 */
static inline void
tool_signals(const int *also, int ignore_hup)
{
	struct sigaction sa;

	/* No SA_RESTART: a signal must cut a wait short. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = tool_onsig;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (ignore_hup)
		signal(SIGHUP, SIG_IGN);
	for (; also != NULL && *also != 0; also++)
		sigaction(*also, &sa, NULL);
}

static inline void
tool_log(void *arg, int level, const char *msg)
{
	(void)arg;
	(void)level;
	fprintf(stderr, "%s: %s\n", getprogname(), msg);
}

#endif
