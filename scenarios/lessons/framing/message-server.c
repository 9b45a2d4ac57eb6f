/* Sends every client ONE length-prefixed message with ONE send() call:
 * a 4-byte length in network byte order, then that many bytes of body.
 * Usage: message-server [PORT] [BODY-BYTES] */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
  int port = argc > 1 ? atoi(argv[1]) : 9000;
  uint32_t body = argc > 2 ? (uint32_t)atoi(argv[2]) : 1000;
  int server = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(server, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  addr.sin_port = htons((uint16_t)port);
  if (bind(server, (struct sockaddr *)&addr, sizeof addr) < 0 ||
      listen(server, 8) < 0) {
    perror("bind/listen");
    return 1;
  }
  /* The whole message lives in one buffer: header, then body. */
  char *msg = malloc(4 + body);
  uint32_t len = htonl(body);
  memcpy(msg, &len, 4);
  for (uint32_t i = 0; i < body; i++)
    msg[4 + i] = (char)('a' + i % 26);
  for (;;) {
    int client = accept(server, NULL, NULL);
    if (client < 0)
      continue;
    /* One send() of 4 + body bytes.  TCP is a byte stream: nothing says
     * the receiver will get these bytes in one piece. */
    ssize_t n = send(client, msg, 4 + body, 0);
    printf("sent one message of %zd bytes in one send()\n", n);
    close(client);
  }
}
