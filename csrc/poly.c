/* Polygon GT masks in C: COCO.annToRLE of polygon segmentations, bit-identical to pycocotools'
 * frPyObjects (maskApi `rleFrPoly`), `merge` (`rleMerge`, union) and the compressed string
 * (`rleToString`). Written from the published algorithm: the boundary is walked on a 5x grid,
 * its crossings of pixel-centre columns become run boundaries in column-major order. Every cast
 * and rounding step follows the reference (int truncation, the .5 offsets, floor/ceil tests). */
#include "native.h"

#define GRID 5.0

typedef struct {
    uint32_t *v;
    int64_t n, cap;
} Runs;

static int runs_reserve(Runs *r, int64_t cap) {
    if (cap <= r->cap) return 0;
    uint32_t *v = realloc(r->v, sizeof(uint32_t) * (size_t)cap);
    if (!v) return -1;
    r->v = v;
    r->cap = cap;
    return 0;
}

/* Ascending sort of v[0:n] (tmp: room for n): insertion sort when short, else LSD radix by bytes. */
static void sort_u32(uint32_t *v, int64_t n, uint32_t *tmp) {
    if (n < 48) {
        for (int64_t i = 1; i < n; i++) {
            uint32_t x = v[i];
            int64_t j = i;
            while (j > 0 && v[j - 1] > x) { v[j] = v[j - 1]; j--; }
            v[j] = x;
        }
        return;
    }
    uint32_t *src = v, *dst = tmp;
    for (int shift = 0; shift < 32; shift += 8) {
        int64_t count[257] = {0};
        for (int64_t i = 0; i < n; i++) count[((src[i] >> shift) & 0xFF) + 1]++;
        if (count[((src[0] >> shift) & 0xFF) + 1] == n) continue;  /* one byte value: nothing to move */
        for (int b = 0; b < 256; b++) count[b + 1] += count[b];
        for (int64_t i = 0; i < n; i++) dst[count[(src[i] >> shift) & 0xFF]++] = src[i];
        uint32_t *t = src; src = dst; dst = t;
    }
    if (src != v) memcpy(v, src, sizeof(uint32_t) * (size_t)n);
}

/* The run boundary (column-major pixel index) where the boundary step (x0, y0) -> (x1, y1) on the 5x grid
 * crosses a pixel-centre column, appended to pos; steps within one grid column or off the image add nothing. */
static inline int visit(int x0, int y0, int x1, int y1, int64_t h, int64_t w, Runs *pos) {
    if (x1 == x0) return 0;
    int gx = x1 < x0 ? x1 : x1 - 1;
    /* xd below is an integer exactly when gx - 2 is a multiple of 5: skip the others before the float test */
    if ((((int64_t)gx - 2) % 5 + 5) % 5 != 0) return 0;
    double xd = ((double)gx + .5) / GRID - .5;
    if (floor(xd) != xd || xd < 0 || xd > (double)((uint64_t)w - 1)) return 0;  /* unsigned, as the reference */
    double yd = (double)(y1 < y0 ? y1 : y0);
    yd = (yd + .5) / GRID - .5;
    if (yd < 0) yd = 0;
    else if (yd > (double)h) yd = (double)h;
    yd = ceil(yd);
    if (pos->n == pos->cap && runs_reserve(pos, pos->cap * 2 + 64) < 0) return -1;
    pos->v[pos->n++] = (uint32_t)((int)xd * (int)h + (int)yd);
    return 0;
}

static inline int minor_at(int x0, double slope, int t) { return (int)(x0 + slope * t + .5); }

/* The crossings of a y-major edge (dy steps, x = minor_at(t) monotone, moving at most one per step):
 * column gx is crossed once, at the first t where x has passed it, found by bisection on the
 * reference's own formula; only columns gx = 2 (mod 5) can pass visit's test. */
static int y_major_crossings(int x0, int y0, int dy, double slope, int64_t h, int64_t w, Runs *pos) {
    int ua = minor_at(x0, slope, 0), ub = minor_at(x0, slope, dy);
    int lo = ua < ub ? ua : ub, hi = ua < ub ? ub : ua, rising = ub > ua;
    if (lo < 2) lo = 2;
    for (int gx = lo + (int)((((int64_t)2 - lo) % 5 + 5) % 5); gx < hi; gx += 5) {
        int a = 0, b = dy;  /* the predicate is false at a, true at b */
        while (b - a > 1) {
            int m = a + (b - a) / 2, u = minor_at(x0, slope, m);
            if (rising ? u >= gx + 1 : u <= gx) b = m;
            else a = m;
        }
        if (visit(minor_at(x0, slope, b - 1), b - 1 + y0, minor_at(x0, slope, b), b + y0, h, w, pos) < 0) return -1;
    }
    return 0;
}

/* The boundary crossings of the closed polygon (k vertices): each edge walked on the 5x grid as the
 * reference walks it (points t = 0..steps from its lower end), each point compared with the one before.
 * Two edges meet in the same point (the major coordinate is exact, the minor one rounds to the vertex),
 * except where a coordinate is negative and truncation differs: such a pair lies left of the image
 * (x < 2 on the grid), so only pairs within an edge can cross a pixel column. */
static int boundary_crossings(const double *xy, int64_t k, int64_t h, int64_t w, Runs *pos) {
    pos->n = 0;
    for (int64_t j = 0; j < k; j++) {
        int64_t e = j + 1 < k ? j + 1 : 0;
        int x0 = (int)(GRID * xy[2 * j] + .5), y0 = (int)(GRID * xy[2 * j + 1] + .5);
        int x1 = (int)(GRID * xy[2 * e] + .5), y1 = (int)(GRID * xy[2 * e + 1] + .5);
        int dx = abs(x1 - x0), dy = abs(y1 - y0);
        int along_x = dx >= dy;
        int back = along_x ? x0 > x1 : y0 > y1;
        if (back) { int t = x0; x0 = x1; x1 = t; t = y0; y0 = y1; y1 = t; }
        if (along_x) {
            if (dx == 0) continue;  /* one point: nothing to cross */
            double slope = (double)(y1 - y0) / dx;
            /* consecutive points differ by one in x; only columns gx = 2 (mod 5) can pass visit's test */
            int first = x0 + (int)((((int64_t)2 - x0) % 5 + 5) % 5);
            for (int gx = first; gx < x1; gx += 5) {
                int t = gx - x0;
                int ya = (int)(y0 + slope * t + .5), yb = (int)(y0 + slope * (t + 1) + .5);
                if (visit(gx, ya, gx + 1, yb, h, w, pos) < 0) return -1;
            }
            continue;
        }
        double slope = (double)(x1 - x0) / dy;
        if (y_major_crossings(x0, y0, dy, slope, h, w, pos) < 0) return -1;
    }
    return 0;
}

/* rleFrPoly: the uncompressed counts of one polygon part into r (r->n set); pos is scratch. */
static int polygon_runs(const double *xy, int64_t k, int64_t h, int64_t w, Runs *r, Runs *pos) {
    if (boundary_crossings(xy, k, h, w, pos) < 0 || runs_reserve(pos, pos->n + 1) < 0) return -1;
    uint32_t *v = pos->v;
    int64_t n = pos->n;
    v[n++] = (uint32_t)(h * w);
    if (runs_reserve(r, n) < 0) return -1;
    sort_u32(v, n, r->v);
    uint32_t prev = 0;
    for (int64_t j = 0; j < n; j++) { uint32_t t = v[j]; v[j] -= prev; prev = t; }
    if (runs_reserve(r, n) < 0) return -1;
    /* a zero gap is two boundaries at one place: they cancel, so the next run joins the previous one */
    int64_t j = 0, out = 0;
    r->v[out++] = v[j++];
    while (j < n) {
        if (v[j] > 0) { r->v[out++] = v[j++]; continue; }
        j++;
        if (j < n) r->v[out - 1] += v[j++];
    }
    r->n = out;
    return 0;
}

/* rleMerge of two masks, union: the runs of a | b into out (room for a->n + b->n). */
static void union_runs(const Runs *a, const Runs *b, Runs *out) {
    uint32_t ca = a->v[0], cb = b->v[0], cc = 0, ct = 1;
    int va = 0, vb = 0, v = 0;
    int64_t ia = 1, ib = 1, m = 0;
    while (ct > 0) {
        uint32_t c = ca < cb ? ca : cb;
        cc += c;
        ct = 0;
        ca -= c;
        if (!ca && ia < a->n) { ca = a->v[ia++]; va = !va; }
        ct += ca;
        cb -= c;
        if (!cb && ib < b->n) { cb = b->v[ib++]; vb = !vb; }
        ct += cb;
        int was = v;
        v = va || vb;
        if (v != was || ct == 0) { out->v[m++] = cc; cc = 0; }
    }
    out->n = m;
}

/* rleToString of r appended to the byte buffer s (grown as needed); -1 when out of memory. */
static int append_string(const Runs *r, uint8_t **s, int64_t *len, int64_t *cap) {
    if (*len + 7 * r->n > *cap) {
        int64_t want = (*cap * 2 > *len + 7 * r->n) ? *cap * 2 : *len + 7 * r->n + 1024;
        uint8_t *g = realloc(*s, (size_t)want);
        if (!g) return -1;
        *s = g;
        *cap = want;
    }
    for (int64_t i = 0; i < r->n; i++) {
        long long x = (long long)r->v[i];
        if (i > 2) x -= (long long)r->v[i - 2];
        int more = 1;
        while (more) {
            int c = (int)(x & 0x1f);
            x >>= 5;
            more = (c & 0x10) ? x != -1 : x != 0;
            if (more) c |= 0x20;
            (*s)[(*len)++] = (uint8_t)(c + 48);
        }
    }
    return 0;
}

/* Annotations [a0, a1): annotation i has parts ann_parts[i]..ann_parts[i+1], part p the coordinates
 * coords[part_starts[p]:part_starts[p+1]] (k = n / 2 vertices, as frPyObjects reads them). */
static int annotations_to_strings(const double *coords, const int64_t *part_starts, const int64_t *ann_parts,
                                  const int64_t *sizes, Py_ssize_t a0, Py_ssize_t a1, uint8_t **s, int64_t *len,
                                  int64_t *offsets) {
    Runs part = {0}, acc = {0}, tmp = {0}, pos = {0};
    int64_t cap = 0;
    int rc = 0;
    *s = NULL;
    *len = 0;
    offsets[0] = 0;
    for (Py_ssize_t i = a0; i < a1 && rc == 0; i++) {
        int64_t h = sizes[2 * i], w = sizes[2 * i + 1];
        for (int64_t p = ann_parts[i]; p < ann_parts[i + 1] && rc == 0; p++) {
            int64_t k = (part_starts[p + 1] - part_starts[p]) / 2;
            Runs *dst = p == ann_parts[i] ? &acc : &part;
            if (polygon_runs(coords + part_starts[p], k, h, w, dst, &pos) < 0) { rc = -1; break; }
            if (dst == &acc) continue;
            if (runs_reserve(&tmp, acc.n + part.n) < 0) { rc = -1; break; }
            union_runs(&acc, &part, &tmp);
            Runs swap = acc;
            acc = tmp;
            tmp = swap;
        }
        if (rc == 0 && ann_parts[i + 1] == ann_parts[i]) {  /* no parts: an empty mask */
            if (runs_reserve(&acc, 1) < 0) rc = -1;
            else { acc.v[0] = (uint32_t)(h * w); acc.n = 1; }
        }
        if (rc == 0 && append_string(&acc, s, len, &cap) < 0) rc = -1;
        offsets[i - a0 + 1] = *len;
    }
    free(part.v);
    free(acc.v);
    free(tmp.v);
    free(pos.v);
    return rc;
}

PyObject *native_polygons_to_rles(PyObject *self, PyObject *args) {
    Py_buffer b[4];
    Py_ssize_t a0, a1;
    if (!PyArg_ParseTuple(args, "y*y*y*y*nn", &b[0], &b[1], &b[2], &b[3], &a0, &a1)) return NULL;
    int64_t *offsets = malloc(sizeof(int64_t) * (size_t)(a1 - a0 + 1));
    uint8_t *s = NULL;
    int64_t len = 0;
    int rc = -1;
    if (offsets) {
        Py_BEGIN_ALLOW_THREADS
        rc = annotations_to_strings(b[0].buf, b[1].buf, b[2].buf, b[3].buf, a0, a1, &s, &len, offsets);
        Py_END_ALLOW_THREADS
    }
    RELEASE(b, 4);
    if (rc < 0) {
        free(s);
        free(offsets);
        return PyErr_NoMemory();
    }
    PyObject *out = Py_BuildValue("(y#y#)", s ? (const char *)s : "", (Py_ssize_t)len, (const char *)offsets,
                                  (Py_ssize_t)(sizeof(int64_t) * (size_t)(a1 - a0 + 1)));
    free(s);
    free(offsets);
    return out;
}

/* A polygon segmentation as frPyObjects tells it (a list whose first part is a list of > 4 items), or not. */
static int is_polygon(PyObject *s) {
    if (!PyList_CheckExact(s) || PyList_GET_SIZE(s) == 0) return 0;
    PyObject *first = PyList_GET_ITEM(s, 0);
    return PyList_CheckExact(first) && PyList_GET_SIZE(first) > 4;
}

/* The value of a JSON number object (float or int, never bool) into *v; 0 when it is something else. */
static int number_value(PyObject *o, double *v) {
    if (PyFloat_CheckExact(o)) { *v = PyFloat_AS_DOUBLE(o); return 1; }
    if (!PyLong_CheckExact(o)) return 0;
    *v = PyLong_AsDouble(o);
    if (*v == -1.0 && PyErr_Occurred()) { PyErr_Clear(); return 0; }
    return 1;
}

/* polygon_columns(segmentations): (is_polygon uint8 per row, coords float64, numbers per part int64,
 * parts per polygon row int64) as bytes, or None when a polygon part holds anything but lists of numbers. */
PyObject *native_polygon_columns(PyObject *self, PyObject *args) {
    PyObject *segms;
    if (!PyArg_ParseTuple(args, "O!", &PyList_Type, &segms)) return NULL;
    Py_ssize_t n = PyList_GET_SIZE(segms), n_poly = 0, n_parts = 0, n_coords = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *s = PyList_GET_ITEM(segms, i);
        if (!is_polygon(s)) continue;
        n_poly++;
        for (Py_ssize_t p = 0; p < PyList_GET_SIZE(s); p++) {
            PyObject *part = PyList_GET_ITEM(s, p);
            if (!PyList_CheckExact(part)) Py_RETURN_NONE;
            n_parts++;
            n_coords += PyList_GET_SIZE(part);
        }
    }
    PyObject *kind = PyBytes_FromStringAndSize(NULL, n), *coords = PyBytes_FromStringAndSize(NULL, 8 * n_coords);
    PyObject *lens = PyBytes_FromStringAndSize(NULL, 8 * n_parts), *parts = PyBytes_FromStringAndSize(NULL, 8 * n_poly);
    if (!kind || !coords || !lens || !parts) goto fail;
    uint8_t *k = (uint8_t *)PyBytes_AS_STRING(kind);
    double *c = (double *)PyBytes_AS_STRING(coords);
    int64_t *l = (int64_t *)PyBytes_AS_STRING(lens), *np_ = (int64_t *)PyBytes_AS_STRING(parts);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *s = PyList_GET_ITEM(segms, i);
        k[i] = (uint8_t)is_polygon(s);
        if (!k[i]) continue;
        *np_++ = PyList_GET_SIZE(s);
        for (Py_ssize_t p = 0; p < PyList_GET_SIZE(s); p++) {
            PyObject *part = PyList_GET_ITEM(s, p);
            Py_ssize_t m = PyList_GET_SIZE(part);
            *l++ = m;
            for (Py_ssize_t j = 0; j < m; j++)
                if (!number_value(PyList_GET_ITEM(part, j), c++)) {
                    Py_DECREF(kind); Py_DECREF(coords); Py_DECREF(lens); Py_DECREF(parts);
                    Py_RETURN_NONE;
                }
        }
    }
    return Py_BuildValue("(NNNN)", kind, coords, lens, parts);
fail:
    Py_XDECREF(kind); Py_XDECREF(coords); Py_XDECREF(lens); Py_XDECREF(parts);
    return NULL;
}
