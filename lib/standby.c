/*
 * A pooled disposable's release, handed to the refill helper that stands
 * by for it.  A pooled session starts dvm-standby, which becomes
 * dvm-preload --wait-fd, while its command starts (ldvm__spawn_standby);
 * at the release ldvm_disp_destroy sends that helper one line,
 * "<name> <owner>\n", and closes its end of the socket, instead of
 * writing the record itself: the caller's exit
 * status then waits on no xenstore write.  The helper reads the line with
 * the end of file, and takes the record over only while the sender still
 * owns it: marked dying and its owner cleared, in one transaction, as a
 * released disposable's record is, for its garbage collection to tear
 * down.  What the line says is checked, not trusted: a valid name, an
 * owner "<pid>:<start>", and the record's own owner.  A caller that died
 * sent nothing; its disposable is collected as any dead owner's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "ldvm_internal.h"

#define OWNER_MAX 48

struct ldvm_standby {
	char name[LDVM_NAME_MAX + 1];   /* released; "" when none was sent */
	char owner[OWNER_MAX];          /* its owner, as the sender said */
};

/* Whether s is "<pid>:<start>", both decimal. */
static bool
owner_form(const char *s)
{
	size_t p = strspn(s, "0123456789");

	return p > 0 && s[p] == ':' && s[p + 1] != '\0' &&
	    strspn(s + p + 1, "0123456789") == strlen(s + p + 1);
}

/* The line, "<name> <owner>\n" and nothing else, into s; else s stays empty. */
static void
parse_line(struct ldvm_standby *s, char *line, size_t len)
{
	char *sp;

	if (len < 2 || line[len - 1] != '\n')
		return;
	line[len - 1] = '\0';
	if ((sp = strchr(line, ' ')) == NULL)
		return;
	*sp++ = '\0';
	if (!ldvm__valid_name(line, LDVM_NAME_MAX) || strlen(sp) >= OWNER_MAX ||
	    !owner_form(sp))
		return;
	memcpy(s->name, line, strlen(line) + 1);
	memcpy(s->owner, sp, strlen(sp) + 1);
}

struct ldvm_standby *
ldvm_standby_wait(int fd)
{
	struct ldvm_standby *s;
	char line[LDVM_NAME_MAX + OWNER_MAX + 2], buf[128];
	size_t have = 0;
	bool over = false;
	ssize_t n;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			free(s);
			errno = e;
			return NULL;
		}
		/* More than one line can hold: nothing kept. */
		if (over || (size_t)n > sizeof(line) - have) {
			over = true;
			continue;
		}
		memcpy(line + have, buf, (size_t)n);
		have += (size_t)n;
	}
	if (!over)
		parse_line(s, line, have);
	return s;
}

const char *
ldvm_standby_name(const struct ldvm_standby *s)
{
	return s->name[0] != '\0' ? s->name : NULL;
}

/* The record of s->name marked released, if s->owner still owns it. */
static int
release_txn(struct ldvm_ctx *ctx, xs_transaction_t t, void *arg)
{
	const struct ldvm_standby *s = arg;
	char *owner;
	bool same;
	int rc;

	if ((rc = ldvm__rec_read(ctx, t, s->name, "owner", &owner)) != 0)
		return rc == LDVM_ENOENT ? 0 : rc;
	same = strcmp(owner, s->owner) == 0;
	free(owner);
	if (!same)
		return 0;       /* taken over already, by a collection */
	if ((rc = ldvm__rec_write(ctx, t, s->name, "state", "dying")) != 0)
		return rc;
	return ldvm__rec_write(ctx, t, s->name, "owner", "");
}

int
ldvm_standby_release(struct ldvm_ctx *ctx, const struct ldvm_standby *s)
{
	int rc;

	if (s->name[0] == '\0')
		return 0;
	if ((rc = ldvm__need(ctx, LDVM_CONNECT_XS)) != 0)
		return rc;
	if ((rc = ldvm__xs_txn(ctx, release_txn, (void *)s)) != 0) {
		char msg[sizeof(ctx->err)];

		memcpy(msg, ctx->err, sizeof(msg));
		return ldvm__err(ctx, rc, "%s: release: %s", s->name, msg);
	}
	return 0;
}

void
ldvm_standby_free(struct ldvm_standby *s)
{
	free(s);
}

int
ldvm__standby_send(int fd, const char *name, const char *owner)
{
	char line[LDVM_NAME_MAX + OWNER_MAX + 2];
	int n = snprintf(line, sizeof(line), "%s %s\n", name, owner);

	if (n < 0 || (size_t)n >= sizeof(line))
		return -1;
	return send(fd, line, (size_t)n, MSG_NOSIGNAL) == n ? 0 : -1;
}
