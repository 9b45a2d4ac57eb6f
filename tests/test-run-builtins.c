/* The chapter's own examples as built-in programs (docs/scenario-format.md
 * lists them): tcp-echo-server and tcp-echo-client (§14.3, §14.4) and the
 * multi-user chat (§14.13), run by name as `natlab run` does. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "test-run-util.h"

static void assert_all_held(TestRun *r) {
  if (r->failed != 0) {
    GString *why = g_string_new(NULL);
    nl_run_report_failures(r->run, why);
    fail_msg("%s", why->str);
  }
}

/* The echo pair on the default port 8080 and on another, with a message of
 * several words; a client with a timeout facing a closed port fails with
 * ECONNREFUSED and exit code 1. */
static void test_builtins_tcp_echo(void **state) {
  (void)state;
  static const char text[] =
      "duration 20s\n"
      "network lan 10.0.0.0/24 latency=5ms\n"
      "host server\n"
      "  link lan 10.0.0.1\n"
      "  run tcp-echo-server\n"
      "  run name=seven tcp-echo-server 7\n"
      "host client\n"
      "  link lan 10.0.0.2\n"
      "  run at=1s tcp-echo-client server\n"
      "  run at=2s name=words tcp-echo-client 10.0.0.1 7 hello there\n"
      "  run at=3s name=closed tcp-echo-client --timeout 2 10.0.0.1 9\n"
      "expect stdout server/tcp-echo-server contains "
      "\"Listening on port 8080\"\n"
      "expect stdout server/tcp-echo-server contains "
      "\"Connected: ('10.0.0.2',\"\n"
      "expect stdout client/tcp-echo-client contains "
      "\"Server replied: hello, server\"\n"
      "expect exit client/tcp-echo-client code 0\n"
      "expect stdout server/seven contains \"Listening on port 7\"\n"
      "expect stdout client/words contains \"Server replied: hello there\"\n"
      "expect exit client/words code 0\n"
      "expect stderr client/closed contains \"Connection refused\"\n"
      "expect exit client/closed code 1\n"
      "expect tcp client/tcp-echo-client state TIME_WAIT\n";
  TestRun *r = test_run("echo.nlab", text);
  assert_all_held(r);
  TestRun *again = test_run("echo.nlab", text);
  assert_string_equal(r->text, again->text);
  test_run_free(again);
  test_run_free(r);
}

/* Three users: each line one types reaches the two others, whole, and not
 * the sender; leaving is noticed. */
static void test_builtins_chat(void **state) {
  (void)state;
  static const char text[] =
      "duration 10s\n"
      "network lan 10.0.0.0/24 latency=2ms\n"
      "host server\n"
      "  link lan 10.0.0.1\n"
      "  run chat-server\n"
      "host ana\n  link lan 10.0.0.2\n  run at=1s chat-client server 8080 ana\n"
      "host ben\n  link lan 10.0.0.3\n  run at=1s chat-client server 8080 ben\n"
      "host cy\n  link lan 10.0.0.4\n  run at=1s chat-client 10.0.0.1\n"
      "at 2s stdin ana/chat-client \"hello everyone\"\n"
      "at 3s stdin ben/chat-client \"hi ana\"\n"
      "at 4s stdin cy/chat-client \"no name here\"\n"
      "at 5s stop cy/chat-client\n"
      "expect stdout server/chat-server contains \"Chat server on port "
      "8080\"\n"
      "expect stdout server/chat-server contains \"client joined (3 "
      "connected)\"\n"
      "expect stdout server/chat-server contains \"client left (2 "
      "connected)\"\n"
      "expect stdout ben/chat-client contains \"ana: hello everyone\"\n"
      "expect stdout cy/chat-client contains \"ana: hello everyone\"\n"
      "expect stdout ana/chat-client contains \"ben: hi ana\"\n"
      "expect stdout ana/chat-client lacks \"ana: hello everyone\"\n"
      "expect stdout ana/chat-client contains \"no name here\"\n"
      "expect stdout cy/chat-client lacks \"no name here\"\n";
  TestRun *r = test_run("chat.nlab", text);
  assert_all_held(r);
  /* Each line arrives exactly once at each other client. */
  GPtrArray *ben = test_stdout(r, "ben/chat-client");
  guint hello = 0;
  for (guint i = 0; i < ben->len; i++)
    hello += strcmp(g_ptr_array_index(ben, i), "ana: hello everyone") == 0;
  assert_int_equal(hello, 1);
  g_ptr_array_unref(ben);
  test_run_free(r);
}

/* turn-server without --relay-ip (and listening on every address) hands
 * out relayed addresses on the host's public address, never 0.0.0.0; with
 * two public addresses it cannot tell which and refuses to start, saying
 * so (RFC 8656 §7.2: the relayed transport address is where peers send). */
static void test_builtins_turn_relay_address(void **state) {
  (void)state;
  static const char text[] =
      "duration 10s\n"
      "network lan 10.1.0.0/24\n"
      "network internet 192.0.2.0/24 latency=5ms\n"
      "host one\n  link internet 192.0.2.20\n"
      "  run turn-server --user alice:secret --seed 1 --duration 8\n"
      "host mixed\n  link lan 10.1.0.5\n  link internet 192.0.2.30\n"
      "  run turn-server --user alice:secret --seed 1 --duration 8\n"
      "host two\n  link internet 192.0.2.40 192.0.2.41\n"
      "  run turn-server --user alice:secret --seed 1\n"
      "host client\n  link internet 192.0.2.5\n"
      "  run at=1s name=to-one turn-client --server 192.0.2.20:3478 "
      "--user alice:secret --seed 2\n"
      "  run at=1s name=to-mixed turn-client --server 192.0.2.30:3478 "
      "--user alice:secret --seed 3\n"
      "expect stdout client/to-one contains \"relayed-address: 192.0.2.20:\"\n"
      "expect stdout client/to-mixed contains \"relayed-address: "
      "192.0.2.30:\"\n"
      "expect stdout client/to-one lacks \"0.0.0.0\"\n"
      "expect stderr two/turn-server contains \"--relay-ip\"\n"
      "expect stderr two/turn-server contains \"192.0.2.40, 192.0.2.41\"\n"
      "expect exit two/turn-server code 2\n";
  TestRun *r = test_run("turn.nlab", text);
  assert_all_held(r);
  test_run_free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_builtins_tcp_echo),
      cmocka_unit_test(test_builtins_chat),
      cmocka_unit_test(test_builtins_turn_relay_address),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
