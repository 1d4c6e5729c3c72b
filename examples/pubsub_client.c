// SPDX-License-Identifier: GPL-2.0
/*
 * The paper's PUB/SUB subscriber: a SUB socket subscribes to a prefix ("" for
 * everything, "H" for the Hellos, "W" for the Worlds) and prints the messages
 * that start with it.  It may start before the publisher: connect() returns
 * at once and the connection is made when the publisher comes up; what was
 * published before that is not delivered.
 * Usage: pubsub_client ADDRESS PORT PREFIX [COUNT]
 */
#include <arpa/inet.h>
#include <linux/sp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_in addr = { .sin_family = AF_INET };
	int count = argc > 4 ? atoi(argv[4]) : -1;
	char buf[256];
	ssize_t n;
	int s;

	if (argc < 4 || inet_pton(AF_INET, argv[1], &addr.sin_addr) != 1) {
		fprintf(stderr, "usage: %s ADDRESS PORT PREFIX [COUNT]\n", argv[0]);
		return 2;
	}
	addr.sin_port = htons(atoi(argv[2]));

	s = socket(PF_SP, SOCK_SUB, IPPROTO_TCP);
	if (s < 0 ||
	    setsockopt(s, SOL_SP, SP_SUBSCRIBE, argv[3], strlen(argv[3])) < 0 ||
	    connect(s, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		perror("pubsub_client");
		return 1;
	}
	while (count-- != 0) {
		n = recv(s, buf, sizeof(buf) - 1, 0);
		if (n < 0) {
			perror("recv");
			return 1;
		}
		buf[n] = 0;
		printf("client \"%s\": received \"%s\"\n", argv[3], buf);
		fflush(stdout);
	}
	close(s);
	return 0;
}
