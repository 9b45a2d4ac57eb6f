/* Files a program opens by name, and its working directory.
 *
 * The working directory is the process's own (NlProcFacts.cwd): chdir()
 * and fchdir() change it and never natlab's, and every path a program
 * gives is resolved against it here, so natlab's own output files never
 * move.  A path then names:
 *   - a device of the lab: /dev/null, /dev/zero, /dev/full, /dev/random
 *     and /dev/urandom (the process's seeded stream), /dev/stdin,
 *     /dev/stdout, /dev/stderr and /dev/fd/N (its descriptors);
 *   - a virtual file of the host: /etc/hostname, /etc/timezone,
 *     /etc/hosts, /etc/passwd, /etc/group, /etc/machine-id,
 *     /etc/resolv.conf;
 *   - nothing, for /etc/localtime (the host's zone is its `timezone=`),
 *     and the rest of /dev, /proc and /sys, which would describe natlab's
 *     process and the real machine (ENOENT);
 *   - otherwise a real file: regular files are not simulated.  It is
 *     opened for real and becomes a lab descriptor (read, write, lseek,
 *     fstat, close and the descriptor limit apply), closed with the
 *     process.
 * Paths are resolved by their text ("a/../b" is "b"), without following
 * symbolic links. */
#include "sim/host/host-priv.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "sim/host/posix.h"
#include "sim/host/vsock.h"
#include "sim/net/wire.h"

typedef enum {
  VF_NULL,
  VF_ZERO,
  VF_FULL,
  VF_RANDOM,
  VF_URANDOM,
  VF_TEXT, /* a virtual file's contents, fixed at open */
  VF_REAL, /* a real file or directory */
} VfKind;

struct NlVfile {
  VfKind kind;
  int accmode;   /* O_RDONLY, O_WRONLY or O_RDWR */
  int real_fd;   /* VF_REAL */
  char *path;    /* the resolved path (for fchdir and messages) */
  gboolean dir;  /* a directory */
  GBytes *text;  /* VF_TEXT */
  off_t pos;     /* VF_TEXT */
  NlProc *proc;  /* the opener: whose random stream a device reads */
};

static long ret(long r) {
  if (r < 0) {
    errno = (int)-r;
    return -1;
  }
  return r;
}

#define ENTER_OR(fail)                                                         \
  NlThread *t = nl__enter();                                                   \
  if (t == NULL) {                                                             \
    errno = ENOSYS;                                                            \
    return fail;                                                               \
  }

/* ---- paths ---- */

/* @path resolved against @base (absolute) into @out: absolute, no "."
 * or ".." parts, no repeated or trailing '/'.  -ENOENT for "",
 * -ENAMETOOLONG past PATH_MAX. */
static int resolve(const char *base, const char *path, GString *out) {
  if (path == NULL)
    return -EFAULT;
  if (*path == '\0')
    return -ENOENT;
  if (strnlen(path, PATH_MAX) >= PATH_MAX)
    return -ENAMETOOLONG;
  g_string_truncate(out, 0);
  char *joined = path[0] == '/' ? g_strdup(path)
                                : g_strconcat(base, "/", path, NULL);
  char **parts = g_strsplit(joined, "/", -1);
  for (char **q = parts; *q; q++) {
    if (**q == '\0' || strcmp(*q, ".") == 0)
      continue;
    if (strcmp(*q, "..") == 0) {
      char *slash = strrchr(out->str, '/');
      if (slash != NULL)
        g_string_truncate(out, (gsize)(slash - out->str));
      continue;
    }
    g_string_append_c(out, '/');
    g_string_append(out, *q);
  }
  g_strfreev(parts);
  g_free(joined);
  if (out->len == 0)
    g_string_append_c(out, '/');
  return out->len >= PATH_MAX ? -ENAMETOOLONG : 0;
}

static const char *cwd_of(NlProc *p) {
  return p->facts.cwd ? p->facts.cwd : "/";
}

/* The directory a descriptor names, for openat() and fchdir(). */
static NlVfile *dir_file(NlProc *p, int fd, int *err) {
  NlFile *f = nl__fd_get(p, fd);
  if (f == NULL) {
    *err = -EBADF;
    return NULL;
  }
  if (f->kind != NL_FILE_VFS || !f->vf->dir) {
    *err = -ENOTDIR;
    return NULL;
  }
  return f->vf;
}

/* ---- what a path names ---- */

typedef enum {
  NAME_REAL,
  NAME_DEVICE,
  NAME_TEXT,
  NAME_FD,     /* /dev/stdin, /dev/fd/N: @fd */
  NAME_HIDDEN, /* ENOENT */
} NameKind;

static const struct {
  const char *path;
  VfKind kind;
  unsigned minor; /* char device 1:minor, as Linux numbers them */
} devices[] = {
  {"/dev/null", VF_NULL, 3},     {"/dev/zero", VF_ZERO, 5},
  {"/dev/full", VF_FULL, 7},     {"/dev/random", VF_RANDOM, 8},
  {"/dev/urandom", VF_URANDOM, 9},
};

static gboolean under(const char *path, const char *dir) {
  size_t n = strlen(dir);
  return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static NameKind classify(NlProc *p, const char *path, int *dev, int *fd,
                         GString *text) {
  for (size_t i = 0; i < G_N_ELEMENTS(devices); i++)
    if (strcmp(path, devices[i].path) == 0) {
      *dev = (int)i;
      return NAME_DEVICE;
    }
  static const char *const std_names[] = {"/dev/stdin", "/dev/stdout",
                                          "/dev/stderr"};
  for (int i = 0; i < 3; i++)
    if (strcmp(path, std_names[i]) == 0) {
      *fd = i;
      return NAME_FD;
    }
  if (g_str_has_prefix(path, "/dev/fd/") && g_ascii_isdigit(path[8])) {
    char *end;
    long v = strtol(path + 8, &end, 10);
    if (*end == '\0' && v >= 0 && v < NL_MAX_FDS) {
      *fd = (int)v;
      return NAME_FD;
    }
    return NAME_HIDDEN;
  }
  if (strcmp(path, "/etc/hostname") == 0) {
    g_string_printf(text, "%s\n", nl_node_name(p->host->node));
    return NAME_TEXT;
  }
  if (strcmp(path, "/etc/timezone") == 0) {
    g_string_printf(text, "%s\n",
                    p->host->facts.tz_name ? p->host->facts.tz_name : "Etc/UTC");
    return NAME_TEXT;
  }
  if (strcmp(path, "/etc/hosts") == 0) {
    /* localhost and the host's own name on its first address. */
    NlNode *n = p->host->node;
    char ip[16] = "127.0.1.1";
    if (nl_node_n_ifaces(n) > 0)
      nl_ip4_to_string(nl_iface_addr(nl_node_iface(n, 0)), ip);
    g_string_printf(text, "127.0.0.1\tlocalhost\n%s\t%s\n", ip,
                    nl_node_name(n));
    return NAME_TEXT;
  }
  if (strcmp(path, "/etc/passwd") == 0) {
    g_string_assign(text, "root:x:0:0:root:/root:/bin/sh\n"
                          "lab:x:1000:1000:natlab user:/home/lab:/bin/sh\n");
    return NAME_TEXT;
  }
  if (strcmp(path, "/etc/group") == 0) {
    g_string_assign(text, "root:x:0:\nlab:x:1000:\n");
    return NAME_TEXT;
  }
  if (strcmp(path, "/etc/machine-id") == 0) {
    /* 128 bits from the host's name: the same for the host every run. */
    char *h = g_compute_checksum_for_string(G_CHECKSUM_SHA256,
                                            nl_node_name(p->host->node), -1);
    g_string_printf(text, "%.32s\n", h);
    g_free(h);
    return NAME_TEXT;
  }
  if (strcmp(path, "/etc/resolv.conf") == 0) {
    g_string_assign(text, "# natlab: names are the scenario's (getaddrinfo)\n");
    return NAME_TEXT;
  }
  if (strcmp(path, "/etc/localtime") == 0 || under(path, "/dev") ||
      under(path, "/proc") || under(path, "/sys"))
    return NAME_HIDDEN;
  return NAME_REAL;
}

/* ---- the file kind ---- */

static void vf_closed(NlFile *f) {
  NlVfile *v = f->vf;
  if (v->kind == VF_REAL && v->real_fd >= 0)
    close(v->real_fd);
  if (v->text)
    g_bytes_unref(v->text);
  g_free(v->path);
  g_free(v);
}

static unsigned vf_poll(NlFile *f) {
  return POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM;
}

static ssize_t vf_read(NlFile *f, void *buf, size_t len) {
  NlVfile *v = f->vf;
  if (v->accmode == O_WRONLY)
    return -EBADF;
  if (v->dir)
    return -EISDIR;
  switch (v->kind) {
    case VF_NULL:
      return 0;
    case VF_ZERO:
    case VF_FULL:
      memset(buf, 0, len);
      return (ssize_t)len;
    case VF_RANDOM:
    case VF_URANDOM: {
      /* Linux hands out at most 32 MiB - 1 bytes per read. */
      len = MIN(len, (size_t)(32 << 20) - 1);
      guint8 *b = buf;
      for (size_t i = 0; i < len; i += 8) {
        uint64_t x = nl_rand_u64(&v->proc->facts.urandom);
        memcpy(b + i, &x, MIN(8, len - i));
      }
      return (ssize_t)len;
    }
    case VF_TEXT: {
      gsize size;
      const guint8 *d = g_bytes_get_data(v->text, &size);
      if (v->pos >= (off_t)size)
        return 0;
      size_t n = MIN(len, size - (size_t)v->pos);
      memcpy(buf, d + v->pos, n);
      v->pos += (off_t)n;
      return (ssize_t)n;
    }
    default: {
      ssize_t n = read(v->real_fd, buf, len);
      return n < 0 ? -errno : n;
    }
  }
}

static ssize_t vf_write(NlFile *f, const void *buf, size_t len) {
  NlVfile *v = f->vf;
  if (v->accmode == O_RDONLY)
    return -EBADF;
  switch (v->kind) {
    case VF_FULL:
      return len ? -ENOSPC : 0;
    case VF_TEXT:
      return -EBADF;
    case VF_REAL: {
      ssize_t n = write(v->real_fd, buf, len);
      return n < 0 ? -errno : n;
    }
    default:
      return (ssize_t)len; /* null, zero and the random devices take it */
  }
}

static const NlFileOps vf_ops = {
  .closed = vf_closed,
  .poll = vf_poll,
  .read = vf_read,
  .write = vf_write,
};

static int install(NlThread *t, NlVfile *v, int flags) {
  NlFile *f = nl__file_new(t->proc->host, NL_FILE_VFS, &vf_ops);
  f->vf = v;
  f->status_flags = flags & (O_NONBLOCK | O_APPEND);
  int fd = nl__fd_install(t->proc, f, 0, (flags & O_CLOEXEC) != 0);
  if (fd < 0)
    nl__file_unref(f);
  return fd;
}

/* Opens @path (already resolved). */
static int open_resolved(NlThread *t, const char *path, int flags,
                         mode_t mode) {
  NlProc *p = t->proc;
  int dev = 0, fd = 0;
  GString *text = g_string_new(NULL);
  NameKind k = classify(p, path, &dev, &fd, text);
  int accmode = flags & O_ACCMODE;
  int r;
  if (accmode == 3) {
    r = -EINVAL;
    goto out;
  }
  switch (k) {
    case NAME_HIDDEN:
      r = -ENOENT;
      break;
    case NAME_FD:
      /* Opening /dev/fd/N duplicates N, as Linux's /proc/self/fd. */
      r = nl_vsock_dup3(t, fd, -1, flags & O_CLOEXEC);
      break;
    case NAME_DEVICE:
    case NAME_TEXT: {
      if ((flags & O_CREAT) && (flags & O_EXCL)) {
        r = -EEXIST;
        break;
      }
      if (k == NAME_TEXT && accmode != O_RDONLY) {
        r = -EACCES; /* root's file */
        break;
      }
      if (flags & O_DIRECTORY) {
        r = -ENOTDIR;
        break;
      }
      NlVfile *v = g_new0(NlVfile, 1);
      v->kind = k == NAME_DEVICE ? devices[dev].kind : VF_TEXT;
      v->accmode = accmode;
      v->real_fd = -1;
      v->path = g_strdup(path);
      v->proc = p;
      if (k == NAME_TEXT)
        v->text = g_bytes_new(text->str, text->len);
      r = install(t, v, flags);
      break;
    }
    default: {
      int rfd = open(path, (flags & ~(O_CLOEXEC | O_NONBLOCK)) | O_CLOEXEC,
                     mode);
      if (rfd < 0) {
        r = -errno;
        break;
      }
      struct stat st;
      NlVfile *v = g_new0(NlVfile, 1);
      v->kind = VF_REAL;
      v->accmode = accmode;
      v->real_fd = rfd;
      v->path = g_strdup(path);
      v->dir = fstat(rfd, &st) == 0 && S_ISDIR(st.st_mode);
      v->proc = p;
      r = install(t, v, flags);
      break;
    }
  }
out:
  g_string_free(text, TRUE);
  return r;
}

int nl_posix_open(const char *path, int flags, mode_t mode) {
  ENTER_OR(-1);
  GString *abs = g_string_new(NULL);
  int r = resolve(cwd_of(t->proc), path, abs);
  if (r == 0)
    r = open_resolved(t, abs->str, flags, mode);
  nl__trace_call(t, "open(\"%s\") = %d", path ? path : "(null)", r);
  g_string_free(abs, TRUE);
  return (int)ret(r);
}

int nl_posix_openat(int dirfd, const char *path, int flags, mode_t mode) {
  ENTER_OR(-1);
  const char *base = cwd_of(t->proc);
  int r = 0;
  if (dirfd != AT_FDCWD && path != NULL && path[0] != '/') {
    NlVfile *d = dir_file(t->proc, dirfd, &r);
    if (d == NULL)
      return (int)ret(r);
    base = d->path;
  }
  GString *abs = g_string_new(NULL);
  r = resolve(base, path, abs);
  if (r == 0)
    r = open_resolved(t, abs->str, flags, mode);
  g_string_free(abs, TRUE);
  return (int)ret(r);
}

/* ---- calls on descriptors ---- */

off_t nl_posix_lseek(int fd, off_t off, int whence) {
  ENTER_OR(-1);
  NlFile *f = nl__fd_get(t->proc, fd);
  if (f == NULL)
    return ret(-EBADF);
  if (f->kind != NL_FILE_VFS)
    return ret(-ESPIPE);
  NlVfile *v = f->vf;
  if (v->kind == VF_REAL) {
    off_t r = lseek(v->real_fd, off, whence);
    return r < 0 ? ret(-errno) : r;
  }
  if (whence != SEEK_SET && whence != SEEK_CUR && whence != SEEK_END)
    return ret(-EINVAL);
  if (v->kind != VF_TEXT)
    return 0; /* character devices stay at 0 */
  gsize size = g_bytes_get_size(v->text);
  off_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? v->pos : (off_t)size;
  if (base + off < 0)
    return ret(-EINVAL);
  v->pos = base + off;
  return v->pos;
}

static void fake_stat(struct stat *st, mode_t mode, dev_t rdev, off_t size) {
  memset(st, 0, sizeof *st);
  st->st_mode = mode;
  st->st_rdev = rdev;
  st->st_size = size;
  st->st_nlink = 1;
  st->st_blksize = 4096;
  st->st_ino = (ino_t)(rdev ? rdev : 1);
}

int nl_posix_fstat(int fd, struct stat *st) {
  ENTER_OR(-1);
  NlFile *f = nl__fd_get(t->proc, fd);
  if (f == NULL)
    return (int)ret(-EBADF);
  if (st == NULL)
    return (int)ret(-EFAULT);
  switch (f->kind) {
    case NL_FILE_UDP:
    case NL_FILE_TCP:
      fake_stat(st, S_IFSOCK | 0777, 0, 0);
      return 0;
    case NL_FILE_PIPE_R:
    case NL_FILE_PIPE_W:
    case NL_FILE_OUTPUT:
      fake_stat(st, S_IFIFO | 0600, 0, 0);
      return 0;
    case NL_FILE_EPOLL:
      fake_stat(st, 0600, 0, 0); /* an anonymous inode, as Linux's */
      return 0;
    default:
      break;
  }
  NlVfile *v = f->vf;
  if (v->kind == VF_REAL)
    return fstat(v->real_fd, st) == 0 ? 0 : (int)ret(-errno);
  if (v->kind == VF_TEXT) {
    fake_stat(st, S_IFREG | 0644, 0, (off_t)g_bytes_get_size(v->text));
    return 0;
  }
  for (size_t i = 0; i < G_N_ELEMENTS(devices); i++)
    if (devices[i].kind == v->kind)
      fake_stat(st, S_IFCHR | 0666, makedev(1, devices[i].minor), 0);
  return 0;
}

int nl_posix_fsync(int fd) {
  ENTER_OR(-1);
  NlFile *f = nl__fd_get(t->proc, fd);
  if (f == NULL)
    return (int)ret(-EBADF);
  if (f->kind == NL_FILE_VFS && f->vf->kind == VF_REAL)
    return fsync(f->vf->real_fd) == 0 ? 0 : (int)ret(-errno);
  return f->kind == NL_FILE_VFS ? 0 : (int)ret(-EINVAL);
}

int nl_posix_ftruncate(int fd, off_t len) {
  ENTER_OR(-1);
  NlFile *f = nl__fd_get(t->proc, fd);
  if (f == NULL)
    return (int)ret(-EBADF);
  if (f->kind == NL_FILE_VFS && f->vf->kind == VF_REAL)
    return ftruncate(f->vf->real_fd, len) == 0 ? 0 : (int)ret(-errno);
  return (int)ret(-EINVAL);
}

int nl_posix_isatty(int fd) {
  ENTER_OR(0);
  /* No descriptor of the lab is a terminal. */
  errno = nl__fd_get(t->proc, fd) ? ENOTTY : EBADF;
  return 0;
}

/* ---- calls on paths ---- */

/* Resolves @path for a path call: 0 and @abs set, or -errno.  *@kind
 * says what it names. */
static int path_of(NlThread *t, const char *path, GString *abs,
                   NameKind *kind, int *dev) {
  int r = resolve(cwd_of(t->proc), path, abs);
  if (r < 0)
    return r;
  int fd;
  GString *text = g_string_new(NULL);
  *kind = classify(t->proc, abs->str, dev, &fd, text);
  g_string_free(text, TRUE);
  return 0;
}

static int stat_path(const char *path, struct stat *st, gboolean follow) {
  ENTER_OR(-1);
  GString *abs = g_string_new(NULL);
  NameKind k;
  int dev = 0;
  int r = path_of(t, path, abs, &k, &dev);
  if (r == 0 && st == NULL)
    r = -EFAULT;
  if (r == 0) {
    switch (k) {
      case NAME_HIDDEN:
        r = -ENOENT;
        break;
      case NAME_DEVICE:
        fake_stat(st, S_IFCHR | 0666, makedev(1, devices[dev].minor), 0);
        break;
      case NAME_TEXT: {
        int fd2;
        GString *text = g_string_new(NULL);
        classify(t->proc, abs->str, &dev, &fd2, text);
        fake_stat(st, S_IFREG | 0644, 0, (off_t)text->len);
        g_string_free(text, TRUE);
        break;
      }
      case NAME_FD:
        fake_stat(st, S_IFIFO | 0600, 0, 0);
        break;
      default:
        if ((follow ? stat(abs->str, st) : lstat(abs->str, st)) != 0)
          r = -errno;
        break;
    }
  }
  g_string_free(abs, TRUE);
  return (int)ret(r);
}

int nl_posix_stat(const char *path, struct stat *st) {
  return stat_path(path, st, TRUE);
}

int nl_posix_lstat(const char *path, struct stat *st) {
  return stat_path(path, st, FALSE);
}

/* A call that changes or tests a real path only. */
#define REAL_PATH_CALL(expr_on_abs)                                            \
  ENTER_OR(-1);                                                                \
  GString *abs = g_string_new(NULL);                                           \
  NameKind k;                                                                  \
  int dev;                                                                     \
  int r = path_of(t, path, abs, &k, &dev);                                     \
  if (r == 0 && k == NAME_HIDDEN)                                              \
    r = -ENOENT;                                                               \
  else if (r == 0 && k != NAME_REAL)                                           \
    r = -EACCES;                                                               \
  else if (r == 0 && (expr_on_abs) != 0)                                       \
    r = -errno;                                                                \
  g_string_free(abs, TRUE);                                                    \
  return (int)ret(r);

int nl_posix_access(const char *path, int mode) {
  ENTER_OR(-1);
  GString *abs = g_string_new(NULL);
  NameKind k;
  int dev;
  int r = path_of(t, path, abs, &k, &dev);
  if (r == 0 && k == NAME_HIDDEN)
    r = -ENOENT;
  else if (r == 0 && k == NAME_TEXT && (mode & (W_OK | X_OK)))
    r = -EACCES;
  else if (r == 0 && k == NAME_REAL && access(abs->str, mode) != 0)
    r = -errno;
  g_string_free(abs, TRUE);
  return (int)ret(r);
}

int nl_posix_unlink(const char *path) {
  REAL_PATH_CALL(unlink(abs->str))
}

int nl_posix_mkdir(const char *path, mode_t mode) {
  REAL_PATH_CALL(mkdir(abs->str, mode))
}

int nl_posix_rmdir(const char *path) {
  REAL_PATH_CALL(rmdir(abs->str))
}

int nl_posix_remove(const char *path) {
  REAL_PATH_CALL(remove(abs->str))
}

int nl_posix_rename(const char *from, const char *to) {
  ENTER_OR(-1);
  GString *a = g_string_new(NULL), *b = g_string_new(NULL);
  NameKind ka, kb;
  int dev;
  int r = path_of(t, from, a, &ka, &dev);
  if (r == 0)
    r = path_of(t, to, b, &kb, &dev);
  if (r == 0 && (ka == NAME_HIDDEN || kb == NAME_HIDDEN))
    r = -ENOENT;
  else if (r == 0 && (ka != NAME_REAL || kb != NAME_REAL))
    r = -EACCES;
  else if (r == 0 && rename(a->str, b->str) != 0)
    r = -errno;
  g_string_free(a, TRUE);
  g_string_free(b, TRUE);
  return (int)ret(r);
}

char *nl_posix_realpath(const char *path, char *resolved) {
  ENTER_OR(NULL);
  GString *abs = g_string_new(NULL);
  NameKind k;
  int dev;
  int r = path_of(t, path, abs, &k, &dev);
  char buf[PATH_MAX];
  if (r == 0 && k == NAME_HIDDEN)
    r = -ENOENT;
  else if (r == 0 && k == NAME_REAL && realpath(abs->str, buf) == NULL)
    r = -errno;
  else if (r == 0 && k != NAME_REAL)
    g_strlcpy(buf, abs->str, sizeof buf);
  g_string_free(abs, TRUE);
  if (r < 0) {
    errno = -r;
    return NULL;
  }
  if (resolved == NULL) {
    resolved = nl_posix_malloc(strlen(buf) + 1);
    if (resolved == NULL)
      return NULL;
  }
  strcpy(resolved, buf);
  return resolved;
}

ssize_t nl_posix_readlink(const char *path, char *buf, size_t len) {
  ENTER_OR(-1);
  GString *abs = g_string_new(NULL);
  NameKind k;
  int dev;
  int r = path_of(t, path, abs, &k, &dev);
  ssize_t n = 0;
  if (r == 0 && k == NAME_HIDDEN)
    r = -ENOENT;
  else if (r == 0 && k != NAME_REAL)
    r = -EINVAL; /* the lab's files are not links */
  else if (r == 0 && (n = readlink(abs->str, buf, len)) < 0)
    r = -errno;
  g_string_free(abs, TRUE);
  return r < 0 ? ret(r) : n;
}

DIR *nl_posix_opendir(const char *path) {
  ENTER_OR(NULL);
  GString *abs = g_string_new(NULL);
  NameKind k;
  int dev;
  int r = path_of(t, path, abs, &k, &dev);
  DIR *d = NULL;
  if (r == 0 && k == NAME_HIDDEN)
    r = -ENOENT;
  else if (r == 0 && k != NAME_REAL)
    r = -ENOTDIR;
  else if (r == 0 && (d = opendir(abs->str)) == NULL)
    r = -errno;
  g_string_free(abs, TRUE);
  if (r < 0)
    errno = -r;
  return d;
}

/* ---- temporary names ---- */

/* mkstemp() and its kin, as glibc's __gen_tempname: the six X before
 * @suffixlen bytes become letters and digits until a name is new.  glibc
 * draws them from the real random source; here they come from the
 * process's seeded stream, so a run names its files the same every time. */
int nl_posix_mktemp(char *tmpl, int suffixlen, int flags, int dir) {
  ENTER_OR(-1);
  static const char chars[] =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  size_t len = tmpl ? strlen(tmpl) : 0;
  if (tmpl == NULL || suffixlen < 0 || len < 6 + (size_t)suffixlen ||
      strncmp(tmpl + len - 6 - suffixlen, "XXXXXX", 6) != 0)
    return (int)ret(-EINVAL);
  char *x = tmpl + len - 6 - suffixlen;
  GString *abs = g_string_new(NULL);
  int r = -EEXIST;
  for (int attempt = 0; attempt < 62 * 62 * 62 && r == -EEXIST; attempt++) {
    uint64_t v = nl_rand_u64(&t->proc->facts.urandom);
    for (int i = 0; i < 6; i++, v /= 62)
      x[i] = chars[v % 62];
    NameKind k;
    int dev;
    r = path_of(t, tmpl, abs, &k, &dev);
    if (r < 0)
      break;
    if (k != NAME_REAL)
      r = -EEXIST;
    else if (dir)
      r = mkdir(abs->str, 0700) == 0 ? 0 : -errno;
    else
      r = open_resolved(t, abs->str,
                        O_RDWR | O_CREAT | O_EXCL |
                            (flags & ~O_ACCMODE & ~O_CREAT & ~O_EXCL),
                        0600);
  }
  g_string_free(abs, TRUE);
  return (int)ret(r);
}

/* ---- the working directory ---- */

char *nl_posix_getcwd(char *buf, size_t size) {
  ENTER_OR(NULL);
  const char *cwd = cwd_of(t->proc);
  size_t n = strlen(cwd) + 1;
  if (buf == NULL) {
    /* glibc's extension: a buffer of @size (0: just large enough). */
    size_t want = size ? size : n;
    if (want < n) {
      errno = ERANGE;
      return NULL;
    }
    buf = nl_posix_malloc(want);
    if (buf == NULL)
      return NULL;
  } else if (size == 0) {
    errno = EINVAL;
    return NULL;
  } else if (size < n) {
    errno = ERANGE;
    return NULL;
  }
  memcpy(buf, cwd, n);
  return buf;
}

static void set_cwd(NlProc *p, const char *dir) {
  g_free(p->facts.cwd);
  p->facts.cwd = g_strdup(dir);
}

int nl_posix_chdir(const char *path) {
  ENTER_OR(-1);
  GString *abs = g_string_new(NULL);
  NameKind k;
  int dev;
  int r = path_of(t, path, abs, &k, &dev);
  struct stat st;
  if (r == 0 && k == NAME_HIDDEN)
    r = -ENOENT;
  else if (r == 0 && k != NAME_REAL)
    r = -ENOTDIR;
  else if (r == 0 && stat(abs->str, &st) != 0)
    r = -errno;
  else if (r == 0 && !S_ISDIR(st.st_mode))
    r = -ENOTDIR;
  else if (r == 0 && access(abs->str, X_OK) != 0)
    r = -errno;
  if (r == 0)
    set_cwd(t->proc, abs->str);
  nl__trace_call(t, "chdir(\"%s\") = %d", path ? path : "(null)", r);
  g_string_free(abs, TRUE);
  return (int)ret(r);
}

int nl_posix_fchdir(int fd) {
  ENTER_OR(-1);
  int r = 0;
  NlVfile *d = dir_file(t->proc, fd, &r);
  if (d == NULL)
    return (int)ret(r);
  set_cwd(t->proc, d->path);
  return 0;
}
