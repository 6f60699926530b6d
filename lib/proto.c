/*
 * The channel's framing: an 8-byte header {u32 type, u32 len}, both
 * little-endian, then len payload bytes.  Pure functions: every frame a
 * peer sends is checked here before anything looks at its payload.
 */
#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ldvm_internal.h"

static const struct {
	const char *name;
	unsigned dirs;          /* bit LDVM_TO_AGENT, bit LDVM_TO_DOM0 */
	uint32_t min, max;      /* payload bounds */
} types[] = {
	[LDVM_F_HELLO] = { "HELLO", 3, 4, 4 },
	[LDVM_F_EXEC] = { "EXEC", 1 << LDVM_TO_AGENT, 10, LDVM_FRAME_MAX },
	[LDVM_F_STDIN] = { "STDIN", 1 << LDVM_TO_AGENT, 0, LDVM_FRAME_MAX },
	[LDVM_F_STDOUT] = { "STDOUT", 1 << LDVM_TO_DOM0, 0, LDVM_FRAME_MAX },
	[LDVM_F_STDERR] = { "STDERR", 1 << LDVM_TO_DOM0, 0, LDVM_FRAME_MAX },
	[LDVM_F_EXIT] = { "EXIT", 1 << LDVM_TO_DOM0, 8, 8 },
	[LDVM_F_ERROR] = { "ERROR", 1 << LDVM_TO_DOM0, 0, LDVM_ERROR_MAX },
	[LDVM_F_WINSIZE] = { "WINSIZE", 1 << LDVM_TO_AGENT, 4, 4 },
	[LDVM_F_FILE] = { "FILE", 3, 0, LDVM_FRAME_MAX },
	[LDVM_F_RESULT] = { "RESULT", 1 << LDVM_TO_AGENT, 4,
	    4 + LDVM_ERROR_MAX },
	[LDVM_F_TTYIN] = { "TTYIN", 1 << LDVM_TO_DOM0, 0, LDVM_FRAME_MAX },
	[LDVM_F_TTYOUT] = { "TTYOUT", 1 << LDVM_TO_AGENT, 0, LDVM_FRAME_MAX },
	[LDVM_F_TTYSIZE] = { "TTYSIZE", 1 << LDVM_TO_DOM0, 4, 4 },
};
#define NTYPES (sizeof(types) / sizeof(types[0]))

const char *
ldvm__frame_name(uint32_t type)
{
	if (type == 0 || type >= NTYPES)
		return "unknown";
	return types[type].name;
}

void
ldvm__put32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, sizeof(v));
}

uint32_t
ldvm__get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}

static void
put16(uint8_t *p, uint16_t v)
{
	v = htole16(v);
	memcpy(p, &v, sizeof(v));
}

static uint16_t
get16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return le16toh(v);
}

int
ldvm__frame_check(uint32_t type, uint32_t len, enum ldvm__dir dir, char *why,
    size_t whysz)
{
	if (type == 0 || type >= NTYPES) {
		snprintf(why, whysz, "unknown frame type %u (length %u)", type,
		    len);
		return -1;
	}
	if (!(types[type].dirs & (1u << dir))) {
		snprintf(why, whysz, "%s frame in the wrong direction",
		    types[type].name);
		return -1;
	}
	if (len < types[type].min || len > types[type].max) {
		snprintf(why, whysz, "%s frame of bad length %u (%u..%u)",
		    types[type].name, len, types[type].min, types[type].max);
		return -1;
	}
	return 0;
}

void
ldvm__rx_init(struct ldvm__rx *rx, enum ldvm__dir dir)
{
	memset(rx, 0, offsetof(struct ldvm__rx, buf));
	rx->dir = dir;
}

size_t
ldvm__rx_want(const struct ldvm__rx *rx)
{
	if (rx->failed)
		return 0;
	if (rx->hgot < LDVM_FRAME_HDR)
		return LDVM_FRAME_HDR - rx->hgot;
	return rx->len - rx->pgot;
}

int
ldvm__rx_feed(struct ldvm__rx *rx, const uint8_t *p, size_t n, size_t *used,
    char *why, size_t whysz)
{
	size_t take;

	*used = 0;
	if (rx->failed) {
		snprintf(why, whysz, "the channel already broke the protocol");
		return -1;
	}
	if (rx->hgot < LDVM_FRAME_HDR) {
		take = LDVM_FRAME_HDR - rx->hgot;
		if (take > n)
			take = n;
		memcpy(rx->hdr + rx->hgot, p, take);
		rx->hgot += take;
		*used += take;
		p += take;
		n -= take;
		if (rx->hgot < LDVM_FRAME_HDR)
			return 0;
		rx->type = ldvm__get32(rx->hdr);
		rx->len = ldvm__get32(rx->hdr + 4);
		rx->pgot = 0;
		if (ldvm__frame_check(rx->type, rx->len, rx->dir, why, whysz)) {
			rx->failed = true;
			return -1;
		}
	}
	take = rx->len - rx->pgot;
	if (take > n)
		take = n;
	memcpy(rx->buf + rx->pgot, p, take);
	rx->pgot += take;
	*used += take;
	return rx->pgot == rx->len ? 1 : 0;
}

void
ldvm__rx_next(struct ldvm__rx *rx)
{
	rx->hgot = 0;
	rx->pgot = 0;
	rx->len = 0;
	rx->type = 0;
}

size_t
ldvm__exec_encode(uint8_t *buf, size_t cap, unsigned flags, uint16_t rows,
    uint16_t cols, char *const argv[])
{
	size_t len = 8, i;

	if (argv == NULL || argv[0] == NULL || argv[0][0] == '\0' || cap < 8)
		return 0;
	ldvm__put32(buf, flags);
	put16(buf + 4, rows);
	put16(buf + 6, cols);
	for (i = 0; argv[i] != NULL; i++) {
		size_t n = strlen(argv[i]) + 1;

		if (i >= LDVM_ARGV_MAX || len + n > cap || len + n >
		    LDVM_FRAME_MAX)
			return 0;
		memcpy(buf + len, argv[i], n);
		len += n;
	}
	return len;
}

int
ldvm__exec_decode(const uint8_t *p, size_t len, unsigned *flags,
    uint16_t *rows, uint16_t *cols, char ***argvp, char *why, size_t whysz)
{
	size_t i, argc = 0, start;
	char **argv;
	char *copy;

	*argvp = NULL;
	if (len < 10 || len > LDVM_FRAME_MAX) {
		snprintf(why, whysz, "EXEC of bad length %zu", len);
		return -1;
	}
	if (p[len - 1] != '\0') {
		snprintf(why, whysz, "EXEC argument not terminated");
		return -1;
	}
	*flags = ldvm__get32(p);
	*rows = get16(p + 4);
	*cols = get16(p + 6);
	if (*flags & ~(LDVM_EXEC_TTY | LDVM_EXEC_USER | LDVM_EXEC_WAYLAND)) {
		snprintf(why, whysz, "EXEC with unknown flags 0x%x", *flags);
		return -1;
	}
	for (i = 8; i < len; i++)
		if (p[i] == '\0')
			argc++;
	if (argc > LDVM_ARGV_MAX || p[8] == '\0') {
		snprintf(why, whysz, argc > LDVM_ARGV_MAX ? "EXEC with too "
		    "many arguments" : "EXEC with an empty command");
		return -1;
	}
	if ((*flags & LDVM_EXEC_USER) && (argc < 2 ||
	    !ldvm__valid_user((const char *)p + 8) ||
	    p[9 + strlen((const char *)p + 8)] == '\0')) {
		snprintf(why, whysz, argc < 2 ? "EXEC with a user and no "
		    "command" : "EXEC with a bad user name or an empty command");
		return -1;
	}
	/* One allocation: the pointer array, then a copy of the strings. */
	if ((argv = malloc((argc + 1) * sizeof(*argv) + len - 8)) == NULL) {
		snprintf(why, whysz, "out of memory");
		return -1;
	}
	copy = (char *)(argv + argc + 1);
	memcpy(copy, p + 8, len - 8);
	for (i = 0, start = 0; i < argc; i++) {
		argv[i] = copy + start;
		start += strlen(copy + start) + 1;
	}
	argv[argc] = NULL;
	*argvp = argv;
	return 0;
}

void
ldvm__exit_encode(uint8_t buf[8], int signaled, int value)
{
	ldvm__put32(buf, signaled ? 1 : 0);
	ldvm__put32(buf + 4, (uint32_t)value);
}

int
ldvm__exit_decode(const uint8_t buf[8], int *status)
{
	uint32_t kind = ldvm__get32(buf), value = ldvm__get32(buf + 4);

	if (kind == 0 && value <= 255) {
		*status = (int)value;
		return 0;
	}
	if (kind == 1 && value >= 1 && value <= 64) {
		*status = 128 + (int)value;
		return 0;
	}
	return -1;
}

bool
ldvm__ring_fits(int order)
{
	return order >= 0 && order < 31 &&
	    ((size_t)1 << order) >= LDVM_FRAME_HDR + LDVM_FRAME_MAX;
}

long
ldvm__ring_used(uint32_t prod, uint32_t cons, int order)
{
	uint32_t used = prod - cons;

	if (order < 0 || order >= 31 || used > (uint32_t)1 << order)
		return -1;
	return (long)used;
}

/*
 * Standard input is read only when the ring had room for a frame of at
 * least LDVM_IN_MIN bytes; the room grows until we write, unless the peer
 * moves its index backwards.  Less room than that is the peer's doing.
 */
long
ldvm__stdin_room(int space)
{
	if (space < LDVM_FRAME_HDR + LDVM_IN_MIN)
		return -1;
	space -= LDVM_FRAME_HDR;
	return space < LDVM_FRAME_MAX ? space : LDVM_FRAME_MAX;
}

bool
ldvm__wake_note(struct ldvm__wake *w, const uint32_t now[3])
{
	if (memcmp(w->seen, now, sizeof(w->seen)) != 0) {
		memcpy(w->seen, now, sizeof(w->seen));
		w->idle = 0;
		return true;
	}
	return ++w->idle < LDVM_IDLE_WAKES;
}
