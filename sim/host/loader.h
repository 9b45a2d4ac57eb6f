/* Loading program objects: a program built by natlab-cc is a shared object
 * whose `main` the simulator calls on a coroutine.
 *
 * A private copy gives a separate instance with its own writable data (its
 * globals, its static buffers, its copy of the natlab-cc shim): the object
 * is copied into an anonymous memory file (memfd_create) and loaded through
 * /proc/self/fd/N, and the dynamic linker, which recognises objects by path
 * and by inode, sees a new object every time.  glibc's dlmopen would also
 * separate them but is limited to 16 namespaces.  A shared open is a plain
 * dlopen(): every shared open of one path is the same instance.
 *
 * Processes of a user's program share one private copy when they can
 * (proc.c, NlSharedProgram): nl_loader_layout() tells where its writable
 * data is, which the lab swaps per process.
 *
 * Objects are loaded RTLD_NOW | RTLD_LOCAL, so two instances never satisfy
 * each other's symbols.  Note that a function the object both defines and
 * calls (e.g. the shim's `socket`) still binds to an earlier definition in
 * the global scope (libc) unless the object is linked with -Wl,-Bsymbolic.
 */
#ifndef NL_LOADER_H
#define NL_LOADER_H

#include <glib.h>

G_BEGIN_DECLS

#define NL_LOADER_ERROR (nl_loader_error_quark())
GQuark nl_loader_error_quark(void);

typedef enum {
  NL_LOADER_ERROR_NOT_FOUND,  /* cannot open or read the file */
  NL_LOADER_ERROR_NOT_SHARED, /* not an ELF shared object of this machine */
  NL_LOADER_ERROR_NO_MAIN,    /* the object defines no `main` */
  NL_LOADER_ERROR_FAILED,     /* dlopen failed (the message says why) */
} NlLoaderError;

typedef struct NlProgram NlProgram;

typedef int (*NlMainFn)(int argc, char **argv);

/**
 * nl_loader_open: (transfer full) loads the shared object at @path.  With
 * @private_copy, every call makes a new instance with its own globals;
 * without, every call returns a handle on the one shared instance (its
 * constructors run once, and it is unloaded when the last handle closes).
 * Returns: the program, or NULL with @error set; the message names @path
 * and the reason.
 */
G_GNUC_WARN_UNUSED_RESULT NlProgram *
nl_loader_open(const char *path, gboolean private_copy, GError **error);

/* The object's `int main(int, char **)`; never NULL for an open program. */
NlMainFn nl_loader_main(const NlProgram *prog);

/* The address of @name in this instance (dlsym), or NULL. */
void *nl_loader_symbol(const NlProgram *prog, const char *name);

/* Like nl_loader_symbol(), but only a definition in the object itself, not
 * in the libraries it links (libc). */
void *nl_loader_own_symbol(const NlProgram *prog, const char *name);

/* The path given to nl_loader_open(). */
const char *nl_loader_path(const NlProgram *prog);

gboolean nl_loader_is_private(const NlProgram *prog);

/* TRUE if @addr lies in this instance's own object (its code or data, not
 * a library it uses). */
gboolean nl_loader_contains(const NlProgram *prog, const void *addr);

/* How a loaded object lays out its data, for sharing one instance among
 * processes (proc.c swaps @data per process). */
typedef struct {
  void *data;      /* the writable bytes past RELRO: .data, .bss, the
                    * shim's state; NULL when the object has none */
  size_t data_len;
  guint ctors;     /* entries of .init_array */
  guint dtors;     /* entries of .fini_array */
  gboolean tls;    /* thread-local storage (PT_TLS) */
} NlProgramLayout;

/* Fills @out from the loaded object's program headers and dynamic
 * section.  Returns: FALSE if they cannot be found. */
gboolean nl_loader_layout(const NlProgram *prog, NlProgramLayout *out);

/* A destructor of the object's .fini_array. */
typedef void (*NlFiniFn)(void);

/**
 * nl_loader_take_fini: (transfer full) takes the destructors out of this
 * instance (a private copy: nothing else runs its code), in the order
 * exit() runs them (the array's last entry first), so that the caller runs
 * them where it chooses (in the process, at its exit) or not at all (a
 * process that was killed): the entries in the object then point at a
 * function that does nothing, and unloading runs none.  Returns NULL with
 * *@n 0 when it has none or is shared; g_free() the array.
 */
NlFiniFn *nl_loader_take_fini(NlProgram *prog, guint *n);

/**
 * nl_loader_close: unloads this instance (dlclose; for a private copy also
 * closes its memory file, which frees it) and frees @prog.  No code or data
 * of the instance may be used afterwards, e.g. by a suspended coroutine.
 * NULL is a no-op.
 */
void nl_loader_close(NlProgram *prog);

G_END_DECLS

#endif
