/*
 * Frame reception (ldvm__rx_init/_want/_feed/_next) and the decoder of
 * every frame type, as an end of the channel sees its peer's bytes.  The
 * first byte picks the direction and how the stream is cut into reads;
 * the rest is the stream.  However it is cut, the same frames must come
 * out, and a refused header must stop everything after it.
 */
#include "fuzz.h"

#define MAXFRAMES 8192

struct frame {
	uint32_t type, len;
	uint64_t hash;
};

static struct ldvm__rx rx;
static struct frame whole[MAXFRAMES], cut[MAXFRAMES];

static uint64_t
hash(const uint8_t *p, size_t n)
{
	uint64_t h = 14695981039346656037ULL;

	while (n-- > 0) {
		h ^= *p++;
		h *= 1099511628211ULL;
	}
	return h;
}

/* What the receiving end does with a frame's payload. */
static void
decode(uint32_t type, const uint8_t *buf, uint32_t len)
{
	uint8_t *p = (uint8_t *)fuzz_copy(buf, len, 0), enc[8];
	char why[128], **argv;
	unsigned flags;
	uint16_t rows, cols;
	int status;

	switch (type) {
	case LDVM_F_HELLO:
		FUZZ_CHECK(len == 4);
		(void)ldvm__get32(p);
		break;
	case LDVM_F_EXEC:
		if (ldvm__exec_decode(p, len, &flags, &rows, &cols, &argv,
		    why, sizeof(why)) == 0) {
			FUZZ_CHECK(argv[0] != NULL && argv[0][0] != '\0');
			free(argv);
		} else
			FUZZ_WHY_OK(why);
		break;
	case LDVM_F_EXIT:
		FUZZ_CHECK(len == 8);
		if (ldvm__exit_decode(p, &status) == 0) {
			FUZZ_CHECK(status >= 0 && status <= 255);
			ldvm__exit_encode(enc, ldvm__get32(p) == 1,
			    (int)ldvm__get32(p + 4));
			FUZZ_CHECK(memcmp(enc, p, 8) == 0);
		}
		break;
	case LDVM_F_RESULT:
		FUZZ_CHECK(len >= 4 && len <= 4 + LDVM_ERROR_MAX);
		(void)ldvm__get32(p);
		(void)ldvm__valid_text((const char *)p + 4, len - 4);
		break;
	case LDVM_F_ERROR:
		FUZZ_CHECK(len <= LDVM_ERROR_MAX);
		(void)ldvm__valid_text((const char *)p, len);
		break;
	case LDVM_F_WINSIZE: case LDVM_F_TTYSIZE:
		FUZZ_CHECK(len == 4);
		break;
	case LDVM_F_STDIN: case LDVM_F_STDOUT: case LDVM_F_STDERR:
	case LDVM_F_FILE: case LDVM_F_TTYIN: case LDVM_F_TTYOUT:
		break;
	default:
		FUZZ_CHECK(!"frame of an unknown type delivered");
	}
	free(p);
}

/*
 * Feeds the stream in reads of the sizes seed gives (0: all at once);
 * returns how many frames came out, *broke when a header was refused.
 */
static size_t
receive(enum ldvm__dir dir, const uint8_t *p, size_t n, unsigned seed,
    struct frame *out, int *broke)
{
	uint32_t lcg = seed * 2654435761u + 1;
	size_t nf = 0, used;
	char why[160];
	int r;

	ldvm__rx_init(&rx, dir);
	*broke = 0;
	while (n > 0) {
		size_t chunk = n;

		if (seed != 0) {
			lcg = lcg * 1103515245u + 12345u;
			chunk = 1 + (lcg >> 16) % (seed < 16 ? seed : 300);
			if (chunk > n)
				chunk = n;
		}
		while (chunk > 0) {
			size_t want = ldvm__rx_want(&rx);

			FUZZ_CHECK(want > 0);
			r = ldvm__rx_feed(&rx, p, chunk, &used, why,
			    sizeof(why));
			FUZZ_CHECK(used <= chunk);
			if (r < 0) {
				FUZZ_WHY_OK(why);
				FUZZ_CHECK(ldvm__rx_want(&rx) == 0);
				/* Nothing more is taken. */
				FUZZ_CHECK(ldvm__rx_feed(&rx, p, chunk, &used,
				    why, sizeof(why)) == -1 && used == 0);
				*broke = 1;
				return nf;
			}
			FUZZ_CHECK(used >= (want < chunk ? want : chunk));
			p += used;
			n -= used;
			chunk -= used;
			if (r == 0) {
				FUZZ_CHECK(chunk == 0);
				continue;
			}
			FUZZ_CHECK(rx.pgot == rx.len && rx.len <= LDVM_FRAME_MAX);
			FUZZ_CHECK(ldvm__rx_want(&rx) == 0);
			FUZZ_CHECK(ldvm__frame_check(rx.type, rx.len, dir, why,
			    sizeof(why)) == 0);
			FUZZ_CHECK(nf < MAXFRAMES);
			out[nf].type = rx.type;
			out[nf].len = rx.len;
			out[nf].hash = hash(rx.buf, rx.len);
			nf++;
			decode(rx.type, rx.buf, rx.len);
			ldvm__rx_next(&rx);
			FUZZ_CHECK(ldvm__rx_want(&rx) == LDVM_FRAME_HDR);
		}
	}
	return nf;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum ldvm__dir dir;
	size_t nw, nc;
	int bw, bc;

	if (size < 1)
		return 0;
	dir = data[0] & 1 ? LDVM_TO_DOM0 : LDVM_TO_AGENT;
	nw = receive(dir, data + 1, size - 1, 0, whole, &bw);
	nc = receive(dir, data + 1, size - 1, data[0] >> 1, cut, &bc);
	FUZZ_CHECK(nw == nc && bw == bc);
	FUZZ_CHECK(memcmp(whole, cut, nw * sizeof(whole[0])) == 0);
	return 0;
}
