/* natlab presets: the NAT presets a scenario can name, with their fields. */
#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "natmodels/nat-behaviour.h"
#include "tools/cli.h"
#include "tools/commands.h"

/* Appends @s as a JSON string. */
static void json_string(GString *out, const char *s) {
  g_string_append_c(out, '"');
  for (; *s; s++) {
    if (*s == '"' || *s == '\\')
      g_string_append_printf(out, "\\%c", *s);
    else if ((guchar)*s < 0x20)
      g_string_append_printf(out, "\\u%04x", (guchar)*s);
    else
      g_string_append_c(out, *s);
  }
  g_string_append_c(out, '"');
}

/* One preset as a line of text ("NAME field=value ...") or a JSON object
 * whose values are strings in the form a scenario's `nat` line takes. */
static void describe(GString *out, const NlNatBehaviour *b, gboolean json) {
  GString *fields = g_string_new(NULL);
  nl_nat_behaviour_describe(b, fields);
  if (!json) {
    g_string_append_printf(out, "%s %s\n", b->name, fields->str);
    g_string_free(fields, TRUE);
    return;
  }
  g_string_append(out, "{\"name\": ");
  json_string(out, b->name);
  char **pairs = g_strsplit(fields->str, " ", -1);
  for (char **p = pairs; *p; p++) {
    char *eq = strchr(*p, '=');
    if (eq == NULL)
      continue;
    *eq = '\0';
    g_string_append(out, ", ");
    json_string(out, *p);
    g_string_append(out, ": ");
    json_string(out, eq + 1);
  }
  g_string_append(out, "}");
  g_strfreev(pairs);
  g_string_free(fields, TRUE);
}

int nl_cmd_presets(int argc, char **argv) {
  char *format = NULL;
  const GOptionEntry entries[] = {
      {"format", 0, 0, G_OPTION_ARG_STRING, &format,
       "text (one preset a line: its name, then field=value pairs) or json "
       "(an array of objects)",
       "FORMAT"},
      G_OPTION_ENTRY_NULL};
  GOptionContext *ctx = nl_cli_context_new(
      "presets", "[NAME...]",
      "List the NAT presets a scenario can name (nat NAME preset=PRESET), "
      "with every field's value.",
      entries, NULL,
      "A scenario overrides any field on its nat line, in the same form:\n"
      "  nat gw preset=symmetric udp-timeout=30s\n"
      "\n"
      "Exit status:\n"
      "  0  listed\n"
      "  2  usage error or an unknown preset\n");
  int rc = NL_EXIT_OK;
  GPtrArray *chosen = g_ptr_array_new();
  if (!nl_cli_parse(ctx, &argc, &argv, &rc))
    goto out;
  gboolean json = FALSE;
  if (format != NULL && strcmp(format, "json") == 0) {
    json = TRUE;
  } else if (format != NULL && strcmp(format, "text") != 0) {
    rc = nl_cli_usage_error("presets", "--format is text or json, not \"%s\"",
                            format);
    goto out;
  }
  GPtrArray *names = g_ptr_array_new();
  for (guint i = 0; nl_nat_behaviour_preset(i) != NULL; i++)
    g_ptr_array_add(names, (gpointer)nl_nat_behaviour_preset(i)->name);
  for (int i = 1; i < argc; i++) {
    const NlNatBehaviour *b = nl_nat_behaviour_find(argv[i]);
    if (b != NULL) {
      g_ptr_array_add(chosen, (gpointer)b);
      continue;
    }
    const char *near =
        nl_cli_suggest(argv[i], (const char *const *)names->pdata, names->len);
    GString *all = g_string_new(NULL);
    for (guint j = 0; j < names->len; j++)
      g_string_append_printf(all, "%s%s", j ? ", " : "",
                             (const char *)names->pdata[j]);
    fprintf(stderr, "natlab presets: no preset \"%s\"%s%s%s (presets: %s)\n",
            argv[i], near ? "; did you mean \"" : "", near ? near : "",
            near ? "\"?" : "", all->str);
    g_string_free(all, TRUE);
    rc = NL_EXIT_ERROR;
  }
  if (rc == NL_EXIT_OK && chosen->len == 0)
    for (guint i = 0; nl_nat_behaviour_preset(i) != NULL; i++)
      g_ptr_array_add(chosen, (gpointer)nl_nat_behaviour_preset(i));
  g_ptr_array_free(names, TRUE);
  if (rc != NL_EXIT_OK)
    goto out;
  GString *out = g_string_new(json ? "[\n" : NULL);
  for (guint i = 0; i < chosen->len; i++) {
    if (json)
      g_string_append(out, "  ");
    describe(out, chosen->pdata[i], json);
    if (json)
      g_string_append(out, i + 1 < chosen->len ? ",\n" : "\n");
  }
  if (json)
    g_string_append(out, "]\n");
  fputs(out->str, stdout);
  g_string_free(out, TRUE);
out:
  g_ptr_array_free(chosen, TRUE);
  g_free(format);
  g_option_context_free(ctx);
  return rc;
}
