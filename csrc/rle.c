/* Packed compressed RLEs in C: area, box and the validator's rule in one streaming pass (`rleArea`,
 * pycocotools 2.0.11 `rleToBbox`, `rle_problems`), and gathering rows. The same arithmetic as
 * cocoseg/masks/_rle_numba.py, the fallback. The mask IoU is in csrc/rle_iou.c. */
#include "native.h"
#include "parallel.h"
#include "rle.h"

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
            /* the high bit of each byte not in '0'..'O' (borrows and carries only reach the bytes after it) */
            uint64_t c = word - ONES * 48, off = (word | (word + ONES * 48) | c) & HIGHS;
#define V(j) ((int64_t)((c >> (8 * (j))) & 0x1F) - (int64_t)(((c >> (8 * (j))) & 0x10) << 1))
            if (off) { /* the one-character values before the first other character, then that one's value */
                int lead = __builtin_ctzll(off) >> 3;
                for (int j = 0; j < lead; j++)
                    if (!walk_run(&k, V(j))) return 0;
                p += lead;
            } else { /* eight characters '0'..'O': eight values -16..15 */
                int ok = 1;
                if (k.m & 1) {
                    ok = walk_fg(&k, V(0)) && walk_bg(&k, V(1)) && walk_fg(&k, V(2)) && walk_bg(&k, V(3)) &&
                         walk_fg(&k, V(4)) && walk_bg(&k, V(5)) && walk_fg(&k, V(6)) && walk_bg(&k, V(7));
                } else {
                    ok = walk_bg(&k, V(0)) && walk_fg(&k, V(1)) && walk_bg(&k, V(2)) && walk_fg(&k, V(3)) &&
                         walk_bg(&k, V(4)) && walk_fg(&k, V(5)) && walk_bg(&k, V(6)) && walk_fg(&k, V(7));
                }
                if (!ok) return 0;
                k.m += 8;
                p += 8;
                continue;
            }
#undef V
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
