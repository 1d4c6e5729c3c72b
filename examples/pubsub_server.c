// SPDX-License-Identifier: GPL-2.0
/*
 * The paper's PUB/SUB publisher: a PUB socket publishes alternating "Hello"
 * and "World" every 100 ms to every subscriber connected at the time.  A PUB
 * never blocks: a subscriber that is not connected yet, or too slow, misses
 * messages.  Usage: pubsub_server PORT [COUNT]
 */
#include <linux/sp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_in addr = { .sin_family = AF_INET };
	int count = argc > 2 ? atoi(argv[2]) : -1;
	int s, i;

	if (argc < 2) {
		fprintf(stderr, "usage: %s PORT [COUNT]\n", argv[0]);
		return 2;
	}
	addr.sin_port = htons(atoi(argv[1]));
	addr.sin_addr.s_addr = htonl(INADDR_ANY);

	s = socket(PF_SP, SOCK_PUB, IPPROTO_TCP);
	if (s < 0 || bind(s, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		perror("pubsub_server");
		return 1;
	}
	for (i = 0; i != count; i++) {
		const char *msg = i % 2 ? "World" : "Hello";

		if (send(s, msg, 5, 0) < 0) {
			perror("send");
			return 1;
		}
		printf("server: published \"%s\"\n", msg);
		fflush(stdout);
		usleep(100 * 1000);
	}
	close(s);
	return 0;
}
