/* JSON lines: every record one valid JSON object (RFC 8259), read back by
 * a small strict parser in this file, with the fields of
 * docs/trace-jsonl.md and text and bytes that survive the round trip. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>

#include "export/jsonl.h"
#include "test-timeline-fixture.h"

/* ---- a strict JSON parser, enough for the checks ---- */

typedef enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ } JType;

typedef struct JVal JVal;
struct JVal {
  JType type;
  GString *str;     /* J_STR: decoded; J_NUM, J_BOOL: the literal */
  GPtrArray *keys;  /* J_OBJ: char* */
  GPtrArray *items; /* J_OBJ, J_ARR: JVal* */
};

static void jval_free(gpointer p) {
  JVal *v = p;
  if (v == NULL)
    return;
  if (v->str)
    g_string_free(v->str, TRUE);
  if (v->keys)
    g_ptr_array_free(v->keys, TRUE);
  if (v->items)
    g_ptr_array_free(v->items, TRUE);
  g_free(v);
}

typedef struct {
  const char *p, *end;
} JIn;

static void ws(JIn *in) {
  while (in->p < in->end && strchr(" \t\r\n", *in->p) && *in->p)
    in->p++;
}

static JVal *jparse(JIn *in);

static gboolean jstring(JIn *in, GString *out) {
  if (in->p >= in->end || *in->p != '"')
    return FALSE;
  in->p++;
  while (in->p < in->end) {
    guchar c = (guchar)*in->p;
    if (c == '"') {
      in->p++;
      return TRUE; /* the whole line was checked to be UTF-8 */
    }
    if (c < 0x20)
      return FALSE; /* raw control characters are not allowed */
    if (c != '\\') {
      g_string_append_c(out, (char)c);
      in->p++;
      continue;
    }
    if (++in->p >= in->end)
      return FALSE;
    switch (*in->p++) {
      case '"': g_string_append_c(out, '"'); break;
      case '\\': g_string_append_c(out, '\\'); break;
      case '/': g_string_append_c(out, '/'); break;
      case 'b': g_string_append_c(out, '\b'); break;
      case 'f': g_string_append_c(out, '\f'); break;
      case 'n': g_string_append_c(out, '\n'); break;
      case 'r': g_string_append_c(out, '\r'); break;
      case 't': g_string_append_c(out, '\t'); break;
      case 'u': {
        if (in->end - in->p < 4)
          return FALSE;
        char hex[5] = {0};
        memcpy(hex, in->p, 4);
        for (int i = 0; i < 4; i++)
          if (!g_ascii_isxdigit(hex[i]))
            return FALSE;
        gunichar u = (gunichar)strtoul(hex, NULL, 16);
        if (u >= 0xd800 && u <= 0xdfff)
          return FALSE; /* the exporter never needs surrogates */
        g_string_append_unichar(out, u);
        in->p += 4;
        break;
      }
      default: return FALSE;
    }
  }
  return FALSE;
}

static gboolean jnumber(JIn *in, GString *out) {
  const char *s = in->p;
  if (in->p < in->end && *in->p == '-')
    in->p++;
  if (in->p >= in->end || !g_ascii_isdigit(*in->p))
    return FALSE;
  if (*in->p == '0')
    in->p++;
  else
    while (in->p < in->end && g_ascii_isdigit(*in->p))
      in->p++;
  if (in->p < in->end && *in->p == '.') {
    in->p++;
    if (in->p >= in->end || !g_ascii_isdigit(*in->p))
      return FALSE;
    while (in->p < in->end && g_ascii_isdigit(*in->p))
      in->p++;
  }
  g_string_append_len(out, s, in->p - s);
  return TRUE;
}

static JVal *jparse(JIn *in) {
  JVal *v = g_new0(JVal, 1);
  ws(in);
  if (in->p >= in->end)
    goto fail;
  if (*in->p == '{' || *in->p == '[') {
    gboolean obj = *in->p == '{';
    v->type = obj ? J_OBJ : J_ARR;
    v->items = g_ptr_array_new_with_free_func(jval_free);
    v->keys = g_ptr_array_new_with_free_func(g_free);
    in->p++;
    ws(in);
    if (in->p < in->end && *in->p == (obj ? '}' : ']')) {
      in->p++;
      return v;
    }
    for (;;) {
      ws(in);
      if (obj) {
        GString *k = g_string_new(NULL);
        if (!jstring(in, k)) {
          g_string_free(k, TRUE);
          goto fail;
        }
        g_ptr_array_add(v->keys, g_string_free(k, FALSE));
        ws(in);
        if (in->p >= in->end || *in->p++ != ':')
          goto fail;
      }
      JVal *item = jparse(in);
      if (item == NULL)
        goto fail;
      g_ptr_array_add(v->items, item);
      ws(in);
      if (in->p >= in->end)
        goto fail;
      if (*in->p == ',') {
        in->p++;
        continue;
      }
      if (*in->p++ == (obj ? '}' : ']'))
        return v;
      goto fail;
    }
  }
  v->str = g_string_new(NULL);
  if (*in->p == '"') {
    v->type = J_STR;
    if (!jstring(in, v->str))
      goto fail;
    return v;
  }
  static const char *const words[] = {"null", "true", "false"};
  for (int i = 0; i < 3; i++) {
    size_t n = strlen(words[i]);
    if ((size_t)(in->end - in->p) >= n && memcmp(in->p, words[i], n) == 0) {
      v->type = i ? J_BOOL : J_NULL;
      g_string_append(v->str, words[i]);
      in->p += n;
      return v;
    }
  }
  v->type = J_NUM;
  if (jnumber(in, v->str))
    return v;
fail:
  jval_free(v);
  return NULL;
}

/* Parses one whole line as one JSON value; NULL when it is not. */
static JVal *jparse_line(const char *line) {
  JIn in = {line, line + strlen(line)};
  if (!g_utf8_validate(line, -1, NULL))
    return NULL;
  JVal *v = jparse(&in);
  ws(&in);
  if (v != NULL && in.p != in.end) {
    jval_free(v);
    return NULL;
  }
  return v;
}

static const JVal *jget(const JVal *o, const char *key) {
  assert_int_equal(o->type, J_OBJ);
  for (guint i = 0; i < o->keys->len; i++)
    if (strcmp(g_ptr_array_index(o->keys, i), key) == 0)
      return g_ptr_array_index(o->items, i);
  return NULL;
}

static const char *jstr(const JVal *o, const char *key) {
  const JVal *v = jget(o, key);
  if (v == NULL || v->type == J_NULL)
    return NULL;
  assert_int_equal(v->type, J_STR);
  return v->str->str;
}

static gint64 jnum(const JVal *o, const char *key) {
  const JVal *v = jget(o, key);
  assert_non_null(v);
  assert_int_equal(v->type, J_NUM);
  return g_ascii_strtoll(v->str->str, NULL, 10);
}

/* ---- tests ---- */

static void test_jsonl_parser_rejects_what_is_not_json(void **state) {
  /* The checks below mean something only if the parser is strict. */
  const char *bad[] = {"{",           "{\"a\":}", "{\"a\":1,}", "\"\x01\"",
                       "{'a':1}",     "[1 2]",    "01",         "\"\\x41\"",
                       "{\"a\":1} x", "tru"};
  for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
    assert_null(jparse_line(bad[i]));
  JVal *ok = jparse_line("{\"a\":[1,-2.5,null,true,\"\\u00e9\\n\"],\"b\":{}}");
  assert_non_null(ok);
  jval_free(ok);
}

static char **read_lines(const NlTrace *t, guint *n) {
  char *dir = g_dir_make_tmp("natlab-jsonl-XXXXXX", NULL);
  char *path = g_build_filename(dir, "t.jsonl", NULL);
  GError *err = NULL;
  if (!nl_jsonl_write(t, path, &err))
    fail_msg("nl_jsonl_write: %s", err->message);
  char *all;
  assert_true(g_file_get_contents(path, &all, NULL, NULL));
  assert_true(g_str_has_suffix(all, "\n"));
  all[strlen(all) - 1] = '\0';
  char **lines = g_strsplit(all, "\n", 0);
  *n = g_strv_length(lines);
  g_free(all);
  g_remove(path);
  g_rmdir(dir);
  g_free(path);
  g_free(dir);
  return lines;
}

static void test_jsonl_every_record_is_one_json_object(void **state) {
  NlTrace *t = nl_trace_new();
  FixtureCounts c;
  fixture_build(t, &c);
  guint n;
  char **lines = read_lines(t, &n);
  assert_int_equal(n, nl_trace_count(t));
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *p;
  guint i = 0;
  nl_trace_iter_init(&it, t);
  while (nl_trace_iter_next(&it, &rec, &p)) {
    JVal *v = jparse_line(lines[i]);
    if (v == NULL)
      fail_msg("line %u is not JSON: %s", i + 1, lines[i]);
    assert_int_equal(jnum(v, "seq"), i);
    assert_int_equal(jnum(v, "time_ns"), rec->time);
    assert_string_equal(jstr(v, "kind"),
                        nl_trace_kind_name((NlTraceKind)rec->kind));
    if (rec->node)
      assert_string_equal(jstr(v, "node"), nl_trace_name(t, rec->node));
    else
      assert_null(jstr(v, "node"));
    if (rec->peer)
      assert_string_equal(jstr(v, "peer"), nl_trace_name(t, rec->peer));
    else
      assert_null(jstr(v, "peer"));
    assert_int_equal(jnum(v, "id"), rec->id);
    if (rec->kind == NL_TRACE_PKT_DROP)
      assert_string_equal(jstr(v, "reason"),
                          nl_drop_reason_name(nl_trace_drop_reason(rec->aux)));
    else
      assert_null(jstr(v, "reason"));
    const JVal *pkt = jget(v, "packet");
    if (pkt != NULL) {
      /* The bytes come back from the hex. */
      const char *hex = jstr(pkt, "hex");
      assert_int_equal(strlen(hex), 2 * rec->len);
      for (guint32 k = 0; k < rec->len; k++) {
        char b[3] = {hex[2 * k], hex[2 * k + 1], 0};
        assert_int_equal(strtoul(b, NULL, 16), p[k]);
      }
      assert_int_equal(jnum(pkt, "len"), rec->len);
      assert_non_null(jstr(pkt, "decode"));
      assert_null(jget(v, "text"));
    } else {
      const char *text = jstr(v, "text");
      assert_non_null(text);
      assert_int_equal(strlen(text), rec->len);
      assert_memory_equal(text, p, rec->len);
    }
    jval_free(v);
    i++;
  }
  g_strfreev(lines);
  nl_trace_free(t);
}

static void test_jsonl_packets_carry_a_decode(void **state) {
  NlTrace *t = nl_trace_new();
  FixtureCounts c;
  fixture_build(t, &c);
  GString *line = g_string_new(NULL);
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *p;
  guint64 seq = 0;
  gboolean saw_stun = FALSE, saw_syn = FALSE;
  nl_trace_iter_init(&it, t);
  while (nl_trace_iter_next(&it, &rec, &p)) {
    g_string_truncate(line, 0);
    nl_jsonl_format(t, seq++, rec, p, line);
    assert_null(strchr(line->str, '\n'));
    JVal *v = jparse_line(line->str);
    assert_non_null(v);
    if (rec->kind == NL_TRACE_PKT_SEND && rec->id == 1) {
      const JVal *pk = jget(v, "packet");
      assert_string_equal(jstr(pk, "proto"), "udp");
      assert_string_equal(jstr(pk, "src"), "10.0.0.5");
      assert_int_equal(jnum(pk, "sport"), 50001);
      assert_string_equal(jstr(pk, "dst"), "192.0.2.10");
      assert_int_equal(jnum(pk, "dport"), 3478);
      assert_int_equal(jnum(pk, "payload_len"), 20);
      assert_string_equal(jstr(pk, "app"), "STUN Binding request");
      assert_string_equal(jstr(pk, "decode"),
                          "UDP 10.0.0.5:50001 > 192.0.2.10:3478 len=20");
      saw_stun = TRUE;
    }
    if (rec->kind == NL_TRACE_PKT_SEND && rec->id == 7) {
      const JVal *pk = jget(v, "packet");
      assert_string_equal(jstr(pk, "proto"), "tcp");
      assert_string_equal(jstr(pk, "flags"), "SYN");
      assert_int_equal(jnum(pk, "seq"), 1000);
      saw_syn = TRUE;
    }
    jval_free(v);
  }
  assert_true(saw_stun);
  assert_true(saw_syn);
  g_string_free(line, TRUE);
  nl_trace_free(t);
}

static void test_jsonl_escapes_any_bytes(void **state) {
  NlTrace *t = nl_trace_new();
  guint32 a = nl_trace_intern(t, "we\"ird\\name");
  const guint8 junk[] = {'a',  '"',  '\\', '\n', '\t', 0x01, 0x7f, 0xff,
                         0xe2, 0x80, 0xa8, 0xc3, 0xa9, 0x00, 'z',  0xc3};
  nl_trace_add(t, 5, NL_TRACE_STDOUT, a, 0, 0, 0, junk, sizeof junk);
  guint8 garbage[3] = {1, 2, 3};
  nl_trace_add(t, 6, NL_TRACE_PKT_SEND, a, 0, 1, 0, garbage, 3);
  guint n;
  char **lines = read_lines(t, &n);
  assert_int_equal(n, 2);
  JVal *v = jparse_line(lines[0]);
  assert_non_null(v);
  assert_string_equal(jstr(v, "node"), "we\"ird\\name");
  /* Invalid bytes become U+FFFD; everything else survives, NUL too. */
  static const char want[] = "a\"\\\n\t\x01\x7f\xef\xbf\xbd\xe2\x80\xa8"
                             "\xc3\xa9\0z\xef\xbf\xbd";
  const JVal *text = jget(v, "text");
  assert_int_equal(text->str->len, sizeof want - 1);
  assert_memory_equal(text->str->str, want, sizeof want - 1);
  assert_non_null(strstr(lines[0], "\\u0000"));
  assert_non_null(strstr(lines[0], "\\u2028"));
  jval_free(v);
  v = jparse_line(lines[1]);
  assert_non_null(v);
  const JVal *pk = jget(v, "packet");
  assert_string_equal(jstr(pk, "hex"), "010203");
  assert_null(jget(pk, "proto"));
  jval_free(v);
  g_strfreev(lines);
  nl_trace_free(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_jsonl_parser_rejects_what_is_not_json),
      cmocka_unit_test(test_jsonl_every_record_is_one_json_object),
      cmocka_unit_test(test_jsonl_packets_carry_a_decode),
      cmocka_unit_test(test_jsonl_escapes_any_bytes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
