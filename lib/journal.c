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

/* The fields of a record from its values (NULL: unknown), into buf. */
static void
fields_of(char *buf, size_t size, const char *const s[5])
{
	char vals[5][80];
	long long age = -1;
	size_t i;

	for (i = 0; i < 5; i++)
		field(vals[i], sizeof(vals[i]), s[i]);
	if (strcmp(vals[4], "-") != 0)
		age = (long long)time(NULL) - strtoll(vals[4], NULL, 10);
	snprintf(buf, size, "template=%s domid=%s owner=%s driver=%s "
	    "lifetime_s=%lld", vals[0], vals[1], vals[2], vals[3], age);
}

void
ldvm__journal_fields(struct ldvm_ctx *ctx, const char *name, char *buf,
    size_t size)
{
	static const char *const keys[] = { "template", "domid", "owner",
	    "driver", "created" };
	char *s[5];
	size_t i;

	buf[0] = '\0';
	if (ctx->journalfn == NULL)
		return;
	for (i = 0; i < 5; i++)
		if (ldvm__rec_read(ctx, XBT_NULL, name, keys[i], &s[i]) != 0)
			s[i] = NULL;
	fields_of(buf, size, (const char *const *)s);
	for (i = 0; i < 5; i++)
		free(s[i]);
}

void
ldvm__journal_disp(struct ldvm_ctx *ctx, const char *event,
    const struct ldvm_disp *d)
{
	char fields[512], id[16];
	const char *s[5];

	if (ctx->journalfn == NULL)
		return;
	if (d->created[0] == '\0') {
		ldvm__journal_rec(ctx, event, d->name, NULL);
		return;
	}
	id[0] = '\0';
	if (d->domid != (uint32_t)INVALID_DOMID)
		snprintf(id, sizeof(id), "%u", d->domid);
	s[0] = d->tmpl;
	s[1] = id;
	s[2] = d->owner;
	s[3] = d->voldrv;
	s[4] = d->created;
	fields_of(fields, sizeof(fields), s);
	ldvm__journal(ctx, event, d->name, "%s", fields);
}
