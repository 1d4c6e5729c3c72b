// SPDX-License-Identifier: GPL-2.0
/*
 * The paper's Hello World server: a REP socket answers every request with
 * "World".  Usage: hello_server PORT [COUNT]
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
	char buf[256];
	int s;

	if (argc < 2) {
		fprintf(stderr, "usage: %s PORT [COUNT]\n", argv[0]);
		return 2;
	}
	addr.sin_port = htons(atoi(argv[1]));
	addr.sin_addr.s_addr = htonl(INADDR_ANY);

	s = socket(PF_SP, SOCK_REP, IPPROTO_TCP);
	if (s < 0 || bind(s, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		perror("hello_server");
		return 1;
	}
	while (count-- != 0) {
		ssize_t n = recv(s, buf, sizeof(buf) - 1, 0);

		if (n < 0) {
			perror("recv");
			return 1;
		}
		buf[n] = 0;
		printf("server: received \"%s\"\n", buf);
		if (send(s, "World", 6, 0) < 0) {
			perror("send");
			return 1;
		}
	}
	close(s);
	return 0;
}
