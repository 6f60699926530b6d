/*
 * The fixed-size checks on what a peer controls: frame headers
 * (ldvm__frame_check, ldvm__frame_name), EXIT payloads (ldvm__exit_decode),
 * and the shared ring's indices (ldvm__ring_used, ldvm__ring_fits,
 * ldvm__stdin_room, ldvm__wake_note).  The input is a list of operations,
 * each a byte then its operands.
 */
#include "fuzz.h"

static void
check_frame(uint32_t type, uint32_t len, enum ldvm__dir dir)
{
	char why[160];
	const char *name = ldvm__frame_name(type);

	why[0] = 'x';
	if (ldvm__frame_check(type, len, dir, why, sizeof(why)) != 0) {
		FUZZ_WHY_OK(why);
		return;
	}
	FUZZ_CHECK(type >= LDVM_F_HELLO && type <= LDVM_F_TTYSIZE);
	FUZZ_CHECK(len <= LDVM_FRAME_MAX);
	FUZZ_CHECK(strcmp(name, "unknown") != 0);
	/* What only dom0 sends never goes to dom0, and the other way. */
	if (dir == LDVM_TO_DOM0)
		FUZZ_CHECK(type != LDVM_F_EXEC && type != LDVM_F_STDIN &&
		    type != LDVM_F_WINSIZE && type != LDVM_F_RESULT &&
		    type != LDVM_F_TTYOUT);
	else
		FUZZ_CHECK(type != LDVM_F_STDOUT && type != LDVM_F_STDERR &&
		    type != LDVM_F_EXIT && type != LDVM_F_ERROR &&
		    type != LDVM_F_TTYIN && type != LDVM_F_TTYSIZE);
	if (type == LDVM_F_ERROR)
		FUZZ_CHECK(len <= LDVM_ERROR_MAX);
}

static void
check_exit(const uint8_t b[8])
{
	uint8_t enc[8];
	uint32_t kind = ldvm__get32(b), value = ldvm__get32(b + 4);
	int status = -7;

	if (ldvm__exit_decode(b, &status) != 0) {
		FUZZ_CHECK(status == -7);
		FUZZ_CHECK(kind > 1 || (kind == 0 && value > 255) ||
		    (kind == 1 && (value == 0 || value > 64)));
		return;
	}
	FUZZ_CHECK(kind <= 1);
	FUZZ_CHECK(kind == 0 ? status == (int)value && status <= 255 :
	    status == 128 + (int)value && value >= 1 && value <= 64);
	ldvm__exit_encode(enc, (int)kind, (int)value);
	FUZZ_CHECK(memcmp(enc, b, 8) == 0);
}

static void
check_ring(uint32_t prod, uint32_t cons, int order)
{
	long used = ldvm__ring_used(prod, cons, order);
	bool fits = ldvm__ring_fits(order);

	if (order < 0 || order >= 31) {
		FUZZ_CHECK(used == -1 && !fits);
		return;
	}
	if ((uint32_t)(prod - cons) > (uint32_t)1 << order)
		FUZZ_CHECK(used == -1);
	else
		FUZZ_CHECK(used == (long)(uint32_t)(prod - cons));
	FUZZ_CHECK(fits == (((size_t)1 << order) >= LDVM_FRAME_HDR +
	    LDVM_FRAME_MAX));
}

static void
check_room(int space)
{
	long room = ldvm__stdin_room(space);

	if (room < 0) {
		FUZZ_CHECK(room == -1 && space < LDVM_FRAME_HDR + LDVM_IN_MIN);
		return;
	}
	FUZZ_CHECK(room >= LDVM_IN_MIN && room <= LDVM_FRAME_MAX);
	FUZZ_CHECK(room + LDVM_FRAME_HDR <= space);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ldvm__wake w;
	uint32_t now[3], last[3], seen[3];
	unsigned idle = 0;
	uint8_t b[8];

	memset(&w, 0, sizeof(w));
	memset(last, 0, sizeof(last));
	memset(seen, 0, sizeof(seen));
	while (size > 0) {
		uint32_t op = fuzz_take(&data, &size, 1), a, c;
		int i;

		switch (op % 5) {
		case 0:
			a = fuzz_take(&data, &size, 4);
			c = fuzz_take(&data, &size, 4);
			check_frame(a, c, op & 0x80 ? LDVM_TO_DOM0 :
			    LDVM_TO_AGENT);
			break;
		case 1:
			for (i = 0; i < 8; i++)
				b[i] = (uint8_t)fuzz_take(&data, &size, 1);
			check_exit(b);
			break;
		case 2:
			a = fuzz_take(&data, &size, 4);
			c = fuzz_take(&data, &size, 4);
			check_ring(a, c, (int8_t)fuzz_take(&data, &size, 1));
			break;
		case 3:
			check_room((int32_t)fuzz_take(&data, &size, 4));
			break;
		case 4:
			/* A wake-up: the high bit of op repeats the last. */
			for (i = 0; i < 3; i++)
				now[i] = op & 0x80 ? last[i] :
				    fuzz_take(&data, &size, 4);
			/* Model: a change is progress, else one more idle. */
			if (memcmp(now, seen, sizeof(now)) != 0) {
				memcpy(seen, now, sizeof(seen));
				idle = 0;
				FUZZ_CHECK(ldvm__wake_note(&w, now));
			} else {
				idle++;
				FUZZ_CHECK(ldvm__wake_note(&w, now) ==
				    (idle < LDVM_IDLE_WAKES));
			}
			memcpy(last, now, sizeof(last));
			break;
		}
	}
	return 0;
}
