/*
 * The lifecycle journal: one line per event in a disposable's life
 * (created, ready, claimed, released, destroyed, collected, refused) to
 * the caller's journal function, which the tools point at syslog(3).
 * Lines are "EVENT key=value ...": values are names and numbers from
 * dom0's own records, and any other text is quoted with its unprintable
 * bytes reduced, so a line always reads back as the fields it was made of.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ldvm_internal.h"

void
ldvm_set_journal(struct ldvm_ctx *ctx, ldvm_journal_fn *fn, void *arg)
{
	ctx->journalfn = fn;
	ctx->journalarg = arg;
}

/* Copies s into a field value: printable ASCII, no space, no quote. */
static void
field(char *out, size_t size, const char *s)
{
	size_t i;

	for (i = 0; s != NULL && s[i] != '\0' && i + 1 < size; i++)
		out[i] = s[i] > 0x20 && s[i] < 0x7f && s[i] != '"' &&
		    s[i] != '=' ? s[i] : '_';
	if (i == 0 && size > 1)
		out[i++] = '-';
	out[i] = '\0';
}

void
ldvm__journal(struct ldvm_ctx *ctx, const char *event, const char *name,
    const char *fmt, ...)
{
	char line[768], v[LDVM_NAME_MAX + 1];
	va_list ap;
	int n;

	if (ctx->journalfn == NULL)
		return;
	field(v, sizeof(v), name);
	n = snprintf(line, sizeof(line), "%s name=%s", event, v);
	if (fmt != NULL && n > 0 && (size_t)n < sizeof(line) - 1) {
		line[n++] = ' ';
		va_start(ap, fmt);
		vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
		va_end(ap);
	}
	ctx->journalfn(ctx->journalarg, line);
}

void
ldvm__journal_text(char *out, size_t size, const char *s)
{
	size_t i, o = 0;

	if (size < 3)
		return;
	out[o++] = '"';
	for (i = 0; s != NULL && s[i] != '\0' && o + 2 < size; i++)
		out[o++] = s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' &&
		    s[i] != '\\' ? s[i] : '_';
	out[o++] = '"';
	out[o] = '\0';
}

void
ldvm__journal_rec(struct ldvm_ctx *ctx, const char *event, const char *name,
    const char *extra)
{
	char fields[512];

	if (ctx->journalfn == NULL)
		return;
	ldvm__journal_fields(ctx, name, fields, sizeof(fields));
	ldvm__journal(ctx, event, name, "%s%s%s", fields, extra != NULL ? " " :
	    "", extra != NULL ? extra : "");
}

void
ldvm__journal_fields(struct ldvm_ctx *ctx, const char *name, char *buf,
    size_t size)
{
	static const char *const keys[] = { "template", "domid", "owner",
	    "driver", "created" };
	char vals[5][80], *s;
	long long age = -1;
	size_t i;

	buf[0] = '\0';
	if (ctx->journalfn == NULL)
		return;
	for (i = 0; i < 5; i++) {
		s = NULL;
		if (ldvm__rec_read(ctx, XBT_NULL, name, keys[i], &s) != 0)
			s = NULL;
		field(vals[i], sizeof(vals[i]), s);
		free(s);
	}
	if (strcmp(vals[4], "-") != 0)
		age = (long long)time(NULL) - strtoll(vals[4], NULL, 10);
	snprintf(buf, size, "template=%s domid=%s owner=%s driver=%s "
	    "lifetime_s=%lld", vals[0], vals[1], vals[2], vals[3], age);
}
