/*
 * The xenstore client of the statically linked guest tools (dvm-open), in
 * place of libxenstore: the calls of libxenstore's API that liblitedvm
 * and libxenvchan make, spoken over the guest's xenbus device (or
 * xenstored's socket) by the wire protocol of xen/io/xs_wire.h.
 *
 * Why not Debian's static libxenstore: it is built without threads, and
 * then reads watch events only inside its own calls.  Its xs_fileno
 * never becomes readable for an event that comes while the program
 * polls, and a call whose reply comes behind an event fails and closes
 * the connection.  Here every message read is sorted as it comes: a
 * reply to the call waiting for it, an event to a queue; xs_fileno is an
 * epoll descriptor, readable while the connection has data or the queue
 * holds an event.  One call at a time, as the library makes them.
 *
 * A shared libxenstore costs every start of the program the loading and
 * relocation of three libraries: under emulation, 31 ms of a dvm-open
 * request's some 170 (`dvm-open -h` in a guest, median of 15: 139.4 ms
 * dynamic, 108.5 ms static, busybox `true` 108.4 ms).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <xenstore.h>
#include <xen/io/xs_wire.h>

#define HDR sizeof(struct xsd_sockmsg)

struct event {
	struct event *next;
	char **w;               /* path, token: one allocation */
};

struct xs_handle {
	int fd;                 /* the device or the socket */
	int ep;                 /* epoll: fd and sig[0] */
	int sig[2];             /* a byte while the queue holds events */
	bool sock;
	bool broken;            /* a read or write failed midway */
	uint32_t req_id;
	struct event *head, **tail;
	size_t have;            /* bytes of the message in buf */
	unsigned char buf[HDR + XENSTORE_PAYLOAD_MAX];
};

static uint32_t
hdr_len(const struct xs_handle *h)
{
	struct xsd_sockmsg m;

	memcpy(&m, h->buf, HDR);
	return m.len;
}

static int
connect_sock(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(a.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(a.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* xenstored's socket where there is one (dom0), else the xenbus device. */
static int
open_store(bool *sock)
{
	const char *env = getenv("XENSTORED_PATH");
	const char *path = env != NULL ? env : "/run/xenstored/socket";
	struct stat st;
	int fd;

	*sock = stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
	if (*sock)
		return connect_sock(path);
	if (env != NULL)
		return open(env, O_RDWR | O_CLOEXEC);
	if ((fd = open("/dev/xen/xenbus", O_RDWR | O_CLOEXEC)) >= 0 ||
	    errno != ENOENT)
		return fd;
	return open("/proc/xen/xenbus", O_RDWR | O_CLOEXEC);
}

void
xs_close(struct xs_handle *h)
{
	struct event *e, *n;

	if (h == NULL)
		return;
	for (e = h->head; e != NULL; e = n) {
		n = e->next;
		free(e->w);
		free(e);
	}
	if (h->fd >= 0)
		close(h->fd);
	if (h->ep >= 0)
		close(h->ep);
	if (h->sig[0] >= 0) {
		close(h->sig[0]);
		close(h->sig[1]);
	}
	free(h);
}

struct xs_handle *
xs_open(unsigned long flags)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct xs_handle *h;
	int e;

	(void)flags;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	h->ep = h->sig[0] = h->sig[1] = -1;
	h->tail = &h->head;
	if ((h->fd = open_store(&h->sock)) < 0 ||
	    fcntl(h->fd, F_SETFL, fcntl(h->fd, F_GETFL) | O_NONBLOCK) < 0 ||
	    pipe2(h->sig, O_CLOEXEC | O_NONBLOCK) < 0 ||
	    (h->ep = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    epoll_ctl(h->ep, EPOLL_CTL_ADD, h->fd, &ev) < 0 ||
	    (ev.data.fd = h->sig[0],
	    epoll_ctl(h->ep, EPOLL_CTL_ADD, h->sig[0], &ev)) < 0)
		goto fail;
	return h;
fail:
	e = errno;
	xs_close(h);
	errno = e;
	return NULL;
}

int
xs_fileno(struct xs_handle *h)
{
	return h->ep;
}

static bool
wait_fd(int fd, short what)
{
	struct pollfd p = { .fd = fd, .events = what };

	return poll(&p, 1, -1) >= 0 || errno == EINTR;
}

/*
 * Reads into h->buf until it holds one whole message (1), or until the
 * connection has no more for now (0, when !block).  -1: an error, the
 * connection then unusable.
 */
static int
read_msg(struct xs_handle *h, bool block)
{
	for (;;) {
		size_t need = HDR;
		ssize_t n;

		if (h->have >= HDR) {
			if (hdr_len(h) > XENSTORE_PAYLOAD_MAX) {
				errno = E2BIG;
				return -1;
			}
			need += hdr_len(h);
			if (h->have == need)
				return 1;
		}
		n = read(h->fd, h->buf + h->have, need - h->have);
		if (n > 0) {
			h->have += (size_t)n;
			continue;
		}
		if (n == 0)
			errno = EBADF;
		else if (errno == EINTR)
			continue;
		else if (errno == EAGAIN && !block)
			return 0;
		else if (errno == EAGAIN && wait_fd(h->fd, POLLIN))
			continue;
		return -1;
	}
}

/* The message in h->buf: its header, and its body made a C string. */
static char *
take_msg(struct xs_handle *h, struct xsd_sockmsg *m)
{
	char *body;

	memcpy(m, h->buf, HDR);
	if ((body = malloc(m->len + 1)) != NULL) {
		memcpy(body, h->buf + HDR, m->len);
		body[m->len] = '\0';
	}
	h->have = 0;
	return body;
}

/* An event's body (path and token) queued as xs_check_watch returns it. */
static int
queue_event(struct xs_handle *h, const char *body, uint32_t len)
{
	size_t plen = strnlen(body, len), tlen;
	struct event *e;
	char *s;

	tlen = plen < len ? strnlen(body + plen + 1, len - plen - 1) : 0;
	if ((e = malloc(sizeof(*e))) == NULL ||
	    (e->w = malloc(2 * sizeof(char *) + plen + tlen + 2)) == NULL) {
		free(e);
		return -1;
	}
	s = (char *)(e->w + 2);
	memcpy(s, body, plen);
	s[plen] = '\0';
	memcpy(s + plen + 1, plen < len ? body + plen + 1 : "", tlen);
	s[plen + 1 + tlen] = '\0';
	e->w[XS_WATCH_PATH] = s;
	e->w[XS_WATCH_TOKEN] = s + plen + 1;
	e->next = NULL;
	if (h->head == NULL)
		(void)!write(h->sig[1], "", 1);
	*h->tail = e;
	h->tail = &e->next;
	return 0;
}

/* The queue emptied: its byte taken back, so xs_fileno no longer shows it. */
static void
queue_emptied(struct xs_handle *h)
{
	char c;

	while (read(h->sig[0], &c, 1) == 1)
		;
}

/*
 * Takes in a message: an event is queued (0), anything else is a reply
 * (1, its body in *body).  -1: an error.
 */
static int
sort_msg(struct xs_handle *h, struct xsd_sockmsg *m, char **body)
{
	if ((*body = take_msg(h, m)) == NULL)
		return -1;
	if (m->type != XS_WATCH_EVENT)
		return 1;
	if (queue_event(h, *body, m->len) < 0) {
		free(*body);
		return -1;
	}
	free(*body);
	*body = NULL;
	return 0;
}

static bool
write_all(struct xs_handle *h, const unsigned char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = h->sock ? send(h->fd, p, len, MSG_NOSIGNAL) :
		    write(h->fd, p, len);

		if (n > 0) {
			p += n;
			len -= (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && errno == EAGAIN && wait_fd(h->fd, POLLOUT)) {
			continue;
		} else {
			if (n == 0)
				errno = EIO;
			return false;
		}
	}
	return true;
}

static int
error_of(const char *s)
{
	for (size_t i = 0; i < sizeof(xsd_errors) / sizeof(xsd_errors[0]); i++)
		if (strcmp(s, xsd_errors[i].errstring) == 0)
			return xsd_errors[i].errnum;
	return EINVAL;
}

/*
 * One request, its payload the n parts of lens[i] bytes, and its reply: a
 * C string of *len bytes; NULL with errno on failure.
 */
static char *
talk(struct xs_handle *h, uint32_t type, xs_transaction_t t,
    const char *const parts[], const size_t lens[], size_t n, unsigned *len)
{
	unsigned char out[HDR + XENSTORE_PAYLOAD_MAX];
	struct xsd_sockmsg m = { .type = type, .tx_id = t };
	size_t off = HDR;
	char *body = NULL;
	int r;

	if (h->broken) {
		errno = EBADF;
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		if (lens[i] > sizeof(out) - off) {
			errno = E2BIG;
			return NULL;
		}
		memcpy(out + off, parts[i], lens[i]);
		off += lens[i];
	}
	m.req_id = ++h->req_id;
	m.len = (uint32_t)(off - HDR);
	memcpy(out, &m, HDR);
	if (!write_all(h, out, off))
		goto broken;
	while ((r = read_msg(h, true)) == 1 &&
	    (r = sort_msg(h, &m, &body)) == 0)
		;
	if (r < 0)
		goto broken;
	if (m.type == XS_ERROR) {
		r = error_of(body);
		free(body);
		errno = r;
		return NULL;
	}
	if (m.type != type) {
		free(body);
		errno = EBADF;
		goto broken;
	}
	if (len != NULL)
		*len = m.len;
	return body;
broken:
	r = errno;
	h->broken = true;
	errno = r;
	return NULL;
}

/* talk with the C strings a (and b, when not NULL), each with its NUL. */
static char *
talk2(struct xs_handle *h, uint32_t type, xs_transaction_t t, const char *a,
    const char *b, unsigned *len)
{
	const char *p[2] = { a, b };
	size_t l[2] = { strlen(a) + 1, b != NULL ? strlen(b) + 1 : 0 };

	return talk(h, type, t, p, l, b != NULL ? 2 : 1, len);
}

static bool
done(char *reply)
{
	free(reply);
	return reply != NULL;
}

void *
xs_read(struct xs_handle *h, xs_transaction_t t, const char *path,
    unsigned int *len)
{
	return talk2(h, XS_READ, t, path, NULL, len);
}

bool
xs_write(struct xs_handle *h, xs_transaction_t t, const char *path,
    const void *data, unsigned int len)
{
	const char *p[2] = { path, data };
	size_t l[2] = { strlen(path) + 1, len };

	return done(talk(h, XS_WRITE, t, p, l, 2, NULL));
}

bool
xs_rm(struct xs_handle *h, xs_transaction_t t, const char *path)
{
	return done(talk2(h, XS_RM, t, path, NULL, NULL));
}

char **
xs_directory(struct xs_handle *h, xs_transaction_t t, const char *path,
    unsigned int *num)
{
	unsigned len, n = 0, i;
	char *s, **v, *p;

	if ((s = talk2(h, XS_DIRECTORY, t, path, NULL, &len)) == NULL)
		return NULL;
	for (i = 0; i < len; i++)
		n += s[i] == '\0';
	if ((v = malloc(n * sizeof(char *) + len + 1)) == NULL) {
		free(s);
		return NULL;
	}
	p = (char *)(v + n);
	memcpy(p, s, len + 1);
	free(s);
	for (i = 0; i < n; i++) {
		v[i] = p;
		p += strlen(p) + 1;
	}
	*num = n;
	return v;
}

bool
xs_watch(struct xs_handle *h, const char *path, const char *token)
{
	return done(talk2(h, XS_WATCH, XBT_NULL, path, token, NULL));
}

/* Also drops the events of that watch still queued. */
bool
xs_unwatch(struct xs_handle *h, const char *path, const char *token)
{
	bool ok = done(talk2(h, XS_UNWATCH, XBT_NULL, path, token, NULL));
	struct event **pe = &h->head, *e;
	size_t n = strlen(path);

	while ((e = *pe) != NULL) {
		const char *p = e->w[XS_WATCH_PATH];

		if (strcmp(e->w[XS_WATCH_TOKEN], token) == 0 &&
		    strncmp(p, path, n) == 0 && (p[n] == '\0' || p[n] == '/')) {
			*pe = e->next;
			free(e->w);
			free(e);
		} else {
			pe = &e->next;
		}
	}
	h->tail = pe;
	if (h->head == NULL)
		queue_emptied(h);
	return ok;
}

char **
xs_check_watch(struct xs_handle *h)
{
	struct xsd_sockmsg m;
	struct event *e;
	char *body, **w;
	int r;

	/* What came meanwhile; a reply no call waits for breaks it. */
	while (!h->broken && (r = read_msg(h, false)) != 0) {
		if (r < 0 || (r = sort_msg(h, &m, &body)) < 0) {
			h->broken = true;
			return NULL;
		}
		if (r == 1) {
			free(body);
			h->broken = true;
			errno = EBADF;
			return NULL;
		}
	}
	if ((e = h->head) == NULL) {
		errno = h->broken ? EBADF : EAGAIN;
		return NULL;
	}
	if ((h->head = e->next) == NULL) {
		h->tail = &h->head;
		queue_emptied(h);
	}
	w = e->w;
	free(e);
	return w;
}

xs_transaction_t
xs_transaction_start(struct xs_handle *h)
{
	char *id = talk2(h, XS_TRANSACTION_START, XBT_NULL, "", NULL, NULL);
	unsigned long v;

	if (id == NULL)
		return XBT_NULL;
	v = strtoul(id, NULL, 10);
	free(id);
	return (xs_transaction_t)v;
}

bool
xs_transaction_end(struct xs_handle *h, xs_transaction_t t, bool abort)
{
	return done(talk2(h, XS_TRANSACTION_END, t, abort ? "F" : "T", NULL,
	    NULL));
}

bool
xs_set_permissions(struct xs_handle *h, xs_transaction_t t,
    const char *path, struct xs_permissions *perms, unsigned int num_perms)
{
	char buf[XENSTORE_PAYLOAD_MAX];
	size_t off = 0;
	const char *p[2] = { path, buf };
	size_t l[2] = { strlen(path) + 1, 0 };

	for (unsigned i = 0; i < num_perms; i++) {
		static const char c[4] = { 'n', 'r', 'w', 'b' };
		int n = snprintf(buf + off, sizeof(buf) - off, "%c%u",
		    c[perms[i].perms & 3], perms[i].id);

		if (n < 0 || (size_t)n + 1 >= sizeof(buf) - off) {
			errno = E2BIG;
			return false;
		}
		off += (size_t)n + 1;
	}
	l[1] = off;
	return done(talk(h, XS_SET_PERMS, t, p, l, 2, NULL));
}
