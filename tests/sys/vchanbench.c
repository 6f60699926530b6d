/*
 * Raw libxenvchan throughput between dom0 and a guest, for the benchmark
 * (tests/sys/bench.sh): the yardstick dvm-run's streams are measured
 * against.  Rings of the agent's size, the plain stream calls, blocking.
 *
 *   vchanbench serve BYTES          in the guest: a server at its own
 *                                   data/vchanbench; reads BYTES, answers
 *                                   one byte, writes BYTES, twice, then
 *                                   waits for dom0 to close
 *   vchanbench connect DOMID BYTES  in dom0: sends BYTES, reads the answer
 *                                   and BYTES, twice; prints the better
 *                                   rate of each way in MiB/s
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libxenvchan.h>
#include <xenstore.h>

/* As lib/chan.c: 128 KiB each way. */
#define RING_SIZE (128 * 1024)
#define CHUNK 65536

static uint8_t buf[CHUNK];

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
put(struct libxenvchan *v, size_t n)
{
	while (n > 0) {
		int w = libxenvchan_write(v, buf, n < CHUNK ? n : CHUNK);

		if (w <= 0)
			return -1;
		n -= (size_t)w;
	}
	return 0;
}

static int
get(struct libxenvchan *v, size_t n)
{
	while (n > 0) {
		int r = libxenvchan_read(v, buf, n < CHUNK ? n : CHUNK);

		if (r <= 0)
			return -1;
		n -= (size_t)r;
	}
	return 0;
}

static char *
own_path(void)
{
	struct xs_handle *xs = xs_open(0);
	static char path[128];
	char *id;

	if (xs == NULL || (id = xs_read(xs, XBT_NULL, "domid", NULL)) == NULL)
		return NULL;
	snprintf(path, sizeof(path), "/local/domain/%s/data/vchanbench", id);
	free(id);
	xs_close(xs);
	return path;
}

int
main(int argc, char **argv)
{
	struct libxenvchan *v;
	size_t n;
	double t0, t1, t2, tin = 1e9, tout = 1e9;

	memset(buf, 0x5a, sizeof(buf));
	if (argc == 3 && strcmp(argv[1], "serve") == 0) {
		char *path = own_path();

		n = strtoull(argv[2], NULL, 10);
		if (path == NULL || (v = libxenvchan_server_init(NULL, 0, path,
		    RING_SIZE, RING_SIZE)) == NULL) {
			perror("vchanbench: server");
			return 1;
		}
		v->blocking = 1;
		for (int round = 0; round < 2; round++)
			if (get(v, n) != 0 || put(v, 1) != 0 || put(v, n) != 0) {
				fprintf(stderr, "vchanbench: transfer failed\n");
				return 1;
			}
		/* dom0 closes once it has everything. */
		while (libxenvchan_is_open(v) == 1)
			libxenvchan_wait(v);
		libxenvchan_close(v);
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "connect") == 0) {
		char path[128];
		int domid = atoi(argv[2]);

		n = strtoull(argv[3], NULL, 10);
		snprintf(path, sizeof(path), "/local/domain/%d/data/vchanbench",
		    domid);
		if ((v = libxenvchan_client_init(NULL, domid, path)) == NULL) {
			perror("vchanbench: client");
			return 1;
		}
		v->blocking = 1;
		for (int round = 0; round < 2; round++) {
			t0 = now();
			if (put(v, n) != 0 || get(v, 1) != 0)
				goto fail;
			t1 = now();
			if (get(v, n) != 0)
				goto fail;
			t2 = now();
			if (t1 - t0 < tin)
				tin = t1 - t0;
			if (t2 - t1 < tout)
				tout = t2 - t1;
		}
		libxenvchan_close(v);
		printf("raw vchan in  %.2f MiB/s (%.2f s)\n",
		    (double)n / 1048576 / tin, tin);
		printf("raw vchan out %.2f MiB/s (%.2f s)\n",
		    (double)n / 1048576 / tout, tout);
		return 0;
fail:
		fprintf(stderr, "vchanbench: transfer failed\n");
		return 1;
	}
	fprintf(stderr, "usage: vchanbench serve BYTES | connect DOMID BYTES\n");
	return 2;
}
