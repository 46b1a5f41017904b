/* file.c — whole-file read and atomic write [native only, POSIX]. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "digitlens.h"

/* open() failures: "no such file" when the path (or a directory on it) is
 * missing, so the CLI can say so plainly. */
static int open_status(int err)
{
    if (err == ENOENT || err == ENOTDIR) return DL_ERR_NOT_FOUND;
    if (err == EISDIR) return DL_ERR_IS_DIR;
    if (err == ENOMEM) return DL_ERR_NOMEM;
    return DL_ERR_IO;
}

/* Read fd to EOF. Regular files are read in one buffer of their size (plus
 * one byte to see EOF); pipes and the like grow the buffer by doubling. */
static int read_all(int fd, size_t hint, uint8_t **buf, size_t *len)
{
    size_t cap = hint + 1, n = 0;
    uint8_t *p = malloc(cap);
    if (!p) return DL_ERR_NOMEM;
    for (;;) {
        if (n == cap) {
            uint8_t *q = cap > SIZE_MAX / 2 ? NULL : realloc(p, cap * 2);
            if (!q) { free(p); return DL_ERR_NOMEM; }
            p = q;
            cap *= 2;
        }
        ssize_t r = read(fd, p + n, cap - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) { free(p); return DL_ERR_IO; }
        if (r == 0) break;
        n += (size_t)r;
    }
    if (n == 0) { free(p); return DL_ERR_EMPTY_FILE; }
    *buf = p;
    *len = n;
    return DL_OK;
}

int dl_read_file(const char *path, uint8_t **buf, size_t *len)
{
    if (!path || !buf || !len) return DL_ERR_ARG;
    *buf = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return open_status(errno);
    struct stat sb;
    int st;
    if (fstat(fd, &sb) != 0) st = DL_ERR_IO;
    else if (S_ISDIR(sb.st_mode)) st = DL_ERR_IS_DIR;
    else if (S_ISREG(sb.st_mode) && sb.st_size == 0) st = DL_ERR_EMPTY_FILE;
    else if (S_ISREG(sb.st_mode) && (uintmax_t)sb.st_size >= SIZE_MAX) st = DL_ERR_NOMEM;
    else st = read_all(fd, S_ISREG(sb.st_mode) ? (size_t)sb.st_size : 4096, buf, len);
    close(fd);
    return st;
}

static int write_all(int fd, const uint8_t *buf, size_t len)
{
    while (len > 0) {
        ssize_t r = write(fd, buf, len);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        buf += r;
        len -= (size_t)r;
    }
    return 0;
}

/* Make the rename itself durable; best effort, as the new file is already
 * in place and complete when this runs. */
static void sync_parent_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path))
                      : strdup(".");
    if (!dir) return;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(dir);
}

/* Write "<path>.tmp.<pid>" next to path (the same file system, so rename is
 * atomic), fsync it, rename it over path. Any failure removes the temporary
 * file and leaves path as it was. */
int dl_write_file_atomic(const char *path, const uint8_t *buf, size_t len)
{
    if (!path || !*path || (!buf && len)) return DL_ERR_ARG;
    size_t n = strlen(path) + 32;
    char *tmp = malloc(n);
    if (!tmp) return DL_ERR_NOMEM;
    snprintf(tmp, n, "%s.tmp.%ld", path, (long)getpid());

    /* O_EXCL|O_NOFOLLOW: never write through a planted file or link; a file
     * of this name can only be left over from a dead process with our pid. */
    int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
    int fd = open(tmp, flags, 0666);
    if (fd < 0 && errno == EEXIST && unlink(tmp) == 0) fd = open(tmp, flags, 0666);
    if (fd < 0) {
        free(tmp);
        return errno == ENOMEM ? DL_ERR_NOMEM : DL_ERR_IO;
    }
    struct stat old;
    if (stat(path, &old) == 0 && S_ISREG(old.st_mode))
        (void)fchmod(fd, old.st_mode & 07777);  /* keep the replaced file's mode */

    int ok = write_all(fd, buf, len) == 0 && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    ok = ok && rename(tmp, path) == 0;
    if (!ok) unlink(tmp);
    else sync_parent_dir(path);
    free(tmp);
    return ok ? DL_OK : DL_ERR_IO;
}
