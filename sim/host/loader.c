/* Program objects, shared or privately copied (see loader.h). */
#include "sim/host/loader.h"
#include "sim/host/seal.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

G_DEFINE_QUARK(nl-loader-error-quark, nl_loader_error)

/* A shared open's object, kept while a handle on it is open: a scenario's
 * thousand hosts running one built-in program open it once (one open,
 * one check of its header, one dlopen) rather than once per host.  A
 * second dlopen of the same path would return this object without
 * looking at the file, so keeping it hands back what dlopen would; the
 * file is read again when the last handle has closed and the next opens
 * it (a later run). */
/* dlsym's answers for one loaded object, by name: every process of a
 * program asks for the same few symbols. */
#define NL_LOADER_SYMS 8
typedef struct {
  guint n;
  struct {
    char *name; /* a copy */
    void *addr;
  } e[NL_LOADER_SYMS];
} SymCache;

static void *sym_cached(SymCache *c, void *handle, const char *name) {
  for (guint i = 0; i < c->n; i++)
    if (strcmp(c->e[i].name, name) == 0)
      return c->e[i].addr;
  void *addr = dlsym(handle, name);
  if (c->n < NL_LOADER_SYMS) {
    c->e[c->n].name = g_strdup(name);
    c->e[c->n].addr = addr;
    c->n++;
  }
  return addr;
}

static void sym_cache_clear(SymCache *c) {
  for (guint i = 0; i < c->n; i++)
    g_free(c->e[i].name);
  c->n = 0;
}

typedef struct {
  char *path;
  void *handle;
  NlMainFn main;
  guint refs;
  SymCache syms;
} NlSharedObject;

/* path → NlSharedObject*, while one is open. */
static GHashTable *shared_objects;

struct NlProgram {
  char *path;
  void *handle;
  int memfd; /* private copy: keeps /proc/self/fd/N unique while loaded */
  NlMainFn main;
  NlSharedObject *shared; /* a shared open, else NULL */
  SymCache syms;          /* when not shared */
};

#if UINTPTR_MAX == 0xffffffffffffffffu
#define NL_ELFCLASS ELFCLASS64
#else
#define NL_ELFCLASS ELFCLASS32
#endif

/* Checks the ELF header of @fd so that a wrong file gets a clear message
 * rather than whatever dlopen would say. */
static gboolean check_elf(int fd, const char *path, GError **error) {
  ElfW(Ehdr) eh;
  ssize_t n = pread(fd, &eh, sizeof eh, 0);
  if (n < 0) {
    int e = errno;
    g_set_error(error, NL_LOADER_ERROR, NL_LOADER_ERROR_NOT_FOUND,
                "%s: cannot read: %s", path, g_strerror(e));
    return FALSE;
  }
  if ((size_t)n < sizeof eh || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0) {
    g_set_error(error, NL_LOADER_ERROR, NL_LOADER_ERROR_NOT_SHARED,
                "%s: not an ELF file", path);
    return FALSE;
  }
  if (eh.e_ident[EI_CLASS] != NL_ELFCLASS) {
    g_set_error(error, NL_LOADER_ERROR, NL_LOADER_ERROR_NOT_SHARED,
                "%s: ELF object of the wrong class (32/64-bit)", path);
    return FALSE;
  }
  if (eh.e_type != ET_DYN) {
    g_set_error(error, NL_LOADER_ERROR, NL_LOADER_ERROR_NOT_SHARED,
                "%s: not an ELF shared object (e_type %u); build it with "
                "natlab-cc",
                path, (unsigned)eh.e_type);
    return FALSE;
  }
  return TRUE;
}

/* Copies all of @src into @dst (a fresh memfd). */
static gboolean copy_all(int dst, int src, off_t size) {
  off_t off = 0;
  while (off < size) {
    ssize_t n = sendfile(dst, src, &off, (size_t)(size - off));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return FALSE;
  }
  return TRUE;
}

static int make_private_copy(int fd, const char *path, GError **error) {
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    g_set_error(error, NL_LOADER_ERROR, NL_LOADER_ERROR_NOT_FOUND,
                "%s: cannot stat: %s", path, g_strerror(e));
    return -1;
  }
  char *base = g_path_get_basename(path);
  int memfd = memfd_create(base, MFD_CLOEXEC);
  g_free(base);
  if (memfd < 0) {
    int e = errno;
    g_set_error(error, NL_LOADER_ERROR, NL_LOADER_ERROR_FAILED,
                "%s: memfd_create: %s", path, g_strerror(e));
    return -1;
  }
  if (!copy_all(memfd, fd, st.st_size)) {
    int e = errno;
    g_set_error(error, NL_LOADER_ERROR, NL_LOADER_ERROR_FAILED,
                "%s: cannot copy into memory: %s", path, g_strerror(e));
    close(memfd);
    return -1;
  }
  return memfd;
}

typedef struct {
  uintptr_t base, addr;
  const char *name;
  gboolean found;
} Probe;

static int probe_object(struct dl_phdr_info *info, size_t size, void *data) {
  Probe *p = data;
  (void)size;
  if ((uintptr_t)info->dlpi_addr != p->base ||
      g_strcmp0(info->dlpi_name, p->name) != 0)
    return 0;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    uintptr_t lo = p->base + ph->p_vaddr;
    if (ph->p_type == PT_LOAD && p->addr >= lo && p->addr < lo + ph->p_memsz)
      p->found = TRUE;
  }
  return 1;
}

/* TRUE if @addr lies in the object loaded as @handle (not one of its
 * dependencies, which dlsym also searches): in one of its loaded segments.
 * (dladdr would say the same after a search of the object's symbols for
 * the nearest one, ten times the work, paid by every program start.) */
static gboolean defined_in(void *handle, void *addr) {
  struct link_map *lm = NULL;
  if (dlinfo(handle, RTLD_DI_LINKMAP, &lm) != 0 || lm == NULL)
    return FALSE;
  Probe p = {(uintptr_t)lm->l_addr, (uintptr_t)addr, lm->l_name, FALSE};
  dl_iterate_phdr(probe_object, &p);
  return p.found;
}

static NlProgram *program_new(NlSharedObject *so) {
  NlProgram *prog = g_new0(NlProgram, 1);
  prog->path = so->path; /* the object's, which outlives it */
  prog->handle = so->handle;
  prog->memfd = -1;
  prog->main = so->main;
  prog->shared = so;
  so->refs++;
  return prog;
}

static NlProgram *open_file(const char *path, gboolean private_copy,
                            GError **error);

NlProgram *nl_loader_open(const char *path, gboolean private_copy,
                          GError **error) {
  g_return_val_if_fail(path != NULL, NULL);
  g_return_val_if_fail(error == NULL || *error == NULL, NULL);
  if (private_copy)
    return open_file(path, TRUE, error);
  NlSharedObject *so =
      shared_objects != NULL ? g_hash_table_lookup(shared_objects, path) : NULL;
  if (so != NULL)
    return program_new(so);
  NlProgram *first = open_file(path, FALSE, error);
  if (first == NULL)
    return NULL;
  so = g_new0(NlSharedObject, 1);
  so->path = g_strdup(path);
  so->handle = first->handle;
  so->main = first->main;
  if (shared_objects == NULL)
    shared_objects = g_hash_table_new(g_str_hash, g_str_equal);
  g_hash_table_insert(shared_objects, so->path, so);
  g_free(first->path);
  g_free(first);
  return program_new(so);
}

static NlProgram *open_file(const char *path, gboolean private_copy,
                            GError **error) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    g_set_error(error, NL_LOADER_ERROR, NL_LOADER_ERROR_NOT_FOUND,
                "%s: cannot open: %s", path, g_strerror(e));
    return NULL;
  }
  if (!check_elf(fd, path, error))
    goto fail_fd;

  int memfd = -1;
  char *load_path;
  if (private_copy) {
    memfd = make_private_copy(fd, path, error);
    if (memfd < 0)
      goto fail_fd;
    load_path = g_strdup_printf("/proc/self/fd/%d", memfd);
  } else {
    load_path = g_strdup(path);
  }
  close(fd);

  /* Loading runs the program's constructors: program code, which the
   * seal (seal.h) confines as it confines a running program. */
  nl_seal_loading_begin();
  void *handle = dlopen(load_path, RTLD_NOW | RTLD_LOCAL);
  unsigned refused = nl_seal_loading_end();
  g_free(load_path);
  if (handle == NULL) {
    const char *why = dlerror();
    g_set_error(error, NL_LOADER_ERROR, NL_LOADER_ERROR_FAILED,
                "%s: cannot load: %s", path, why ? why : "unknown error");
    goto fail_memfd;
  }
  if (refused > 0) {
    g_set_error(error, NL_LOADER_ERROR, NL_LOADER_ERROR_FAILED,
                "%s: refused: its initialisation made %s; natlab runs "
                "programs only inside the lab",
                path, nl_seal_last_refusal());
    goto fail_handle;
  }

  void *sym = dlsym(handle, "main");
  if (sym == NULL || !defined_in(handle, sym)) {
    g_set_error(error, NL_LOADER_ERROR, NL_LOADER_ERROR_NO_MAIN,
                "%s: defines no main()", path);
    goto fail_handle;
  }

  NlProgram *prog = g_new0(NlProgram, 1);
  prog->path = g_strdup(path);
  prog->handle = handle;
  prog->memfd = memfd;
  /* ISO C forbids object → function pointer casts; POSIX dlsym needs it. */
  memcpy(&prog->main, &sym, sizeof sym);
  return prog;

fail_handle:
  nl_seal_loading_begin();
  dlclose(handle);
  (void)nl_seal_loading_end();
fail_memfd:
  if (memfd >= 0)
    close(memfd);
  return NULL;
fail_fd:
  close(fd);
  return NULL;
}

NlMainFn nl_loader_main(const NlProgram *prog) {
  g_return_val_if_fail(prog != NULL, NULL);
  return prog->main;
}

void *nl_loader_symbol(const NlProgram *prog, const char *name) {
  g_return_val_if_fail(prog != NULL, NULL);
  g_return_val_if_fail(name != NULL, NULL);
  /* (the cache is the object's own bookkeeping, not what const guards) */
  NlProgram *mp = (NlProgram *)prog;
  return sym_cached(prog->shared != NULL ? &prog->shared->syms : &mp->syms,
                    prog->handle, name);
}

void *nl_loader_own_symbol(const NlProgram *prog, const char *name) {
  g_return_val_if_fail(prog != NULL, NULL);
  g_return_val_if_fail(name != NULL, NULL);
  void *sym = dlsym(prog->handle, name);
  return sym != NULL && defined_in(prog->handle, sym) ? sym : NULL;
}

const char *nl_loader_path(const NlProgram *prog) {
  g_return_val_if_fail(prog != NULL, NULL);
  return prog->path;
}

gboolean nl_loader_contains(const NlProgram *prog, const void *addr) {
  g_return_val_if_fail(prog != NULL, FALSE);
  return addr != NULL && defined_in(prog->handle, (void *)addr);
}

gboolean nl_loader_is_private(const NlProgram *prog) {
  g_return_val_if_fail(prog != NULL, FALSE);
  return prog->memfd >= 0;
}

typedef struct {
  uintptr_t base;
  const char *name;
  NlProgramLayout *out;
  gboolean found;
} LayoutFind;

static int layout_phdrs(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  LayoutFind *f = data;
  if (info->dlpi_addr != f->base || g_strcmp0(info->dlpi_name, f->name) != 0)
    return 0;
  uintptr_t lo = UINTPTR_MAX, hi = 0, relro_end = 0;
  for (ElfW(Half) i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    uintptr_t start = info->dlpi_addr + ph->p_vaddr;
    if (ph->p_type == PT_LOAD && (ph->p_flags & PF_W)) {
      lo = MIN(lo, start);
      hi = MAX(hi, start + ph->p_memsz);
    } else if (ph->p_type == PT_GNU_RELRO) {
      relro_end = start + ph->p_memsz;
    } else if (ph->p_type == PT_TLS) {
      f->out->tls = TRUE;
    }
  }
  /* RELRO is read-only once relocated: the same for every instance. */
  lo = MAX(lo, relro_end);
  if (lo < hi) {
    f->out->data = (void *)lo;
    f->out->data_len = hi - lo;
  }
  f->found = TRUE;
  return 1;
}

gboolean nl_loader_layout(const NlProgram *prog, NlProgramLayout *out) {
  g_return_val_if_fail(prog != NULL && out != NULL, FALSE);
  memset(out, 0, sizeof *out);
  struct link_map *lm = NULL;
  if (dlinfo(prog->handle, RTLD_DI_LINKMAP, &lm) != 0 || lm == NULL)
    return FALSE;
  for (const ElfW(Dyn) *d = lm->l_ld; d->d_tag != DT_NULL; d++) {
    if (d->d_tag == DT_INIT_ARRAYSZ)
      out->ctors = (guint)(d->d_un.d_val / sizeof(void *));
    else if (d->d_tag == DT_FINI_ARRAYSZ)
      out->dtors = (guint)(d->d_un.d_val / sizeof(void *));
  }
  LayoutFind f = {lm->l_addr, lm->l_name, out, FALSE};
  dl_iterate_phdr(layout_phdrs, &f);
  return f.found;
}

static void fini_nothing(void) {}

/* Where an object's segments of one type lie: from the lowest start to
 * the highest end of those of @type in the object loaded at @base as
 * @name; lo == hi == 0 if it has none. */
typedef struct {
  uintptr_t base;
  const char *name;
  ElfW(Word) type;
  uintptr_t lo, hi;
} SegSpan;

static int segment_span(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  SegSpan *f = data;
  if (info->dlpi_addr != f->base || g_strcmp0(info->dlpi_name, f->name) != 0)
    return 0;
  for (ElfW(Half) i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != f->type)
      continue;
    uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
    uintptr_t hi = lo + ph->p_memsz;
    f->lo = f->hi == 0 ? lo : MIN(f->lo, lo);
    f->hi = MAX(f->hi, hi);
  }
  return 1;
}

NlFiniFn *nl_loader_take_fini(NlProgram *prog, guint *n) {
  g_return_val_if_fail(prog != NULL && n != NULL, NULL);
  *n = 0;
  struct link_map *lm = NULL;
  if (prog->shared != NULL ||
      dlinfo(prog->handle, RTLD_DI_LINKMAP, &lm) != 0 || lm == NULL)
    return NULL;
  uintptr_t at = 0;
  size_t count = 0;
  for (const ElfW(Dyn) *d = lm->l_ld; d->d_tag != DT_NULL; d++) {
    if (d->d_tag == DT_FINI_ARRAY)
      at = lm->l_addr + d->d_un.d_ptr; /* as glibc's _dl_call_fini */
    else if (d->d_tag == DT_FINI_ARRAYSZ)
      count = d->d_un.d_val / sizeof(NlFiniFn);
  }
  if (at == 0 || count == 0)
    return NULL;
  NlFiniFn *entries = (NlFiniFn *)at;
  NlFiniFn *out = g_new(NlFiniFn, count);
  for (size_t i = 0; i < count; i++)
    out[i] = entries[count - 1 - i];
  /* The array is read-only once relocated when it lies in RELRO. */
  SegSpan f = {lm->l_addr, lm->l_name, PT_GNU_RELRO, 0, 0};
  dl_iterate_phdr(segment_span, &f);
  uintptr_t end = at + count * sizeof(NlFiniFn);
  gboolean ro = at < f.hi && end > f.lo;
  uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
  uintptr_t lo = at & ~(page - 1), hi = (end + page - 1) & ~(page - 1);
  if (ro && mprotect((void *)lo, hi - lo, PROT_READ | PROT_WRITE) != 0) {
    g_free(out);
    return NULL; /* left to dlclose, as before */
  }
  for (size_t i = 0; i < count; i++)
    entries[i] = fini_nothing;
  if (ro)
    (void)mprotect((void *)lo, hi - lo, PROT_READ);
  *n = (guint)count;
  return out;
}


/* dlclose(@handle), and under AddressSanitizer the object's addresses
 * made ordinary memory again.  AddressSanitizer poisons the red zones
 * around an instrumented object's globals when its constructor registers
 * them, and unpoisons them in its destructor; a process killed before
 * exit() runs no destructor of its copy (nl_loader_take_fini), so its
 * red zones would stay poisoned after the copy is gone, and the next
 * object mapped there (another copy of natlab-python, say) would be
 * reported reading them.  (Only natlab's sanitizer builds: the shim and
 * natlab-python are instrumented there.) */
static void close_handle(void *handle) {
#if defined(__SANITIZE_ADDRESS__)
  struct link_map *lm = NULL;
  SegSpan span = {0, NULL, PT_LOAD, 0, 0};
  if (dlinfo(handle, RTLD_DI_LINKMAP, &lm) == 0 && lm != NULL) {
    span.base = lm->l_addr;
    span.name = lm->l_name;
    dl_iterate_phdr(segment_span, &span);
  }
#endif
  nl_seal_loading_begin(); /* its destructors: program code */
  dlclose(handle);
  (void)nl_seal_loading_end();
#if defined(__SANITIZE_ADDRESS__)
  if (span.hi > span.lo)
    __asan_unpoison_memory_region((void *)span.lo, span.hi - span.lo);
#endif
}

void nl_loader_close(NlProgram *prog) {
  if (prog == NULL)
    return;
  NlSharedObject *so = prog->shared;
  if (so != NULL) {
    g_free(prog);
    if (--so->refs > 0)
      return;
    g_hash_table_remove(shared_objects, so->path);
    if (g_hash_table_size(shared_objects) == 0) {
      g_hash_table_destroy(shared_objects);
      shared_objects = NULL;
    }
    close_handle(so->handle);
    sym_cache_clear(&so->syms);
    g_free(so->path);
    g_free(so);
    return;
  }
  close_handle(prog->handle);
  /* After dlclose: the fd number must stay taken while the object is
   * loaded, or the next copy could get the same /proc/self/fd/N path and
   * the dynamic linker would hand back this instance. */
  if (prog->memfd >= 0)
    close(prog->memfd);
  sym_cache_clear(&prog->syms);
  g_free(prog->path);
  g_free(prog);
}
