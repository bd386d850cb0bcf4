/* The mask IoU of every evaluation cell on packed RLEs (maskApi `rleIou`): decoding (`rleFrString`),
 * the box prefilter (`bbIou`) and the pixels in both masks. The same numbers as
 * cocoseg/eval/_rle_kernels.py, the fallback. */
#include "native.h"
#include "rle.h"

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
