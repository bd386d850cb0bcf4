/* Packed compressed RLEs in C: decoding (maskApi `rleFrString`), area, box and the validator's rule in
 * one streaming pass (`rleArea`, pycocotools 2.0.11 `rleToBbox`), gathering rows, and the mask IoU of
 * every evaluation cell (`rleIou`). The same arithmetic as cocoseg/masks/_rle_numba.py, the fallback. */
#include "native.h"
#include "parallel.h"

static int64_t decode_into(const uint8_t *chars, int64_t start, int64_t end, uint32_t *out) {
    int64_t m = 0, p = start;
    while (p < end) {
        int64_t x = 0, c;
        int k = 0;
        do {
            c = ((int64_t)chars[p] - 48) & 0xFF;
            x |= (c & 0x1F) << (5 * k);
            p++;
            k++;
        } while ((c & 0x20) && p < end);
        /* the last group's 0x10 is the sign (not when the string ends inside a value): no branch on it */
        uint64_t sign = (uint64_t)0 - (uint64_t)((c >> 4) & ~(c >> 5) & 1);
        if (k < 13) x |= (int64_t)(sign << (5 * k));
        if (m > 2) x += (int64_t)out[m - 2];
        out[m++] = (uint32_t)(x & 0xFFFFFFFF);
    }
    return m;
}

/* (t / h, t % h) for 0 <= t < 2**32 by one multiplication: the float quotient is off by at most one. */
static inline void divmod_fast(int64_t t, int64_t h, double inv_h, int64_t *q, int64_t *r) {
    int64_t a = (int64_t)((double)t * inv_h), b = t - a * h;
    if (b < 0) { a--; b += h; } else if (b >= h) { a++; b -= h; }
    *q = a;
    *r = b;
}

typedef struct { int64_t xs, ys, xe, ye; } Extent;

/* `rleToBbox`'s step: the extent grown by the foreground run of pixels [start, cc) (h > 0). */
static inline void grow_box(Extent *e, int64_t start, int64_t cc, int64_t h, double inv_h) {
    int64_t x_start, y_start, x_end, y_end;
    divmod_fast(start, h, inv_h, &x_start, &y_start);
    divmod_fast((cc - 1) & 0xFFFFFFFF, h, inv_h, &x_end, &y_end);
    e->xs = x_start < e->xs ? x_start : e->xs;
    e->xe = x_end > e->xe ? x_end : e->xe;
    if (x_start < x_end) { e->ys = 0; e->ye = h - 1; }
    else { e->ys = y_start < e->ys ? y_start : e->ys; e->ye = y_end > e->ye ? y_end : e->ye; }
}

static void box_of_extent(const Extent *e, double *box) {
    box[0] = (double)e->xs; box[1] = (double)e->ys;
    box[2] = (double)((e->xe - e->xs + 1) & 0xFFFFFFFF); box[3] = (double)((e->ye - e->ys + 1) & 0xFFFFFFFF);
}

static void box_of_counts(const uint32_t *cnts, int64_t m, int64_t h, int64_t w, double *box) {
    m = (m / 2) * 2;
    if (m == 0 || h == 0) { box[0] = box[1] = box[2] = box[3] = 0.0; return; }
    Extent e = {w, h, 0, 0};
    double inv_h = 1.0 / (double)h;
    int64_t cc = 0;
    for (int64_t j = 0; j < m; j++) {
        int64_t start = cc, run = cnts[j];
        cc = (cc + run) & 0xFFFFFFFF;
        if (j % 2 == 1 && run != 0) grow_box(&e, start, cc, h, inv_h);
    }
    box_of_extent(&e, box);
}

#define MAX_SIDE 2147483647LL /* cocoseg.io.validate_records.MAX_SIDE: pycocotools' sides are 32-bit */

/* One pass over the counts string s[0:len] of an h x w RLE, decoding as maskApi `rleFrString` does
 * without storing the runs: *area (`rleArea`), box (`rleToBbox` of pycocotools 2.0.11), and the return
 * value 1 when the string keeps the validator's rule (`rle_problems`, exact arithmetic: characters
 * '0'..'o', no value cut off or over 12 groups, runs >= 0 summing to h*w, sides in 0..MAX_SIDE), else 0. */
static int rle_measure(const uint8_t *s, int64_t len, int64_t h, int64_t w, double *area, double *box) {
    const int64_t mask = 0xFFFFFFFF;
    int ok = h >= 0 && w >= 0 && h <= MAX_SIDE && w <= MAX_SIDE;
    int64_t hw = ok ? h * w : 0, total = 0, exact1 = 0, exact2 = 0, m = 0, p = 0, cc = 0;
    Extent e = {w, h, 0, 0};
    uint32_t prev1 = 0, prev2 = 0, a = 0;
    double inv_h = h > 0 ? 1.0 / (double)h : 0.0;
    while (p < len) {
        int64_t x = 0;
        int k = 0, more = 1;
        while (more && p < len) {
            int64_t c = ((int64_t)s[p] - 48) & 0xFF;
            if (s[p] < 48 || s[p] > 111) ok = 0;
            if (k < 12) x |= (c & 0x1F) << (5 * k);
            more = (c & 0x20) != 0;
            p++;
            k++;
            if (!more && (c & 0x10) && k < 13) x |= (int64_t)((uint64_t)-1 << (5 * k));
        }
        if (more || k > 12) ok = 0;
        int64_t exact = x + (m > 2 ? exact2 : 0);
        uint32_t run = (uint32_t)((x + (m > 2 ? (int64_t)prev2 : 0)) & mask);
        if (ok) {
            if (exact < 0 || exact > hw || (total += exact) > hw) ok = 0;
        }
        exact2 = exact1;
        exact1 = exact;
        prev2 = prev1;
        prev1 = run;
        int64_t start = cc;
        cc = (cc + run) & mask;
        if ((m & 1) && run != 0 && h != 0) grow_box(&e, start, cc, h, inv_h);
        if (m & 1) a += run;
        m++;
    }
    *area = (double)a;
    if (m < 2 || h == 0) box[0] = box[1] = box[2] = box[3] = 0.0;
    else box_of_extent(&e, box);
    return ok && total == hw;
}

/* The state of `rle_measure_fast` after m runs: the boundary of the runs read so far is pixel
 * col * h + row (0 <= row < h), so a run needs a division only when it ends beyond the next column;
 * bg and fg are the last background and foreground runs (a delta value adds the run of its kind
 * before it, maskApi `rleFrString`'s m > 2 rule). */
typedef struct {
    int64_t m, bg, fg, area, col, row, h, w;
    Extent e;
} Walk;

/* The boundary moved over v >= 0 pixels; 0 when it passes the last pixel's column (more than h * w). */
static inline int advance(Walk *k, int64_t v) {
    k->row += v;
    if (k->row >= k->h) {
        k->row -= k->h;
        k->col++;
        if (k->row >= k->h) { k->col += k->row / k->h; k->row %= k->h; }
        if (k->col > k->w) return 0;
    }
    return 1;
}

/* A background run of delta value x (m > 2). */
static inline int walk_bg(Walk *k, int64_t x) {
    int64_t v = x + k->bg;
    k->bg = v;
    if ((uint64_t)v > (uint64_t)k->h * (uint64_t)k->w) return 0;
    return advance(k, v);
}

/* A foreground run of delta value x (m > 2): pixels [col * h + row, + v) grow the extent (`rleToBbox`). */
static inline int walk_fg(Walk *k, int64_t x) {
    int64_t v = x + k->fg;
    k->fg = v;
    if ((uint64_t)v > (uint64_t)k->h * (uint64_t)k->w) return 0;
    if (v) {
        int64_t last = k->row + v - 1, col_end = k->col;
        if (last < k->h) {
            k->e.ys = k->row < k->e.ys ? k->row : k->e.ys;
            k->e.ye = last > k->e.ye ? last : k->e.ye;
        } else {
            col_end += last / k->h;
            k->e.ys = 0;
            k->e.ye = k->h - 1;
        }
        k->e.xs = k->col < k->e.xs ? k->col : k->e.xs;
        k->e.xe = col_end > k->e.xe ? col_end : k->e.xe;
        k->area += v;
    }
    return advance(k, v);
}

/* Run m of delta value x, of either kind. */
static inline int walk_run(Walk *k, int64_t x) {
    int ok;
    if (k->m & 1) ok = walk_fg(k, k->m > 2 ? x : x - k->fg);
    else ok = walk_bg(k, k->m > 2 ? x : x - k->bg);
    k->m++;
    return ok;
}

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* The common case of `rle_measure` at a fraction of its cost: a string that keeps the rule with
 * h * w < 2**32 (then maskApi's uint arithmetic never wraps and equals exact arithmetic). Eight
 * characters below 'P' (no continuation bit) are eight values, decoded without waiting on each other
 * and walked as four background and foreground pairs. 0 (nothing stored) on anything else:
 * `rle_measure` then decides, with pycocotools' arithmetic. */
static int rle_measure_fast(const uint8_t *s, int64_t len, int64_t h, int64_t w, double *area, double *box) {
    if (h <= 0 || w <= 0 || h > MAX_SIDE || w > MAX_SIDE || h * w >= (1LL << 32)) return 0;
    Walk k = {0, 0, 0, 0, 0, 0, h, w, {w, h, 0, 0}};
    int64_t p = 0;
    while (p < len) {
        uint64_t word;
        if (k.m > 2 && p + 8 <= len) {
            memcpy(&word, s + p, 8);
            if (((word | (word + ONES * 48)) & HIGHS) == 0 && ((word - ONES * 48) & HIGHS) == 0) {
                /* eight characters '0'..'O': eight values -16..15 */
                uint64_t c = word - ONES * 48;
                int ok = 1;
#define V(j) ((int64_t)((c >> (8 * (j))) & 0x1F) - (int64_t)(((c >> (8 * (j))) & 0x10) << 1))
                if (k.m & 1) {
                    ok = walk_fg(&k, V(0)) && walk_bg(&k, V(1)) && walk_fg(&k, V(2)) && walk_bg(&k, V(3)) &&
                         walk_fg(&k, V(4)) && walk_bg(&k, V(5)) && walk_fg(&k, V(6)) && walk_bg(&k, V(7));
                } else {
                    ok = walk_bg(&k, V(0)) && walk_fg(&k, V(1)) && walk_bg(&k, V(2)) && walk_fg(&k, V(3)) &&
                         walk_bg(&k, V(4)) && walk_fg(&k, V(5)) && walk_bg(&k, V(6)) && walk_fg(&k, V(7));
                }
#undef V
                if (!ok) return 0;
                k.m += 8;
                p += 8;
                continue;
            }
        }
        int n = 0, more = 1;
        int64_t v = 0;
        uint32_t c = 0;
        while (more) {
            if (p >= len || n >= 12) return 0;
            c = (uint32_t)s[p++] - 48u;
            if (c > 63) return 0;
            v |= (int64_t)(c & 0x1F) << (5 * n);
            more = (c & 0x20) != 0;
            n++;
        }
        if (c & 0x10) v |= (int64_t)((uint64_t)-1 << (5 * n));
        if (!walk_run(&k, v)) return 0;
    }
    if (k.col * h + k.row != h * w) return 0;
    *area = (double)k.area;
    if (k.m < 2) box[0] = box[1] = box[2] = box[3] = 0.0;
    else box_of_extent(&k.e, box);
    return 1;
}

typedef struct {
    const uint8_t *chars;
    const int64_t *off, *sizes;
    double *areas, *boxes;
    uint8_t *valid;
} Stats;

static void stats_rows(void *ctx, Py_ssize_t r0, Py_ssize_t r1) {
    Stats *st = ctx;
    for (Py_ssize_t i = r0; i < r1; i++)
        st->valid[i] = (uint8_t)(rle_measure_fast(st->chars + st->off[i], st->off[i + 1] - st->off[i], st->sizes[2 * i],
                                                  st->sizes[2 * i + 1], st->areas + i, st->boxes + 4 * i) ||
                                 rle_measure(st->chars + st->off[i], st->off[i + 1] - st->off[i], st->sizes[2 * i],
                                            st->sizes[2 * i + 1], st->areas + i, st->boxes + 4 * i));
}

/* rle_stats(chars, offsets, sizes, areas, boxes, valid, threads): `rle_measure` of every packed RLE */
PyObject *native_rle_stats(PyObject *self, PyObject *args) {
    Py_buffer b[6];
    int threads;
    if (!PyArg_ParseTuple(args, "y*y*y*w*w*w*i", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &threads)) return NULL;
    Stats st = {b[0].buf, b[1].buf, b[2].buf, b[3].buf, b[4].buf, b[5].buf};
    Py_ssize_t n = b[5].len;
    Py_BEGIN_ALLOW_THREADS
    parallel_rows(stats_rows, &st, n, st.off, threads);
    Py_END_ALLOW_THREADS
    RELEASE(b, 6);
    Py_RETURN_NONE;
}

/* gather(chars, offsets, rows, out_offsets, out_chars): out_offsets filled by the caller */
PyObject *native_gather(PyObject *self, PyObject *args) {
    Py_buffer b[5];
    if (!PyArg_ParseTuple(args, "y*y*y*y*w*", &b[0], &b[1], &b[2], &b[3], &b[4])) return NULL;
    const uint8_t *chars = b[0].buf;
    const int64_t *off = b[1].buf, *rows = b[2].buf, *out_off = b[3].buf;
    uint8_t *out = b[4].buf;
    Py_ssize_t n = b[2].len / sizeof(int64_t);
    for (Py_ssize_t i = 0; i < n; i++) memcpy(out + out_off[i], chars + off[rows[i]], off[rows[i] + 1] - off[rows[i]]);
    RELEASE(b, 5);
    Py_RETURN_NONE;
}

typedef struct {
    uint32_t *cnts;
    int64_t *start, *len, *area;
    double *box;
} Decoded;

static void decode_rows(const uint8_t *chars, const int64_t *start, const int64_t *end, const int64_t *sizes,
                        int64_t r0, int64_t r1, Decoded *out) {
    int64_t pos = 0;
    for (int64_t r = r0; r < r1; r++) {
        int64_t j = r - r0, m = decode_into(chars, start[r], end[r], out->cnts + pos), a = 0;
        out->start[j] = pos;
        out->len[j] = m;
        box_of_counts(out->cnts + pos, m, sizes[2 * r], sizes[2 * r + 1], out->box + 4 * j);
        for (int64_t k = 1; k < m; k += 2) a += out->cnts[pos + k];
        out->area[j] = a & 0xFFFFFFFF;
        pos += m;
    }
}

/* `rleIou` of two masks of one size from their runs and (uint32) areas: the pixels in both, counted over
 * the foreground intervals only (each step passes one interval of either mask), and the union as
 * area_a + area_b - inter, mod 2**32 as maskApi's uint sums are. The same numbers as maskApi's merge
 * wherever it ends (its runs must cover the same pixels: on others it loops forever). */
static double pair_iou(const uint32_t *a, int64_t ka, const uint32_t *b, int64_t kb, int crowd, int64_t area_a,
                       int64_t area_b) {
    int64_t ia = 1, ib = 1, sa = a[0], sb = b[0], inter = 0;
    while (ia < ka && ib < kb) {
        int64_t ea = sa + a[ia], eb = sb + b[ib];
        int64_t lo = sa > sb ? sa : sb, hi = ea < eb ? ea : eb;
        if (hi > lo) inter += hi - lo;
        if (ea <= eb) { sa = ea + (ia + 1 < ka ? a[ia + 1] : 0); ia += 2; }
        else { sb = eb + (ib + 1 < kb ? b[ib + 1] : 0); ib += 2; }
    }
    int64_t uni = (area_a + area_b - inter) & 0xFFFFFFFF;
    inter &= 0xFFFFFFFF;
    if (inter == 0) uni = 1;
    else if (crowd) uni = area_a;
    return (double)inter / (double)uni;
}

static int alloc_decoded(Decoded *d, int64_t chars, int64_t rows) {
    d->cnts = malloc(sizeof(uint32_t) * (chars + 1));
    d->start = malloc(sizeof(int64_t) * (rows + 1));
    d->len = malloc(sizeof(int64_t) * (rows + 1));
    d->area = malloc(sizeof(int64_t) * (rows + 1));
    d->box = malloc(sizeof(double) * 4 * (rows + 1));
    return d->cnts && d->start && d->len && d->area && d->box;
}

static void free_decoded(Decoded *d) {
    free(d->cnts); free(d->start); free(d->len); free(d->area); free(d->box);
}

/* The row of detection r of the cells: rows[r], or r itself when rows is empty. */
static inline int64_t dt_row(const int64_t *rows, Py_ssize_t n_rows, int64_t r) { return n_rows ? rows[r] : r; }

typedef struct {
    const uint8_t *chars;
    const int64_t *off, *size, *rows;
    const double *box;
    Py_ssize_t n_rows;
} DtMasks;

/* One detection's IoU with each GT of its cell (decoded in gd): out[g] for g < ng, left at 0 where the
 * boxes do not overlap (then the detection is not decoded at all), -1 where the sizes differ. */
static void dt_ious(const DtMasks *dt, int64_t r, const Decoded *gd, const int64_t *gsz, const uint8_t *crowd,
                    int64_t ng, uint32_t *cnts, double *out) {
    int64_t row = dt_row(dt->rows, dt->n_rows, r), m = -1, area = 0;
    const double *bd = dt->box + 4 * row;
    const int64_t *dsz = dt->size + 2 * row;
    for (int64_t g = 0; g < ng; g++) {
        const double *bg = gd->box + 4 * g;
        double w = fmin(bd[2] + bd[0], bg[2] + bg[0]) - fmax(bd[0], bg[0]);
        double h = fmin(bd[3] + bd[1], bg[3] + bg[1]) - fmax(bd[1], bg[1]);
        if (w <= 0 || h <= 0) continue; /* bbIou gives 0: rleIou skips the pair */
        if (dsz[0] != gsz[2 * g] || dsz[1] != gsz[2 * g + 1]) { out[g] = -1.0; continue; }
        if (m < 0) { /* the first pair that needs the detection's runs */
            m = decode_into(dt->chars, dt->off[row], dt->off[row + 1], cnts);
            for (int64_t k = 1; k < m; k += 2) area += cnts[k];
            area &= 0xFFFFFFFF;
        }
        out[g] = pair_iou(cnts, m, gd->cnts + gd->start[g], gd->len[g], crowd[g], area, gd->area[g]);
    }
}

/* segm_iou_cells(dt_chars, dt_offsets, dt_sizes, dt_boxes, dt_rows, gt_chars, gt_offsets, gt_sizes, gt_crowd,
   cell_dt, cell_gt, offsets, out, c0, c1): detection r of the cells is row dt_rows[r] of the packed detections
   (r itself when dt_rows is empty), so their counts are read where they are, in any order; dt_boxes are
   their `rleToBbox` boxes (`rle_stats`), so a detection overlapping no GT box is never decoded. The GT
   rows are the cells' own, decoded once per cell. */
PyObject *native_segm_iou_cells(PyObject *self, PyObject *args) {
    Py_buffer b[13];
    Py_ssize_t c0, c1;
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*y*y*y*y*y*y*y*w*nn", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &b[6],
                          &b[7], &b[8], &b[9], &b[10], &b[11], &b[12], &c0, &c1))
        return NULL;
    DtMasks dt = {b[0].buf, b[1].buf, b[2].buf, b[4].buf, b[3].buf, b[4].len / (Py_ssize_t)sizeof(int64_t)};
    const uint8_t *gch = b[5].buf, *crowd = b[8].buf;
    const int64_t *goff = b[6].buf, *gsz = b[7].buf;
    const int64_t *cdt = b[9].buf, *cgt = b[10].buf, *off = b[11].buf;
    double *out = b[12].buf;
    int64_t longest_d = 0, chars_g = 0, most_g = 0;
    for (Py_ssize_t c = c0; c < c1; c++) {
        int64_t g0 = cgt[2 * c], g1 = cgt[2 * c + 1], x;
        if (g1 == g0) continue;
        for (int64_t r = cdt[2 * c]; r < cdt[2 * c + 1]; r++) {
            int64_t row = dt_row(dt.rows, dt.n_rows, r);
            x = dt.off[row + 1] - dt.off[row];
            longest_d = x > longest_d ? x : longest_d;
        }
        x = goff[g1] - goff[g0]; chars_g = x > chars_g ? x : chars_g;
        x = g1 - g0; most_g = x > most_g ? x : most_g;
    }
    Decoded gd;
    uint32_t *cnts = malloc(sizeof(uint32_t) * (longest_d + 1));
    if (!alloc_decoded(&gd, chars_g, most_g) || !cnts) {
        free_decoded(&gd); free(cnts); RELEASE(b, 13); return PyErr_NoMemory();
    }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t c = c0; c < c1; c++) {
        int64_t d0 = cdt[2 * c], d1 = cdt[2 * c + 1], g0 = cgt[2 * c], g1 = cgt[2 * c + 1], ng = g1 - g0;
        if (d1 == d0 || ng == 0) continue;
        decode_rows(gch, goff, goff + 1, gsz, g0, g1, &gd);
        for (int64_t r = d0; r < d1; r++)
            dt_ious(&dt, r, &gd, gsz + 2 * g0, crowd + g0, ng, cnts, out + off[c] + (r - d0) * ng);
    }
    Py_END_ALLOW_THREADS
    free_decoded(&gd);
    free(cnts);
    RELEASE(b, 13);
    Py_RETURN_NONE;
}
