/*
 * A hostile agent, run inside a guest by sys-chan: once the real agent
 * announced its listener argv[2], it announces listeners numbered from
 * argv[1] on, as dvm-agent does, and answers each dom0 session with one
 * kind of protocol violation, in the order of modes[].
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxenvchan.h>
#include <xenevtchn.h>

#include "ldvm_internal.h"
#include "xsawait.h"

enum { M_VERSION, M_UNKNOWN, M_WRONGDIR, M_OVERSIZE, M_BADEXIT,
	M_BADERROR, M_ERROR, M_VANISH, M_TINYRING, M_FLOOD, M_BACKWARDS,
	M_NMODES };

/* Events and nothing else, until dom0 gives up (at most 20 s). */
static int
flood(struct ldvm__chan *ch)
{
	int64_t end = ldvm__now_ms() + 20000;
	unsigned long n = 0;

	while (libxenvchan_is_open(ch->v) == 1 && ldvm__now_ms() < end)
		for (int i = 0; i < 1000; i++, n++)
			xenevtchn_notify(ch->v->event, ch->v->event_port);
	fprintf(stderr, "hostile: %lu events sent\n", n);
	return 0;
}

/* Rings of 4 KiB, where a frame never fits: dom0 must refuse them. */
static int
tiny_ring(struct ldvm_ctx *ctx, const char *path, const char *listen,
    const char *val)
{
	struct libxenvchan *v;
	int64_t end;

	if ((v = libxenvchan_server_init(&ctx->lg.vtable, 0, path, 4096,
	    4096)) == NULL || ldvm__xs_write(ctx, XBT_NULL, listen, val) != 0)
		return -1;
	/* dom0 connects and leaves at once; the ring stays silent. */
	for (end = ldvm__now_ms() + 10000; ldvm__now_ms() < end &&
	    libxenvchan_is_open(v) == 2; )
		usleep(10000);
	usleep(300000);
	libxenvchan_close(v);
	return 0;
}

static int
serve(struct ldvm_ctx *ctx, struct ldvm__chan *ch, int mode)
{
	static uint8_t big[LDVM_FRAME_MAX + 1];
	uint8_t v[8];

	if (mode == M_VERSION) {
		ldvm__put32(v, LDVM_PROTO_VERSION + 1);
		return ldvm__chan_send_wait(ctx, ch, LDVM_F_HELLO, v, 4, 10000);
	}
	if (ldvm__chan_hello(ctx, ch) != 0 ||
	    ldvm__chan_recv_wait(ctx, ch, 10000) != 0)
		return -1;
	switch (mode) {
	case M_UNKNOWN:
		return ldvm__chan_send_wait(ctx, ch, 99, "x", 1, 10000);
	case M_WRONGDIR:
		return ldvm__chan_send_wait(ctx, ch, LDVM_F_STDIN, "x", 1,
		    10000);
	case M_OVERSIZE:
		return ldvm__chan_send_wait(ctx, ch, LDVM_F_STDOUT, big,
		    sizeof(big), 10000);
	case M_BADEXIT:
		ldvm__put32(v, 5);
		ldvm__put32(v + 4, 0);
		return ldvm__chan_send_wait(ctx, ch, LDVM_F_EXIT, v, 8, 10000);
	case M_BADERROR:
		return ldvm__chan_send_wait(ctx, ch, LDVM_F_ERROR, "a\033[2Jb",
		    6, 10000);
	case M_ERROR:
		return ldvm__chan_send_wait(ctx, ch, LDVM_F_ERROR,
		    "cannot fork", 11, 10000);
	case M_VANISH:
		return ldvm__chan_send_wait(ctx, ch, LDVM_F_STDOUT, "partial",
		    7, 10000);
	case M_FLOOD:
		return flood(ch);
	case M_BACKWARDS:
		/*
		 * Our read index, far behind dom0's write index: more in the
		 * ring than it holds, no room left (dom0's free space would be
		 * negative).  Then dom0 is woken to see it.
		 */
		__atomic_store_n(&ch->v->read.shr->cons,
		    ch->v->read.shr->prod - 200000, __ATOMIC_RELEASE);
		xenevtchn_notify(ch->v->event, ch->v->event_port);
		return 0;
	}
	return -1;
}

int
main(int argc, char **argv)
{
	struct ldvm_ctx *ctx = ldvm_ctx_new();
	char *id, base[128], path[LDVM_XS_PATH_MAX], val[16];
	unsigned long seq, after;
	int mode;

	if (argc != 3 || ctx == NULL || (seq = strtoul(argv[1], NULL, 10)) == 0)
		return 2;
	after = strtoul(argv[2], NULL, 10);
	if (ldvm_connect(ctx, LDVM_CONNECT_XS) != 0 ||
	    ldvm__xs_read(ctx, XBT_NULL, "domid", &id) != 0)
		goto fail;
	snprintf(base, sizeof(base), "/local/domain/%s/data/litedvm", id);
	free(id);
	/*
	 * The real agent announces its next listener (numbered after) once
	 * the session that started us began, at idle priority: only once it
	 * did may ours replace it, or dom0 would claim the real one.
	 */
	if (ldvm__path(ctx, path, sizeof(path), "%s/listen", base) != 0 ||
	    xs_await_at_least(ctx, path, after, 60000) != 0)
		goto fail;
	for (mode = 0; mode < M_NMODES; mode++, seq++) {
		struct ldvm__chan *ch;

		snprintf(val, sizeof(val), "%lu", seq);
		if (mode == M_TINYRING) {
			char listen[LDVM_XS_PATH_MAX];

			if (ldvm__path(ctx, path, sizeof(path), "%s/vchan/%lu",
			    base, seq) != 0 || ldvm__path(ctx, listen,
			    sizeof(listen), "%s/listen", base) != 0 ||
			    tiny_ring(ctx, path, listen, val) != 0)
				goto fail;
			continue;
		}
		if (ldvm__path(ctx, path, sizeof(path), "%s/vchan/%lu", base,
		    seq) != 0 || ldvm__chan_listen(ctx, path, &ch) != 0)
			goto fail;
		if (ldvm__path(ctx, path, sizeof(path), "%s/listen", base) != 0 ||
		    ldvm__xs_write(ctx, XBT_NULL, path, val) != 0 ||
		    ldvm__chan_accept(ctx, ch) != 0)
			goto fail;
		if (serve(ctx, ch, mode) != 0)
			fprintf(stderr, "hostile: mode %d: %s\n", mode,
			    ldvm_errmsg(ctx));
		/* Let dom0 read before the ring goes away. */
		usleep(300000);
		ldvm__chan_close(ch);
	}
	return 0;
fail:
	fprintf(stderr, "hostile: %s\n", ldvm_errmsg(ctx));
	return 1;
}
