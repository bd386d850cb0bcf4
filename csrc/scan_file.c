/* The results scanner on a file: read with pread through a window (grown for a longer record), each
 * window's records scanned by `scan_span` (csrc/scan.c) and its RLE counts copied to their own buffer,
 * so the file's bytes are never held whole. */
#include "native.h"
#include "scan.h"
#include <sys/mman.h>
#include <unistd.h>

/* The last index in (lo, hi) that looks like a record's start ('{' after '}' ','), or -1. */
static Py_ssize_t last_record_start(const Doc *d, Py_ssize_t lo, Py_ssize_t hi) {
    for (Py_ssize_t j = hi - 1; j > lo; j--) {
        if (d->b[j] != '{') continue;
        Py_ssize_t a = j - 1;
        while (a > lo && (d->b[a] == ' ' || d->b[a] == '\n' || d->b[a] == '\r' || d->b[a] == '\t')) a--;
        if (a <= lo || d->b[a] != ',') continue;
        a--;
        while (a > lo && (d->b[a] == ' ' || d->b[a] == '\n' || d->b[a] == '\r' || d->b[a] == '\t')) a--;
        if (a > lo && d->b[a] == '}') return j;
    }
    return -1;
}

/* A window of `size` bytes mapped on its own (so its pages go back to the system when it is unmapped,
 * whatever the allocator keeps), starting with old[0:have]; NULL when it cannot be mapped. */
static uint8_t *map_window(Py_ssize_t size, const uint8_t *old, Py_ssize_t have) {
    void *p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
    if (have) memcpy(p, old, (size_t)have);
    return p;
}

/* window[have:] filled from fd at *at, up to the window's end or the file's: 0, or -1 on a read error. */
static int fill(int fd, uint8_t *window, Py_ssize_t *have, Py_ssize_t size, int64_t *at, int64_t file_end) {
    while (*have < size && *at < file_end) {
        ssize_t got = pread(fd, window + *have, (size_t)(size - *have), (off_t)*at);
        if (got <= 0) return -1;
        *have += got;
        *at += got;
    }
    return 0;
}

/* The list in file fd from byte `at` to `file_end`, read through a window of about `size` bytes (grown for a
 * longer record), each window's records scanned by `scan_span`; the counts go to o->cnt_buf (its own
 * buffer, at least file_end - at bytes). The rows, or < 0: -1 as scan, -2 a window split in a record or
 * rows beyond o->cap, -3 a read error (the caller then reads the whole file). */
static Py_ssize_t scan_fd(int fd, int64_t at, int64_t file_end, Py_ssize_t size, Out *o, int threads) {
    uint8_t *window = map_window(size, NULL, 0);
    Py_ssize_t have = 0, i, result = -2;
    if (!window) return -3;
    if (fill(fd, window, &have, size, &at, file_end)) { munmap(window, (size_t)size); return -3; }
    Doc d = {window, have};
    i = ws(&d, 0);
    if (i >= d.n || d.b[i] != '[') { munmap(window, (size_t)size); return -1; }
    i = ws(&d, i + 1);
    for (;;) {
        if (at == file_end) { /* the rest of the list is in the window */
            Py_ssize_t end;
            if (i < d.n && d.b[i] == ']') end = i + 1;
            else end = scan_span(&d, i, 0, o, threads, 0);
            if (end >= 0) result = ws(&d, end) == d.n ? o->row : -1;
            else result = end;
            break;
        }
        Py_ssize_t stop = last_record_start(&d, i, d.n);
        if (stop < 0) { /* one record longer than the window: a window twice as long */
            uint8_t *grown = size < (Py_ssize_t)1 << 40 ? map_window(size * 2, window, have) : NULL;
            if (!grown) { result = -3; break; }
            munmap(window, (size_t)size);
            window = grown;
            size *= 2;
        } else {
            if (i >= d.n || d.b[i] != '{' || scan_span(&d, i, stop, o, threads, 0) != stop) break;
            memmove(window, window + stop, (size_t)(have - stop));
            have -= stop;
            i = 0;
        }
        if (fill(fd, window, &have, size, &at, file_end)) { result = -3; break; }
        d = (Doc){window, have};
    }
    munmap(window, (size_t)size);
    if (result > 0 && threads > 1) release_tails(o, (size_t)o->row);
    return result;
}

/* scan_results_fd(fd, at, file_end, image_ids, category_ids, scores, boxes, flags, seg_size, cnt_off, cnt_buf,
 * threads, window) -> rows, or < 0 (see `scan_fd`: the caller reads the whole file instead) */
PyObject *native_scan_results_fd(PyObject *self, PyObject *args) {
    Py_buffer b[8];
    int fd, threads;
    long long at, file_end;
    Py_ssize_t window;
    if (!PyArg_ParseTuple(args, "iLLw*w*w*w*w*w*w*w*in", &fd, &at, &file_end, &b[0], &b[1], &b[2], &b[3], &b[4],
                          &b[5], &b[6], &b[7], &threads, &window))
        return NULL;
    Out o = {b[0].buf, b[1].buf, b[2].buf, b[3].buf, b[4].buf, b[5].buf, b[6].buf, b[7].buf, b[4].len, 0, 0, 0, 0, 0};
    Py_ssize_t rows = -2;
    if (b[7].len >= file_end - at && window > 64) {
        Py_BEGIN_ALLOW_THREADS
        rows = scan_fd(fd, at, file_end, window, &o, threads);
        Py_END_ALLOW_THREADS
    }
    RELEASE(b, 8);
    return PyLong_FromSsize_t(rows);
}
