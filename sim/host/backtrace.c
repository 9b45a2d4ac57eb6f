/* Where a program crashed (see backtrace.h). */
#include "sim/host/backtrace.h"
#include "sim/host/coro-priv.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define NL_NO_ASAN __attribute__((no_sanitize_address))
#else
#define NL_NO_ASAN
#endif

/* The shim is linked into every program; its frames are natlab's answer
 * to a call, not the program's code. */
#define SHIM_SOURCE "sim/host/shim.c"

/* ---- the process's objects, as libdwfl modules ---- */

/* Opens a module's file when libdwfl first needs it (most never are). */
static int find_elf(Dwfl_Module *mod, void **userdata, const char *name,
                    Dwarf_Addr base, char **file_name, Elf **elfp) {
  (void)mod, (void)userdata, (void)base;
  int fd = open(name, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  *file_name = strdup(name); /* libdwfl frees it */
  *elfp = NULL;
  return fd;
}

/* No separate debug files and never debuginfod (nothing may reach the
 * network): a module's own DWARF (natlab-cc builds with -g) or none. */
static int find_debuginfo(Dwfl_Module *mod, void **userdata,
                          const char *modname, GElf_Addr base,
                          const char *file_name, const char *debuglink_file,
                          GElf_Word debuglink_crc, char **debuginfo_file_name) {
  (void)mod, (void)userdata, (void)modname, (void)base, (void)file_name;
  (void)debuglink_file, (void)debuglink_crc, (void)debuginfo_file_name;
  return -1;
}

static const Dwfl_Callbacks callbacks = {
    .find_elf = find_elf,
    .find_debuginfo = find_debuginfo,
};

/* Reports one loaded object by its address range; its file is opened only
 * if a frame or a name needs it. */
static int report_object(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  Dwfl *dwfl = data;
  const char *name = info->dlpi_name;
  char *path = NULL;
  if (name == NULL || name[0] == '\0')
    path = g_file_read_link("/proc/self/exe", NULL); /* the executable */
  else if (name[0] == '/')
    path = g_strdup(name);
  if (path == NULL) /* the vDSO: no file */
    return 0;
  uintptr_t lo = UINTPTR_MAX, hi = 0;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD)
      continue;
    lo = MIN(lo, info->dlpi_addr + ph->p_vaddr);
    hi = MAX(hi, info->dlpi_addr + ph->p_vaddr + ph->p_memsz);
  }
  if (lo < hi) {
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    dwfl_report_module(dwfl, path, lo & ~(page - 1), hi);
  }
  g_free(path);
  return 0;
}

static Dwfl *process_dwfl(void) {
  Dwfl *dwfl = dwfl_begin(&callbacks);
  if (dwfl == NULL)
    return NULL;
  dwfl_report_begin(dwfl);
  dl_iterate_phdr(report_object, dwfl);
  dwfl_report_end(dwfl, NULL, NULL);
  return dwfl;
}

/* ---- unwinding a coroutine ---- */

/* Frames unwound at most: a 1 MiB stack of 16-byte frames. */
#define UNWIND_LIMIT 65536
#define BOTTOM (NL_BACKTRACE_MAX - NL_BACKTRACE_TOP)

typedef struct {
  guintptr lo, hi; /* the only memory the unwinder may read */
  const NlCoroRegs *regs;
  NlBacktrace *out;
  guint total;          /* frames seen */
  void *bottom[BOTTOM]; /* the last ones past the top, a ring */
} Unwind;

static pid_t next_thread(Dwfl *dwfl, void *arg, void **thread_argp) {
  (void)dwfl;
  if (*thread_argp != NULL)
    return 0;
  *thread_argp = arg;
  return getpid();
}

/* Reads the crashed coroutine's stack and nothing else, so a smashed
 * stack ends the backtrace instead of faulting.  Not instrumented: the
 * frames of an ended coroutine are still poisoned for ASan. */
NL_NO_ASAN static bool memory_read(Dwfl *dwfl, Dwarf_Addr addr,
                                   Dwarf_Word *result, void *arg) {
  (void)dwfl;
  const Unwind *u = arg;
  if (addr < u->lo || addr > u->hi - sizeof *result ||
      addr % sizeof *result != 0)
    return false;
  *result = *(const volatile Dwarf_Word *)(guintptr)addr;
  return true;
}

static bool set_initial_registers(Dwfl_Thread *thread, void *arg) {
  const Unwind *u = arg;
#if defined(__x86_64__)
  return dwfl_thread_state_registers(thread, 0, NL_CORO_NREGS, u->regs->r);
#elif defined(__aarch64__)
  if (!dwfl_thread_state_registers(thread, 0, 32, u->regs->r))
    return false;
  dwfl_thread_state_register_pc(thread, u->regs->r[32]);
  return true;
#else
  (void)thread, (void)u;
  return false;
#endif
}

static const Dwfl_Thread_Callbacks thread_callbacks = {
    .next_thread = next_thread,
    .memory_read = memory_read,
    .set_initial_registers = set_initial_registers,
};

static int on_frame(Dwfl_Frame *frame, void *arg) {
  Unwind *u = arg;
  Dwarf_Addr pc;
  if (!dwfl_frame_pc(frame, &pc, NULL) || pc == 0)
    return DWARF_CB_ABORT;
  if (u->total < NL_BACKTRACE_TOP)
    u->out->pc[u->total] = (void *)(guintptr)pc;
  else
    u->bottom[(u->total - NL_BACKTRACE_TOP) % BOTTOM] = (void *)(guintptr)pc;
  u->total++;
  return u->total < UNWIND_LIMIT ? DWARF_CB_OK : DWARF_CB_ABORT;
}

/* The top frames, then the bottom ones in order. */
static void finish_unwind(Unwind *u) {
  NlBacktrace *out = u->out;
  guint top = MIN(u->total, NL_BACKTRACE_TOP);
  guint rest = u->total - top;
  guint kept = MIN(rest, BOTTOM);
  for (guint i = 0; i < kept; i++)
    out->pc[top + i] = u->bottom[(rest - kept + i) % BOTTOM];
  out->n = top + kept;
  out->omitted = rest - kept;
}

guint nl_backtrace_of_coro(const NlCoro *c, NlBacktrace *out) {
  g_return_val_if_fail(c != NULL && out != NULL, 0);
  out->n = 0;
  out->omitted = 0;
  const NlCoroRegs *regs = nl__coro_fault_regs(c);
  const void *lo, *hi;
  nl__coro_stack_bounds(c, &lo, &hi);
  if (!regs->valid || lo == NULL)
    return 0;
  Dwfl *dwfl = process_dwfl();
  if (dwfl == NULL)
    return 0;
  Unwind u = {(guintptr)lo, (guintptr)hi, regs, out, 0, {NULL}};
  if (dwfl_attach_state(dwfl, NULL, getpid(), &thread_callbacks, &u))
    dwfl_getthread_frames(dwfl, getpid(), on_frame, &u);
  dwfl_end(dwfl);
  finish_unwind(&u);
  return out->n;
}

/* ---- naming frames ---- */

/* The caller's place of an inlined call: the DW_AT_call_file and
 * DW_AT_call_line of @inl, or FALSE. */
static gboolean call_site(Dwarf_Die *cu, Dwarf_Die *inl, const char **file,
                          guint *line) {
  Dwarf_Attribute attr;
  Dwarf_Word fidx = 0, lno = 0;
  Dwarf_Files *files = NULL;
  size_t nfiles = 0;
  if (dwarf_attr(inl, DW_AT_call_file, &attr) == NULL ||
      dwarf_formudata(&attr, &fidx) != 0 ||
      dwarf_attr(inl, DW_AT_call_line, &attr) == NULL ||
      dwarf_formudata(&attr, &lno) != 0 ||
      dwarf_getsrcfiles(cu, &files, &nfiles) != 0 || fidx >= nfiles)
    return FALSE;
  *file = dwarf_filesrc(files, fidx, NULL, NULL);
  *line = (guint)lno;
  return *file != NULL;
}

/* Appends to @out the functions at @pc, innermost first: a function
 * inlined into another is a frame of its own, as in the source, whose
 * caller's line is the inlined call's.  @prog: for in_program. */
static void frames_at(Dwfl *dwfl, const void *pc, gboolean return_address,
                      const NlProgram *prog, GArray *out) {
  /* A return address is the instruction after the call: look up the
   * call, which may be the last instruction of a function or a line. */
  Dwarf_Addr addr = (Dwarf_Addr)(guintptr)pc - (return_address ? 1 : 0);
  Dwfl_Module *mod = dwfl ? dwfl_addrmodule(dwfl, addr) : NULL;
  if (mod == NULL)
    return;
  gboolean in_prog =
      prog != NULL && nl_loader_contains(prog, (const void *)(guintptr)addr);
  Dwfl_Line *l = dwfl_module_getsrc(mod, addr);
  int lineno = 0;
  const char *file =
      l ? dwfl_lineinfo(l, NULL, &lineno, NULL, NULL, NULL) : NULL;
  guint line = lineno > 0 ? (guint)lineno : 0;
  guint before = out->len;
  Dwarf_Addr bias = 0;
  Dwarf_Die *cu = dwfl_module_addrdie(mod, addr, &bias);
  Dwarf_Die *scopes = NULL;
  int n = cu ? dwarf_getscopes(cu, addr - bias, &scopes) : 0;
  for (int i = 0; i < n; i++) {
    int tag = dwarf_tag(&scopes[i]);
    if (tag != DW_TAG_subprogram && tag != DW_TAG_inlined_subroutine)
      continue;
    NlFrameInfo f = {0};
    const char *name = dwarf_diename(&scopes[i]);
    f.function = g_strdup(name);
    f.file = file && line ? g_strdup(file) : NULL;
    f.line = file ? line : 0;
    f.in_program =
        in_prog && !(f.file && g_str_has_suffix(f.file, SHIM_SOURCE));
    g_array_append_val(out, f);
    if (tag == DW_TAG_subprogram || !call_site(cu, &scopes[i], &file, &line))
      break;
    /* dwarf_getscopes goes on from an inlined instance into the scopes
     * of its abstract origin; the function it was inlined into is among
     * the DIEs that contain the instance itself. */
    Dwarf_Die *outer = NULL;
    int m = dwarf_getscopes_die(&scopes[i], &outer);
    free(scopes);
    scopes = outer;
    n = m;
    i = 0; /* outer[0] is the instance; go on with its container */
  }
  free(scopes);
  if (out->len == before) { /* no DWARF: the symbol table */
    const char *sym = dwfl_module_addrname(mod, addr);
    NlFrameInfo f = {0};
    f.function = g_strdup(sym);
    f.file = file && line ? g_strdup(file) : NULL;
    f.line = f.file ? line : 0;
    f.in_program =
        in_prog && !(f.file && g_str_has_suffix(f.file, SHIM_SOURCE));
    g_array_append_val(out, f);
  }
}

static gboolean frame_info_in(Dwfl *dwfl, const void *pc,
                              gboolean return_address, const NlProgram *prog,
                              NlFrameInfo *out) {
  memset(out, 0, sizeof *out);
  GArray *frames = g_array_new(FALSE, TRUE, sizeof(NlFrameInfo));
  frames_at(dwfl, pc, return_address, prog, frames);
  gboolean found = frames->len > 0;
  if (found) /* the innermost */
    *out = g_array_index(frames, NlFrameInfo, 0);
  for (guint i = 1; i < frames->len; i++)
    nl_frame_info_clear(&g_array_index(frames, NlFrameInfo, i));
  g_array_free(frames, TRUE);
  return found;
}

gboolean nl_backtrace_frame_info(const void *pc, gboolean return_address,
                                 const NlProgram *prog, NlFrameInfo *out) {
  Dwfl *dwfl = process_dwfl();
  gboolean ok = frame_info_in(dwfl, pc, return_address, prog, out);
  if (dwfl)
    dwfl_end(dwfl);
  return ok;
}

void nl_frame_info_clear(NlFrameInfo *info) {
  g_free(info->function);
  g_free(info->file);
  memset(info, 0, sizeof *info);
}

/* "main.c:12 in parse_line" */
static void append_where(GString *out, const NlFrameInfo *f) {
  if (f->file != NULL) {
    char *base = g_path_get_basename(f->file);
    g_string_append_printf(out, "%s:%u in ", base, f->line);
    g_free(base);
  } else {
    g_string_append(out, "in ");
  }
  g_string_append(out, f->function ? f->function : "an unknown function");
}

char *nl_backtrace_describe(const NlBacktrace *bt, const NlProgram *prog,
                            guint callers) {
  g_return_val_if_fail(bt != NULL && prog != NULL, NULL);
  if (bt->n == 0)
    return NULL;
  Dwfl *dwfl = process_dwfl();
  GArray *frames = g_array_new(FALSE, TRUE, sizeof(NlFrameInfo));
  for (guint i = 0; i < bt->n; i++)
    frames_at(dwfl, bt->pc[i], i > 0, prog, frames);
  guint faulted = 0; /* the innermost frame of pc[0] is where it faulted */
  GString *out = NULL;
  guint shown = 0;
  const NlFrameInfo *prev = NULL;
  gboolean again = FALSE; /* the same frame as the last one shown */
  for (guint i = 0; i < frames->len; i++) {
    const NlFrameInfo *f = &g_array_index(frames, NlFrameInfo, i);
    if (!f->in_program)
      continue;
    /* A recursion shows its frame twice, then says so. */
    gboolean same = prev && prev->line == f->line &&
                    g_strcmp0(prev->file, f->file) == 0 &&
                    g_strcmp0(prev->function, f->function) == 0;
    if (same && again)
      continue;
    if (!same && again) {
      g_string_append(out, ", recursively");
      again = FALSE;
    }
    if (same)
      again = TRUE;
    prev = f;
    if (out == NULL) {
      out = g_string_new(i == faulted ? "at " : "in a call made at ");
      append_where(out, f);
    } else {
      g_string_append(out, shown == 0 ? " (called from " : ", ");
      append_where(out, f);
      shown++;
    }
    /* Nothing of the program calls main. */
    if ((f->function && strcmp(f->function, "main") == 0) || shown == callers)
      break;
  }
  for (guint i = 0; i < frames->len; i++)
    nl_frame_info_clear(&g_array_index(frames, NlFrameInfo, i));
  g_array_free(frames, TRUE);
  if (dwfl)
    dwfl_end(dwfl);
  if (out == NULL)
    return NULL;
  if (again)
    g_string_append(out, ", recursively");
  if (shown > 0)
    g_string_append_c(out, ')');
  return g_string_free(out, FALSE);
}

/* The named frames of @bt's program frames, innermost first. */
static GArray *program_frames(const NlBacktrace *bt, const NlProgram *prog) {
  Dwfl *dwfl = process_dwfl();
  GArray *all = g_array_new(FALSE, TRUE, sizeof(NlFrameInfo));
  for (guint i = 0; i < bt->n; i++)
    frames_at(dwfl, bt->pc[i], i > 0, prog, all);
  if (dwfl)
    dwfl_end(dwfl);
  GArray *mine = g_array_new(FALSE, TRUE, sizeof(NlFrameInfo));
  for (guint i = 0; i < all->len; i++) {
    NlFrameInfo *f = &g_array_index(all, NlFrameInfo, i);
    if (f->in_program)
      g_array_append_val(mine, *f); /* takes its strings */
    else
      nl_frame_info_clear(f);
  }
  g_array_free(all, TRUE);
  return mine;
}

static void frames_free(GArray *frames) {
  for (guint i = 0; i < frames->len; i++)
    nl_frame_info_clear(&g_array_index(frames, NlFrameInfo, i));
  g_array_free(frames, TRUE);
}

char *nl_backtrace_describe_overflow(const NlBacktrace *bt,
                                     const NlProgram *prog, guint callers) {
  g_return_val_if_fail(bt != NULL && prog != NULL, NULL);
  GArray *f = program_frames(bt, prog);
  if (f->len == 0) {
    frames_free(f);
    return NULL;
  }
  /* From the bottom up, the first function met again further up is
   * where the recursion began. */
  gint start = -1;
  for (gint i = (gint)f->len - 1; i > 0 && start < 0; i--) {
    const char *fn = g_array_index(f, NlFrameInfo, i).function;
    for (gint j = i - 1; j >= 0 && start < 0; j--)
      if (fn && g_strcmp0(g_array_index(f, NlFrameInfo, j).function, fn) == 0)
        start = i;
  }
  GString *out = g_string_new("in ");
  const NlFrameInfo *entry =
      &g_array_index(f, NlFrameInfo, start < 0 ? 0 : start);
  g_string_append(out,
                  entry->function ? entry->function : "an unknown function");
  if (start >= 0)
    g_string_append(out, ", recursively");
  guint shown = 0;
  for (guint i = (guint)(start < 0 ? 0 : start) + 1;
       i < f->len && shown < callers; i++) {
    const NlFrameInfo *c = &g_array_index(f, NlFrameInfo, i);
    g_string_append(out, shown++ == 0 ? " (called from " : ", ");
    append_where(out, c);
    if (c->function && strcmp(c->function, "main") == 0)
      break;
  }
  if (shown > 0)
    g_string_append_c(out, ')');
  frames_free(f);
  return g_string_free(out, FALSE);
}

char *nl_backtrace_crash_line(const NlCoro *c, const NlProgram *prog) {
  NlBacktrace bt;
  if (prog == NULL || nl_backtrace_of_coro(c, &bt) == 0)
    return NULL;
  if (nl_coro_stack_overflow(c))
    return nl_backtrace_describe_overflow(&bt, prog, 3);
  return nl_backtrace_describe(&bt, prog, 3);
}
