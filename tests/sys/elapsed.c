/*
 * elapsed COMMAND [ARG...]: runs COMMAND and prints "elapsed <ms> ms" and
 * "cpu <ms> ms" (its user and system time, and its children's) to standard
 * error when it ends; exits with its status.  For benchmarks.
 */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct timespec a, b;
	struct rusage ru;
	pid_t pid;
	int st;

	if (argc < 2) {
		fprintf(stderr, "usage: elapsed command [arg ...]\n");
		return 2;
	}
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
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
