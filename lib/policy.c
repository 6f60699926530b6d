/*
 * The dvm-open policy of dom0: which guest may open files in which
 * templates.  <confdir>/open.policy holds one line per guest:
 *
 *   GUEST TEMPLATE [TEMPLATE ...]
 *
 * The first template is the guest's default; the others may be asked for
 * by name.  GUEST "*" stands for every ordinary guest without a line of its
 * own; GUEST "@disposable" for every litedvm disposable, which no other
 * line matches (a disposable is only ever asking for a guest further up
 * its chain, so it gets rights only when they are given explicitly).
 * '#' starts a comment.  A guest with no line, and no "*" line, may not use
 * dvm-open at all.  Parsing is pure; loading reads the file once.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ldvm_internal.h"

#define POLICY_FILE_MAX (256 * 1024)
#define POLICY_GUEST_MAX 64
#define POLICY_TMPL_MAX 16
#define POLICY_DISPOSABLE "@disposable"

struct ldvm__policy_rule {
	char guest[POLICY_GUEST_MAX + 1];
	int ntmpl;
	char tmpl[POLICY_TMPL_MAX][LDVM_NAME_MAX + 1];
};

struct ldvm__policy {
	int nrules;
	struct ldvm__policy_rule *rules;
};

/* Guest names as libxl allows them, within reason: no spaces, no '/'. */
static bool
valid_guest(const char *s, size_t len)
{
	size_t i;

	if ((len == 1 && s[0] == '*') || (len == strlen(POLICY_DISPOSABLE) &&
	    memcmp(s, POLICY_DISPOSABLE, len) == 0))
		return true;
	if (len == 0 || len > POLICY_GUEST_MAX || s[0] == '-' || s[0] == '.')
		return false;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
			return false;
	}
	return true;
}

static int
perr(struct ldvm_ctx *ctx, const char *file, int line, const char *what,
    const char *tok, size_t toklen)
{
	return ldvm__err(ctx, LDVM_EINVAL, "%s:%d: %s '%.*s'", file, line, what,
	    (int)(toklen > 64 ? 64 : toklen), tok);
}

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* One line: its rule goes to r; *empty when it holds nothing. */
static int
parse_line(struct ldvm_ctx *ctx, const char *file, int line, const char *s,
    size_t len, struct ldvm__policy_rule *r, bool *empty)
{
	const char *hash = memchr(s, '#', len);
	size_t i = 0, n = 0;

	if (hash != NULL)
		len = (size_t)(hash - s);
	memset(r, 0, sizeof(*r));
	*empty = true;
	while (i < len) {
		size_t start;

		while (i < len && is_space(s[i]))
			i++;
		if (i == len)
			break;
		start = i;
		while (i < len && !is_space(s[i]))
			i++;
		if (n == 0) {
			if (!valid_guest(s + start, i - start))
				return perr(ctx, file, line, "bad guest name",
				    s + start, i - start);
			memcpy(r->guest, s + start, i - start);
		} else {
			char *t;

			if (n > POLICY_TMPL_MAX)
				return perr(ctx, file, line, "too many "
				    "templates for", r->guest,
				    strlen(r->guest));
			t = r->tmpl[n - 1];
			if (i - start > LDVM_NAME_MAX)
				return perr(ctx, file, line, "bad template name",
				    s + start, i - start);
			memcpy(t, s + start, i - start);
			t[i - start] = '\0';
			if (!ldvm__valid_name(t, LDVM_NAME_MAX))
				return perr(ctx, file, line, "bad template name",
				    s + start, i - start);
			r->ntmpl = (int)n;
		}
		n++;
		*empty = false;
	}
	if (!*empty && r->ntmpl == 0)
		return perr(ctx, file, line, "no template for guest", r->guest,
		    strlen(r->guest));
	return 0;
}

int
ldvm__policy_parse(struct ldvm_ctx *ctx, const char *text, size_t len,
    const char *file, struct ldvm__policy **out)
{
	struct ldvm__policy *p;
	size_t off = 0;
	int line = 0, rc, i;

	*out = NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return ldvm__errno(ctx, LDVM_ENOMEM, "calloc");
	while (off < len) {
		const char *nl = memchr(text + off, '\n', len - off);
		size_t llen = nl == NULL ? len - off : (size_t)(nl - text) - off;
		struct ldvm__policy_rule r, *nr;
		bool empty;

		line++;
		if (memchr(text + off, '\0', llen) != NULL) {
			rc = ldvm__err(ctx, LDVM_EINVAL, "%s:%d: NUL byte",
			    file, line);
			goto fail;
		}
		if ((rc = parse_line(ctx, file, line, text + off, llen, &r,
		    &empty)) != 0)
			goto fail;
		off += llen + 1;
		if (empty)
			continue;
		for (i = 0; i < p->nrules; i++)
			if (strcmp(p->rules[i].guest, r.guest) == 0) {
				rc = perr(ctx, file, line, "second line for "
				    "guest", r.guest, strlen(r.guest));
				goto fail;
			}
		nr = realloc(p->rules, sizeof(*nr) * (size_t)(p->nrules + 1));
		if (nr == NULL) {
			rc = ldvm__errno(ctx, LDVM_ENOMEM, "realloc");
			goto fail;
		}
		p->rules = nr;
		p->rules[p->nrules++] = r;
	}
	*out = p;
	return 0;
fail:
	ldvm__policy_free(p);
	return rc;
}

bool
ldvm__policy_mode_ok(uid_t owner, mode_t mode, uid_t me)
{
	return (owner == 0 || owner == me) && (mode & (S_IWGRP | S_IWOTH)) == 0;
}

int
ldvm__policy_load(struct ldvm_ctx *ctx, struct ldvm__policy **out)
{
	char path[PATH_MAX], *buf;
	struct stat st;
	ssize_t n;
	int fd, rc;

	*out = NULL;
	if (snprintf(path, sizeof(path), "%s/open.policy", ldvm_confdir()) >=
	    (int)sizeof(path))
		return ldvm__err(ctx, LDVM_EINVAL, "configuration path too long");
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return ldvm__errno(ctx, errno == ENOENT ? LDVM_ENOENT : LDVM_ESYS,
		    "%s", path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > POLICY_FILE_MAX) {
		close(fd);
		return ldvm__err(ctx, LDVM_EINVAL, "%s: not a regular file of "
		    "at most %d bytes", path, POLICY_FILE_MAX);
	}
	/* Whoever may write the policy decides what guests may do. */
	if (!ldvm__policy_mode_ok(st.st_uid, st.st_mode, geteuid())) {
		close(fd);
		return ldvm__err(ctx, LDVM_EPERM, "%s: unsafe owner or mode "
		    "(uid %u, mode %04o): it must be root's and writable by "
		    "nobody else (chown root %s; chmod go-w %s)", path,
		    (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777), path,
		    path);
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		return ldvm__errno(ctx, LDVM_ENOMEM, "malloc");
	}
	n = read(fd, buf, (size_t)st.st_size);
	close(fd);
	if (n < 0) {
		free(buf);
		return ldvm__errno(ctx, LDVM_ESYS, "%s", path);
	}
	rc = ldvm__policy_parse(ctx, buf, (size_t)n, path, out);
	free(buf);
	return rc;
}

void
ldvm__policy_free(struct ldvm__policy *p)
{
	if (p == NULL)
		return;
	free(p->rules);
	free(p);
}

static const struct ldvm__policy_rule *
rule(const struct ldvm__policy *p, const char *guest)
{
	for (int i = 0; i < p->nrules; i++)
		if (strcmp(p->rules[i].guest, guest) == 0)
			return &p->rules[i];
	return NULL;
}

int
ldvm__policy_decide(struct ldvm_ctx *ctx, const struct ldvm__policy *p,
    const char *guest, bool disposable, const char *want, char *tmpl,
    size_t size)
{
	const struct ldvm__policy_rule *r;
	int i;

	/*
	 * A disposable: its own line only, never a name or "*" line; an
	 * ordinary guest never the "@disposable" line, whatever its name.
	 */
	if (disposable)
		r = rule(p, POLICY_DISPOSABLE);
	else if (guest[0] == '@' || (r = rule(p, guest)) == NULL)
		r = rule(p, "*");
	if (r == NULL)
		return ldvm__err(ctx, LDVM_EPERM, "%s %s may not open files "
		    "in disposables%s", disposable ? "disposable" : "guest",
		    guest, disposable ? " (no " POLICY_DISPOSABLE " line)" : "");
	if (want == NULL || want[0] == '\0') {
		snprintf(tmpl, size, "%s", r->tmpl[0]);
		return 0;
	}
	for (i = 0; i < r->ntmpl; i++)
		if (strcmp(r->tmpl[i], want) == 0) {
			snprintf(tmpl, size, "%s", want);
			return 0;
		}
	return ldvm__err(ctx, LDVM_EPERM, "guest %s may not use template %s",
	    guest, want);
}
