/*
 * elapsed COMMAND [ARG...]: runs COMMAND and prints "elapsed <ms> ms" and
 * "cpu <ms> ms" (its user and system time, and its children's) to standard
 * error when it ends; exits with its status.  For benchmarks.  Where
 * /proc/stat is there, a third line, "host <busy> <idle> <steal> ms": the
 * CPU time of the host over the run (in the test host, dom0's), its
 * steal being time its vCPUs were ready and Xen ran another's: whether a
 * slow run was slow for the machine or for itself.
 */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The host's CPU ticks so far: busy, idle (iowait in) and steal. */
static int
host_ticks(unsigned long long t[3])
{
	unsigned long long v[8] = { 0 };
	FILE *f = fopen("/proc/stat", "r");
	int n;

	if (f == NULL)
		return -1;
	n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
	    &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
	fclose(f);
	if (n != 8)
		return -1;
	t[0] = v[0] + v[1] + v[2] + v[5] + v[6];
	t[1] = v[3] + v[4];
	t[2] = v[7];
	return 0;
}

int
main(int argc, char **argv)
{
	struct timespec a, b;
	struct rusage ru;
	unsigned long long h0[3], h1[3];
	pid_t pid;
	int st, host;

	if (argc < 2) {
		fprintf(stderr, "usage: elapsed command [arg ...]\n");
		return 2;
	}
	host = host_ticks(h0);
	clock_gettime(CLOCK_MONOTONIC, &a);
	if ((pid = fork()) == 0) {
		execvp(argv[1], argv + 1);
		_exit(127);
	}
	if (pid < 0 || wait4(pid, &st, 0, &ru) < 0)
		return 125;
	clock_gettime(CLOCK_MONOTONIC, &b);
	fprintf(stderr, "elapsed %.1f ms\n", (b.tv_sec - a.tv_sec) * 1e3 +
	    (b.tv_nsec - a.tv_nsec) / 1e6);
	fprintf(stderr, "cpu %.1f ms\n", (ru.ru_utime.tv_sec +
	    ru.ru_stime.tv_sec) * 1e3 + (ru.ru_utime.tv_usec +
	    ru.ru_stime.tv_usec) / 1e3);
	if (host == 0 && host_ticks(h1) == 0) {
		double ms = 1e3 / (double)sysconf(_SC_CLK_TCK);

		fprintf(stderr, "host %.0f %.0f %.0f ms\n", (h1[0] - h0[0]) * ms,
		    (h1[1] - h0[1]) * ms, (h1[2] - h0[2]) * ms);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
