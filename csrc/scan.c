/* The results-file scanner in C: a JSON list of {image_id, category_id, score, bbox | segmentation}
 * records straight into columns, validating the JSON grammar of everything it reads or skips.
 * The same rules as cocoseg/io/results_json.py (numba, the fallback): any other layout returns -1
 * and the caller uses the standard parser. Numbers: Clinger's exact fast path, else strtod on the
 * validated token (both correctly rounded, as the numba path's and numpy's conversion are). Records
 * and their segmentation objects are read by one member loop (`object`/`member`); large files are
 * scanned in chunks on several threads (`scan`). */
#include "native.h"
#include "parallel.h"
#include "scan.h"
#include <sys/mman.h>
#include <unistd.h>
enum { F_IMAGE = 1, F_CAT = 2, F_SCORE = 4, F_BOX = 8, F_EMPTY_BOX = 16, F_SEGM = 32 };

static const char *const KEYS[] = {"image_id", "category_id", "score", "bbox", "segmentation", "keypoints", "size", "counts"};

/* The code of the object key at *i (-1 unknown, -2 invalid or escaped); *i moves after the ':' and spaces. */
static int key(const Doc *d, Py_ssize_t *i) { return json_key(d, i, KEYS, 8); }


#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* None of the 8 bytes of v is '"', '\\' or a control character (the classic has-zero/has-less bit tests). */
static inline int plain8(uint64_t v) {
    uint64_t q = v ^ (ONES * '"'), e = v ^ (ONES * '\\');
    return ((((q - ONES) & ~q) | ((e - ONES) & ~e) | ((v - ONES * 32) & ~v)) & HIGHS) == 0;
}

/* The string at i copied to out[*pos:] (\\ and \/ unescaped, other escapes refused), 8 plain bytes at a
 * time: the index after it, or -1. out may be d->b: a word is loaded before it is stored, at or before it. */
static Py_ssize_t counts(const Doc *d, Py_ssize_t i, uint8_t *out, int64_t *pos) {
    if (i >= d->n || d->b[i] != '"') return -1;
    i++;
    while (i < d->n) {
        uint64_t v;
        while (i + 8 <= d->n) {
            memcpy(&v, d->b + i, 8);
            if (!plain8(v)) break;
            memcpy(out + *pos, &v, 8);
            *pos += 8;
            i += 8;
        }
        if (i >= d->n) break;
        uint8_t c = d->b[i];
        if (c == '"') return i + 1;
        if (c < 32) return -1;
        if (c == '\\') {
            if (i + 1 < d->n && (d->b[i + 1] == '\\' || d->b[i + 1] == '/')) c = d->b[++i];
            else return -1;
        }
        out[(*pos)++] = c;
        i++;
    }
    return -1;
}

static Py_ssize_t object(const Doc *d, Py_ssize_t i, int level, Out *o);

/* `count` numbers [a, b, ...] at i into out (exact integers only when `ints`): the index after ']', or -1. */
static Py_ssize_t numbers(const Doc *d, Py_ssize_t i, int count, int ints, double *out) {
    if (i >= d->n || d->b[i] != '[') return -1;
    i++;
    for (int k = 0; k < count; k++) {
        int exact;
        i = number(d, ws(d, i), &out[k], &exact);
        if (i < 0 || (ints && exact != 1)) return -1;
        i = ws(d, i);
        if (i >= d->n || d->b[i] != (k < count - 1 ? ',' : ']')) return -1;
        i++;
    }
    return i;
}

/* The value of member `code` of a record (level 0) or of its segmentation (level 1) at i: the index after it. */
static Py_ssize_t member(const Doc *d, Py_ssize_t i, int code, int level, Out *o) {
    Py_ssize_t r = o->row;
    double v[4];
    int exact;
    if (level == 1) {
        if (code == 6) {  /* size */
            i = numbers(d, i, 2, 1, v);
            o->seg_size[2 * r] = (int64_t)v[0];
            o->seg_size[2 * r + 1] = (int64_t)v[1];
            o->found |= 1;
            return i;
        }
        if (code == 7) {  /* counts */
            o->pos = o->row_start;
            o->found |= 2;
            return counts(d, i, o->cnt_buf, &o->pos);
        }
        return skip_value(d, i);
    }
    switch (code) {
    case 0: case 1:  /* image_id, category_id */
        i = number(d, i, v, &exact);
        if (exact != 1) return -1;
        (code == 0 ? o->image_ids : o->category_ids)[r] = (int64_t)v[0];
        o->flags[r] |= code == 0 ? F_IMAGE : F_CAT;
        return i;
    case 2:
        o->flags[r] |= F_SCORE;
        return number(d, i, o->scores + r, &exact);
    case 3:  /* bbox: [x, y, w, h] or [] */
        if (i < d->n && d->b[i] == '[') {
            Py_ssize_t j = ws(d, i + 1);
            if (j < d->n && d->b[j] == ']') {
                o->flags[r] |= F_EMPTY_BOX;
                return j + 1;
            }
        }
        o->flags[r] |= F_BOX;
        return numbers(d, i, 4, 0, o->boxes + 4 * r);
    case 4:  /* segmentation: {"size": [h, w], "counts": "..."} */
        o->found = 0;
        i = object(d, i, 1, o);
        o->flags[r] |= F_SEGM;
        return o->found == 3 ? i : -1;
    case 5:  /* keypoints: the full parser's */
        return -1;
    default:
        return skip_value(d, i);
    }
}

/* An object at i, each member read by `member`: the index after it, or -1. */
static Py_ssize_t object(const Doc *d, Py_ssize_t i, int level, Out *o) {
    if (i >= d->n || d->b[i] != '{') return -1;
    i = ws(d, i + 1);
    for (;;) {
        int code = key(d, &i);
        if (code == -2) return -1;
        i = member(d, i, code, level, o);
        if (i < 0) return -1;
        int more = after_member(d, &i, '}');
        if (more < 0) return -1;
        if (more == 0) return i;
    }
}

/* Records from i (a record's '{') into rows o->row.. until the list closes (the index after ']') or, with
 * o->stop, until the next record starts at or after it (that record's index). -1 invalid; -2 the list
 * closed before o->stop. */
static Py_ssize_t records(const Doc *d, Py_ssize_t i, Out *o) {
    for (;;) {
        Py_ssize_t r = o->row;
        if (r >= o->cap) return -1;
        o->flags[r] = 0;
        o->pos = o->row_start;
        i = object(d, i, 0, o);
        if (i < 0) return -1;
        if (o->flags[r] & F_SEGM) o->row_start = o->pos;
        o->cnt_off[r + 1] = o->row_start;
        o->row++;
        int more = after_member(d, &i, ']');
        if (more < 0) return -1;
        if (more == 0) return o->stop ? -2 : i;
        if (o->stop && i >= o->stop) return i;
    }
}


typedef struct {
    const Doc *d;
    Out out[MAX_THREADS];
    Py_ssize_t start[MAX_THREADS + 1], braces[MAX_THREADS], end[MAX_THREADS];
} Chunks;

static void count_chunks(void *ctx, Py_ssize_t t0, Py_ssize_t t1) {
    Chunks *c = ctx;
    for (Py_ssize_t t = t0; t < t1; t++) {
        const uint8_t *p = c->d->b + c->start[t], *end = c->d->b + c->start[t + 1];
        Py_ssize_t k = 0;
        while ((p = memchr(p, '{', end - p)) != NULL) { k++; p++; }
        c->braces[t] = k;
    }
}

static void scan_chunks(void *ctx, Py_ssize_t t0, Py_ssize_t t1) {
    Chunks *c = ctx;
    for (Py_ssize_t t = t0; t < t1; t++) c->end[t] = records(c->d, c->start[t], &c->out[t]);
}

/* Chunk t's rows and counts moved down to follow chunk t - 1's (row base R, counts base C). Boxes and
 * sizes only when a row has one (else they are unwritten: moving them would only take pages). */
static void compact(Out *o, const Out *part, Py_ssize_t base, int64_t first, Py_ssize_t R, int64_t C) {
    Py_ssize_t n = part->row - base;
    int64_t len = part->row_start - first;
    uint8_t any = 0;
    for (Py_ssize_t j = 0; j < n; j++) any |= o->flags[base + j];
    memmove(o->image_ids + R, o->image_ids + base, n * sizeof(int64_t));
    memmove(o->category_ids + R, o->category_ids + base, n * sizeof(int64_t));
    memmove(o->scores + R, o->scores + base, n * sizeof(double));
    if (any & F_BOX) memmove(o->boxes + 4 * R, o->boxes + 4 * base, 4 * n * sizeof(double));
    memmove(o->flags + R, o->flags + base, n);
    if (any & F_SEGM) memmove(o->seg_size + 2 * R, o->seg_size + 2 * base, 2 * n * sizeof(int64_t));
    memmove(o->cnt_buf + C, o->cnt_buf + first, len);
    for (Py_ssize_t j = 1; j <= n; j++) o->cnt_off[R + j] = o->cnt_off[base + j] - first + C;
}

/* The pages of p[used:total] given back (chunks after the first wrote rows past the rows kept). */
static void release_tail(void *p, size_t used, size_t total) {
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), a = (uintptr_t)p + used, b = (uintptr_t)p + total;
    a = (a + page - 1) / page * page;
    b = b / page * page;
    if (b > a) madvise((void *)a, b - a, MADV_DONTNEED);
}

void release_tails(Out *o, size_t rows) {
    size_t cap = (size_t)o->cap;
    release_tail(o->image_ids, rows * 8, cap * 8);
    release_tail(o->category_ids, rows * 8, cap * 8);
    release_tail(o->scores, rows * 8, cap * 8);
    release_tail(o->boxes, rows * 32, cap * 32);
    release_tail(o->flags, rows, cap);
    release_tail(o->seg_size, rows * 16, cap * 16);
    release_tail(o->cnt_off, (rows + 1) * 8, (cap + 1) * 8);
}

/* Records from i (a record's '{') into rows o->row.. and counts o->row_start.., in `threads` chunks at once,
 * until the list closes (stop 0: the index after ']') or until the record that starts at stop. A chunk
 * starts where a record seems to start, and counts only when the chunk before ends exactly there (then
 * the text before it parses as it would in one pass). Rows of chunk t go after the braces before it (each
 * record has one), counts after its first byte (`in_place`: never over a byte another chunk reads) or
 * after the bytes before it in the span; then both are moved together. -1 invalid; -2 when a chunk start
 * was not a record's or a chunk failed (counts written in place may have overwritten the text: read it
 * anew and scan it in one pass, which also tells a layout the full parser must read). */
Py_ssize_t scan_span(const Doc *d, Py_ssize_t i, Py_ssize_t stop, Out *o, int threads, int in_place) {
    Py_ssize_t end = stop ? stop : d->n;
    Chunks c;
    memset(&c, 0, sizeof c);
    int k = 1;
    c.d = d;
    c.start[0] = i;
    for (; k < threads && k < MAX_THREADS; k++) {
        Py_ssize_t s = record_start(d, c.start[k - 1] + (end - i) / threads);
        if (s >= end) break;
        c.start[k] = s;
    }
    c.start[k] = end;
    int64_t steps[MAX_THREADS + 1], first[MAX_THREADS];
    for (int t = 0; t <= k; t++) steps[t] = t;
    if (k > 1) parallel_rows(count_chunks, &c, k, steps, k);
    Py_ssize_t base = o->row;
    for (int t = 0; t < k; t++) {
        c.out[t] = *o;
        c.out[t].row = base;
        base += k > 1 ? c.braces[t] : 0;
        c.out[t].cap = t < k - 1 ? base : o->cap;
        first[t] = t == 0 ? o->row_start : in_place ? c.start[t] + 1 : o->row_start + (c.start[t] - i);
        c.out[t].row_start = first[t];
        c.out[t].stop = t < k - 1 ? c.start[t + 1] : stop;
    }
    if (c.out[k - 1].row > o->cap) return -1;
    parallel_rows(scan_chunks, &c, k, steps, k);
    Py_ssize_t R = o->row;
    int64_t C = o->row_start;
    for (int t = 0; t < k; t++) {
        /* a chunk that failed may have read bytes the next chunk had written over: one pass decides */
        if (c.end[t] < 0 || (t < k - 1 && c.end[t] != c.start[t + 1])) return k > 1 ? -2 : -1;
        Py_ssize_t first_row = t == 0 ? o->row : c.out[t - 1].cap;
        if (t > 0) compact(o, &c.out[t], first_row, first[t], R, C);
        R += c.out[t].row - first_row;
        C += c.out[t].row_start - first[t];
    }
    o->row = R;
    o->row_start = C;
    if (stop && c.end[k - 1] != stop) return -2;
    return c.end[k - 1];
}

/* The whole list in d: the rows, or -1 / -2 as `scan_span`. */
static Py_ssize_t scan(const Doc *d, Out *o, int threads) {
    Py_ssize_t i = ws(d, 0);
    if (i >= d->n || d->b[i] != '[') return -1;
    i = ws(d, i + 1);
    if (i < d->n && d->b[i] == ']') return ws(d, i + 1) == d->n ? 0 : -1;
    Py_ssize_t end = scan_span(d, i, 0, o, threads, o->cnt_buf == d->b);
    if (end < 0) return end;
    if (threads > 1) release_tails(o, (size_t)o->row);
    return ws(d, end) == d->n ? o->row : -1;
}

/* scan_results(buf, image_ids, category_ids, scores, boxes, flags, seg_size, cnt_off, cnt_buf, threads) -> rows;
 * -1 when the layout needs the full parser, -2 when a parallel scan must be redone in one thread.
 * cnt_buf may be buf itself (counts unescaped in place). */
PyObject *native_scan_results(PyObject *self, PyObject *args) {
    Py_buffer b[9];
    int threads;
    if (!PyArg_ParseTuple(args, "y*w*w*w*w*w*w*w*w*i", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &b[6], &b[7], &b[8],
                          &threads))
        return NULL;
    Doc d = {b[0].buf, b[0].len};
    Out o = {b[1].buf, b[2].buf, b[3].buf, b[4].buf, b[5].buf, b[6].buf, b[7].buf, b[8].buf, b[5].len, 0, 0, 0, 0, 0};
    Py_ssize_t rows;
    Py_BEGIN_ALLOW_THREADS
    rows = scan(&d, &o, threads);
    Py_END_ALLOW_THREADS
    RELEASE(b, 9);
    return PyLong_FromSsize_t(rows);
}

/* count_byte(buf, byte) -> how many times byte occurs in buf */
PyObject *native_count_byte(PyObject *self, PyObject *args) {
    Py_buffer b;
    int byte;
    if (!PyArg_ParseTuple(args, "y*i", &b, &byte)) return NULL;
    const uint8_t *p = b.buf, *end = p + b.len;
    Py_ssize_t count = 0;
    Py_BEGIN_ALLOW_THREADS
    while ((p = memchr(p, byte, end - p)) != NULL) { count++; p++; }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&b);
    return PyLong_FromSsize_t(count);
}
