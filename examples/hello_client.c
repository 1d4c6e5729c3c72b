// SPDX-License-Identifier: GPL-2.0
/*
 * The paper's Hello World client: a REQ socket sends "Hello" and prints the
 * answer.  It may start before any server exists: connect() returns at once
 * and the request waits in the kernel until a server comes up.
 * Usage: hello_client ADDRESS PORT
 */
#include <arpa/inet.h>
#include <linux/sp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_in addr = { .sin_family = AF_INET };
	char buf[256];
	ssize_t n;
	int s;

	if (argc < 3 || inet_pton(AF_INET, argv[1], &addr.sin_addr) != 1) {
		fprintf(stderr, "usage: %s ADDRESS PORT\n", argv[0]);
		return 2;
	}
	addr.sin_port = htons(atoi(argv[2]));

	s = socket(PF_SP, SOCK_REQ, IPPROTO_TCP);
	if (s < 0 || connect(s, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		perror("hello_client");
		return 1;
	}
	send(s, "Hello", 6, 0);
	n = recv(s, buf, sizeof(buf) - 1, 0);
	if (n < 0) {
		perror("recv");
		return 1;
	}
	buf[n] = 0;
	printf("client: received \"%s\"\n", buf);
	close(s);
	return 0;
}
