/* The COCO GT scanner in C: a COCO instances file straight into the evaluator's columns, with no
 * Python object per record (cocoseg/io/gt_scan.py holds the rules it serves).
 *
 * It reads what evaluation needs (images: id, width, height, file_name; annotations: id, image_id,
 * category_id, iscrowd, area, bbox and polygon segmentations; the span of the categories list) and
 * validates the JSON grammar and UTF-8 of everything it skips. It is the file's type step of validation's
 * annotation screen (cocoseg/io/annotation_screen.py, whose value rules the caller runs on these columns):
 * it takes only the clean layout the screen passes field by field, the types it requires, each key of
 * interest once, ints exact below 2**52 where they become doubles, finite numbers, polygons as lists of
 * numbers, file names without escapes. Each annotation's byte span is kept: the records the screen would
 * not pass (an RLE, a polygon outside its image's shorter side...) are parsed alone by the caller for
 * validation's detailed checks. Anything else (keypoints in the GT, a missing field, a float id, a
 * duplicate key...) returns None, and the caller loads the file with the full parser and validator,
 * which report or accept it. Value checks that need other records
 * (references, ranges against the image size, unique ids) are left to the caller, on the columns. */
#include "native.h"
#include "json_scan.h"
#include "parallel.h"

#define EXACT_LIMIT 4503599627370496.0 /* 2**52: ints below it stay exact through the screen's sums */

typedef struct {
    uint8_t *p;
    size_t len, cap;
} Vec;

static int push(Vec *v, const void *x, size_t n) {
    if (v->len + n > v->cap) {
        size_t cap = v->cap ? v->cap : 1 << 12;
        while (cap < v->len + n) cap *= 2;
        uint8_t *p = realloc(v->p, cap);
        if (!p) return 0;
        v->p = p;
        v->cap = cap;
    }
    memcpy(v->p + v->len, x, n);
    v->len += n;
    return 1;
}

enum { IMG_ID, IMG_W, IMG_H, ANN_ID, ANN_IMG, ANN_CAT, ANN_CROWD, ANN_AREA, ANN_BOX, ANN_PARTS, PART_LEN, COORDS,
       ANN_SPAN, N_COLUMNS };

typedef struct {
    Vec col[N_COLUMNS];
    Py_ssize_t cat_start, cat_end;
    int oom;
    int threads;         /* for the annotations list */
    struct Gt_ *parts;   /* the annotation rows of chunks 1.. (chunk 0's are in col), in order */
    int n_parts;
} Gt;

typedef struct Gt_ { Gt g; } GtPart;

static int push_i64(Gt *g, int c, int64_t x) { return push(&g->col[c], &x, 8) || (g->oom = 1, 0); }
static int push_f64(Gt *g, int c, double x) { return push(&g->col[c], &x, 8) || (g->oom = 1, 0); }

/* An int token (no fraction or exponent) exactly representable: *v; -1 for anything else. */
static Py_ssize_t exact_int(const Doc *d, Py_ssize_t i, int64_t *v) {
    double x;
    int exact;
    Py_ssize_t j = number(d, i, &x, &exact);
    if (j < 0 || exact != 1) return -1;
    *v = (int64_t)x;
    return j;
}

/* A number as the screen takes it (a TYPED number of csrc/gt_columns.c): finite, and an
 * int token only when exact below 2**52 (a larger int goes to the detailed checks there). */
static Py_ssize_t screen_number(const Doc *d, Py_ssize_t i, double *v) {
    int exact;
    Py_ssize_t j = number(d, i, v, &exact);
    if (j < 0 || !isfinite(*v)) return -1;
    if (exact == 1) return fabs(*v) < EXACT_LIMIT ? j : -1;
    return exact == 0 ? j : -1; /* a fraction or exponent; an int token too long to be exact goes elsewhere */
}

/* validate.py's file_name screen on the raw string (escapes refused): non-empty, not absolute, no '..',
 * no drive letter; a first character outside ASCII is left to the full validator. */
static Py_ssize_t file_name(const Doc *d, Py_ssize_t i) {
    if (i >= d->n || d->b[i] != '"') return -1;
    Py_ssize_t e = string_end(d, i);
    if (e < 0) return -1;
    const uint8_t *s = d->b + i + 1;
    Py_ssize_t n = e - i - 2;
    if (n < 1 || s[0] == '/' || s[0] >= 0x80 || (n > 1 && s[1] == ':')) return -1;
    for (Py_ssize_t k = 0; k < n; k++)
        if (s[k] == '\\' || (s[k] == '.' && k + 1 < n && s[k + 1] == '.')) return -1;
    return e;
}

/* After a list item: 1 on ',', 0 on ']' (*i moves past either), -1 otherwise. */
static int next_item(const Doc *d, Py_ssize_t *i) { return after_member(d, i, ']'); }

static const char *const IMAGE_KEYS[] = {"id", "width", "height", "file_name"};

static Py_ssize_t image(const Doc *d, Py_ssize_t i, Gt *g) {
    if (i >= d->n || d->b[i] != '{') return -1;
    i = ws(d, i + 1);
    int64_t v[3] = {0, 0, 0};
    int seen = 0;
    for (;;) {
        int code = json_key(d, &i, IMAGE_KEYS, 4);
        if (code == -2 || (code >= 0 && (seen >> code) & 1)) return -1;
        if (code >= 0) seen |= 1 << code;
        i = code < 0 ? skip_value(d, i) : code < 3 ? exact_int(d, i, &v[code]) : file_name(d, i);
        if (i < 0) return -1;
        int more = after_member(d, &i, '}');
        if (more < 0) return -1;
        if (!more) break;
    }
    if (seen != 15 || !push_i64(g, IMG_ID, v[0]) || !push_i64(g, IMG_W, v[1]) || !push_i64(g, IMG_H, v[2])) return -1;
    return i;
}

/* [x, y, w, h]: four screen numbers. */
static Py_ssize_t box(const Doc *d, Py_ssize_t i, double *out) {
    if (i >= d->n || d->b[i] != '[') return -1;
    i = ws(d, i + 1);
    for (int k = 0; k < 4; k++) {
        i = screen_number(d, i, out + k);
        if (i < 0) return -1;
        i = ws(d, i);
        if (i >= d->n || d->b[i] != (k < 3 ? ',' : ']')) return -1;
        i = ws(d, i + 1);
    }
    return i;
}

/* A polygon list [[x, y, ...], ...] of screen numbers: coordinates to COORDS, lengths to PART_LEN (the
 * screen's length and range rules are the caller's, on the columns). */
static Py_ssize_t polygons(const Doc *d, Py_ssize_t i, Gt *g, int64_t *parts) {
    if (i >= d->n || d->b[i] != '[') return -1;
    i = ws(d, i + 1);
    *parts = 0;
    if (i < d->n && d->b[i] == ']') return i + 1;
    for (;;) {
        if (i >= d->n || d->b[i] != '[') return -1;
        i = ws(d, i + 1);
        int64_t n = 0;
        if (i < d->n && d->b[i] == ']') i++;
        else for (int more = 1; more;) {
            double v;
            i = screen_number(d, i, &v);
            if (i < 0 || !push_f64(g, COORDS, v)) return -1;
            n++;
            more = next_item(d, &i);
            if (more < 0) return -1;
            i = ws(d, i);
        }
        if (!push_i64(g, PART_LEN, n)) return -1;
        (*parts)++;
        int more = next_item(d, &i);
        if (more < 0) return -1;
        if (!more) return i;
    }
}

static const char *const ANN_KEYS[] = {"id", "image_id", "category_id", "iscrowd", "area", "bbox", "segmentation",
                                       "keypoints"};

static Py_ssize_t annotation(const Doc *d, Py_ssize_t i, Gt *g) {
    if (i >= d->n || d->b[i] != '{') return -1;
    Py_ssize_t start = i;
    i = ws(d, i + 1);
    int64_t v[4] = {0, 0, 0, 0}, parts = -1;
    double area = 0, b[4] = {0, 0, 0, 0};
    int seen = 0;
    for (;;) {
        int code = json_key(d, &i, ANN_KEYS, 8);
        if (code == -2 || code == 7 || (code >= 0 && (seen >> code) & 1)) return -1; /* keypoints: the full path */
        if (code >= 0) seen |= 1 << code;
        i = code < 0 ? skip_value(d, i) : code < 4 ? exact_int(d, i, &v[code]) : code == 4 ? screen_number(d, i, &area)
            : code == 5 ? box(d, i, b) : i < d->n && d->b[i] == '{' ? (parts = -2, skip_value(d, i))
            : polygons(d, i, g, &parts);
        if (i < 0) return -1;
        int more = after_member(d, &i, '}');
        if (more < 0) return -1;
        if (!more) break;
    }
    if ((seen & 63) != 63) return -1;
    for (int k = 0; k < 4; k++)
        if (!push_i64(g, ANN_ID + k, v[k])) return -1;
    if (!push_f64(g, ANN_AREA, area) || !push(&g->col[ANN_BOX], b, sizeof b) || !push_i64(g, ANN_PARTS, parts)) {
        g->oom = 1;
        return -1;
    }
    if (!push_i64(g, ANN_SPAN, start) || !push_i64(g, ANN_SPAN, i)) return -1;
    return i;
}

/* A list of records read by `one`: the index after ']', or -1. */
static Py_ssize_t records(const Doc *d, Py_ssize_t i, Gt *g, Py_ssize_t (*one)(const Doc *, Py_ssize_t, Gt *)) {
    if (i >= d->n || d->b[i] != '[') return -1;
    i = ws(d, i + 1);
    if (i < d->n && d->b[i] == ']') return i + 1;
    for (;;) {
        i = one(d, i, g);
        if (i < 0) return -1;
        int more = next_item(d, &i);
        if (more < 0) return -1;
        if (!more) return i;
    }
}

/* An annotation list read on several threads. The range after the list's start is cut at points that look
 * like a record's start ('}' ',' '{'); chunk t reads records from its point until the next record would start
 * at or after chunk t + 1's point, or the list closes. The chunks hold when each ends exactly at the next
 * one's point, up to the chunk that closes the list (any after it lie beyond the list: dropped); otherwise
 * the list is read again in one pass, which also decides a list the scanner refuses. */
typedef struct {
    const Doc *d;
    Gt *g[MAX_THREADS];
    Py_ssize_t start[MAX_THREADS + 1], end[MAX_THREADS];
    int closed[MAX_THREADS];
} AnnChunks;

/* Records from i until the list closes (*closed = 1; the index after ']') or the next record starts at or
 * after stop (that record's index); -1 invalid. */
static Py_ssize_t records_until(const Doc *d, Py_ssize_t i, Py_ssize_t stop, Gt *g, int *closed) {
    for (;;) {
        i = annotation(d, i, g);
        if (i < 0) return -1;
        int more = next_item(d, &i);
        if (more < 0) return -1;
        if (!more) { *closed = 1; return i; }
        if (stop && i >= stop) return i;
    }
}

static void scan_ann_chunks(void *ctx, Py_ssize_t t0, Py_ssize_t t1) {
    AnnChunks *c = ctx;
    for (Py_ssize_t t = t0; t < t1; t++)
        c->end[t] = records_until(c->d, c->start[t], c->start[t + 1], c->g[t], &c->closed[t]);
}


static void free_columns(Gt *g) {
    for (int c = 0; c < N_COLUMNS; c++) { free(g->col[c].p); g->col[c].p = NULL; g->col[c].len = g->col[c].cap = 0; }
}

static Py_ssize_t annotations(const Doc *d, Py_ssize_t i, Gt *g) {
    if (g->threads < 2 || i >= d->n || d->b[i] != '[') return records(d, i, g, annotation);
    Py_ssize_t first = ws(d, i + 1);
    if (first >= d->n || d->b[first] == ']') return records(d, i, g, annotation);
    AnnChunks c;
    memset(&c, 0, sizeof c);
    c.d = d;
    int k = 1, threads = g->threads < MAX_THREADS ? g->threads : MAX_THREADS;
    c.start[0] = first;
    for (; k < threads; k++) {
        Py_ssize_t s = record_start(d, c.start[k - 1] + (d->n - first) / threads);
        if (s >= d->n) break;
        c.start[k] = s;
    }
    c.start[k] = 0; /* the last chunk reads to the list's end */
    GtPart *parts = calloc(k, sizeof(GtPart));
    if (!parts) { g->oom = 1; return -1; }
    c.g[0] = g;
    for (int t = 1; t < k; t++) c.g[t] = &parts[t].g;
    int64_t steps[MAX_THREADS + 1];
    for (int t = 0; t <= k; t++) steps[t] = t;
    parallel_rows(scan_ann_chunks, &c, k, steps, k);
    int used = -1;
    for (int t = 0; t < k; t++) {
        if (c.end[t] < 0 || c.g[t]->oom) break;
        if (c.closed[t]) { used = t; break; }
        if (t == k - 1 || c.end[t] != c.start[t + 1]) break;
    }
    for (int t = 1; t < k; t++) if (t > used) free_columns(&parts[t].g);
    if (used < 0) { /* one pass over the list decides */
        free(parts);
        for (int col = ANN_ID; col < N_COLUMNS; col++) g->col[col].len = 0;
        g->oom = 0;
        return records(d, i, g, annotation);
    }
    g->parts = parts;
    g->n_parts = used + 1;
    return c.end[used];
}

/* The whole buffer is UTF-8 as Python's strict decoder takes it (no overlongs, surrogates or > U+10FFFF). */
static int utf8_valid(const uint8_t *s, Py_ssize_t n) {
    Py_ssize_t i = 0;
    while (i < n) {
        if (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (!(w & 0x8080808080808080ULL)) { i += 8; continue; }
        }
        uint8_t c = s[i];
        if (c < 0x80) { i++; continue; }
        int k = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC2 ? 1 : 0;
        if (!k || c > 0xF4 || i + k >= n) return 0;
        uint8_t c1 = s[i + 1];
        if ((c1 & 0xC0) != 0x80) return 0;
        if (k >= 2) {
            if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 > 0x9F) || (c == 0xF0 && c1 < 0x90) || (c == 0xF4 && c1 > 0x8F))
                return 0;
            if ((s[i + 2] & 0xC0) != 0x80) return 0;
            if (k == 3 && (s[i + 3] & 0xC0) != 0x80) return 0;
        }
        i += k + 1;
    }
    return 1;
}

static const char *const TOP_KEYS[] = {"images", "annotations", "categories"};

/* The top-level object: each of the three sections exactly once, everything else skipped. 0 or -1. */
static int scan_gt(const Doc *d, Gt *g) {
    Py_ssize_t i = ws(d, 0);
    if (i >= d->n || d->b[i] != '{') return -1;
    i = ws(d, i + 1);
    int seen = 0;
    for (;;) {
        int code = json_key(d, &i, TOP_KEYS, 3);
        if (code == -2 || (code >= 0 && (seen >> code) & 1)) return -1;
        if (code >= 0) seen |= 1 << code;
        if (code == 0) i = records(d, i, g, image);
        else if (code == 1) i = annotations(d, i, g);
        else if (code == 2) {
            if (i >= d->n || d->b[i] != '[') return -1;
            g->cat_start = i;
            i = g->cat_end = skip_value(d, i);
        } else i = skip_value(d, i);
        if (i < 0) return -1;
        int more = after_member(d, &i, '}');
        if (more < 0) return -1;
        if (!more) break;
    }
    return seen == 7 && ws(d, i) == d->n ? 0 : -1;
}

/* scan_gt(buf[, threads]) -> (img_id, img_w, img_h, ann_id, ann_image_id, ann_category_id, ann_iscrowd, ann_area, ann_box,
 * ann_parts, part_len, coords, ann_span, categories_start, categories_end) as bytes and offsets (int64/float64
 * columns; ann_parts -1 where an annotation has no segmentation, -2 where it is an object; ann_span each
 * annotation's [start, end) in buf, which starts after any byte-order mark), or None when the full parser
 * must read the file. */
PyObject *native_scan_gt(PyObject *self, PyObject *args) {
    Py_buffer b;
    int threads = 1;
    if (!PyArg_ParseTuple(args, "y*|i", &b, &threads)) return NULL;
    Doc d = {b.buf, b.len};
    Gt g;
    memset(&g, 0, sizeof g);
    g.threads = threads;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = utf8_valid(d.b, d.n) ? scan_gt(&d, &g) : -1;
    Py_END_ALLOW_THREADS
    PyObject *out = NULL;
    if (rc == 0) {
        out = PyTuple_New(N_COLUMNS + 2);
        for (int c = 0; out && c < N_COLUMNS; c++) { /* each column: chunk 0's rows (in g), then the others' */
            size_t total = g.col[c].len;
            for (int t = 1; t < g.n_parts; t++) total += g.parts[t].g.col[c].len;
            PyObject *col = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)total);
            if (!col) { Py_CLEAR(out); break; }
            char *dst = PyBytes_AS_STRING(col);
            if (g.col[c].len) memcpy(dst, g.col[c].p, g.col[c].len);
            size_t at = g.col[c].len;
            free(g.col[c].p);
            g.col[c].p = NULL;
            for (int t = 1; t < g.n_parts; t++) {
                Vec *v = &g.parts[t].g.col[c];
                if (v->len) memcpy(dst + at, v->p, v->len);
                at += v->len;
                free(v->p);
                v->p = NULL;
            }
            PyTuple_SET_ITEM(out, c, col);
        }
        if (out) {
            PyTuple_SET_ITEM(out, N_COLUMNS, PyLong_FromSsize_t(g.cat_start));
            PyTuple_SET_ITEM(out, N_COLUMNS + 1, PyLong_FromSsize_t(g.cat_end));
        }
    }
    free_columns(&g);
    for (int t = 1; t < g.n_parts; t++) free_columns(&g.parts[t].g);
    free(g.parts);
    PyBuffer_Release(&b);
    if (rc == 0) return out;
    if (g.oom) return PyErr_NoMemory();
    Py_RETURN_NONE;
}
