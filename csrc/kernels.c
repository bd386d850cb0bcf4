/* Evaluation loops of cocoseg (box IoU per cell, greedy matching), in C (accumulation: accumulate.c).
 *
 * The same loops as cocoseg/eval/_kernels_numba.py (the fallback when this extension is absent),
 * in pycocotools' operation order, so the numbers are bit-identical. Outputs are allocated by
 * the caller; every entry point takes a range of cells (or categories) so that the caller can
 * split the work across threads: the GIL is released while a range runs.
 */
#include "native.h"
#include "codes.h"

static const double IOU_CAP = 1.0 - 1e-10; /* pycocotools: iou = min([t, 1 - 1e-10]) */

/* The box IoU matrix (nd, ng) row-major of one cell (maskApi.c `bbIou`); out zeroed by the caller. Detection
 * row d's box is dt[rows[d]] (dt[d] when rows is NULL): the results' boxes are read where they are. */
static void box_cell(const double *dt, const int64_t *rows, const double *gtb, const uint8_t *crowd, int64_t d0,
                     int64_t d1, int64_t g0, int64_t g1, double *out) {
    int64_t ng = g1 - g0;
    for (int64_t g = 0; g < ng; g++) {
        const double *gb = gtb + 4 * (g0 + g);
        double gx = gb[0], gy = gb[1], gw = gb[2], gh = gb[3], ga = gw * gh;
        int cr = crowd[g0 + g];
        for (int64_t d = 0; d < d1 - d0; d++) {
            const double *db = dt + 4 * (rows ? rows[d0 + d] : d0 + d);
            double dx = db[0], dy = db[1], dw = db[2], dh = db[3], da = dw * dh;
            double w = fmin(dw + dx, gw + gx) - fmax(dx, gx);
            if (w <= 0) continue;
            double h = fmin(dh + dy, gh + gy) - fmax(dy, gy);
            if (h <= 0) continue;
            double inter = w * h;
            double uni = cr ? da : da + ga - inter;
            out[d * ng + g] = inter / uni;
        }
    }
}

/* bbox_iou_cells(dt_boxes, gt_boxes, gt_crowd, cell_dt, cell_gt, offsets, out, c0, c1) */
PyObject *native_bbox_iou_cells(PyObject *self, PyObject *args) {
    Py_buffer b[7];
    Py_ssize_t c0, c1;
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*y*w*nn", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &b[6], &c0, &c1))
        return NULL;
    const int64_t *cdt = b[3].buf, *cgt = b[4].buf, *off = b[5].buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t c = c0; c < c1; c++)
        box_cell(b[0].buf, NULL, b[1].buf, b[2].buf, cdt[2 * c], cdt[2 * c + 1], cgt[2 * c], cgt[2 * c + 1],
                 (double *)b[6].buf + off[c]);
    Py_END_ALLOW_THREADS
    RELEASE(b, 7);
    Py_RETURN_NONE;
}

typedef struct { /* what the greedy matching of every cell reads and writes: dt_code (D, A*T), gt_code
                  * (G, A*T) of widths w_dt, w_gt (codes.h), gt_ign (G, A): a cell's rows are adjacent */
    const double *gt_area, *dt_area, *rng, *thr; /* dt_area[dt_rows[d]]: the area of detection row d */
    const int64_t *dt_rows;
    const uint8_t *gt_ignore, *gt_crowd;
    void *dt_code, *gt_code;
    uint8_t *gt_ign;
    Py_ssize_t n_a, n_t;
    int w_dt, w_gt;
    int64_t *order;
    uint8_t *gi_local;
} match_ctx;

/* Parse the 10 matching buffers b[0..10) (gt_area, gt_ignore, gt_crowd, dt_area, dt_rows, area_rng, thresholds,
 * dt_code, gt_code, gt_ign) and the code widths into a context. */
static match_ctx match_context(Py_buffer *b, Py_ssize_t w_dt, Py_ssize_t w_gt) {
    match_ctx m = {b[0].buf, b[3].buf, b[5].buf, b[6].buf, b[4].buf, b[1].buf, b[2].buf, b[7].buf, b[8].buf, b[9].buf,
                   b[5].len / (Py_ssize_t)(2 * sizeof(double)), b[6].len / (Py_ssize_t)sizeof(double),
                   (int)w_dt, (int)w_gt, NULL, NULL};
    return m;
}

/* COCOeval.evaluateImg of one cell; row d of its IoU matrix is iou + d * stride (columns g0..g1 at 0..ng).
 * The codes start at 0 (unmatched, zeroed by the caller). */
static void match_cell(const match_ctx *x, const double *iou, int64_t stride, int64_t d0, int64_t d1, int64_t g0,
                       int64_t g1) {
    int64_t nd = d1 - d0, ng = g1 - g0, *order = x->order;
    Py_ssize_t n_t = x->n_t, n_a = x->n_a, n_at = x->n_a * x->n_t;
    int w_dt = x->w_dt, w_gt = x->w_gt;
    uint8_t *gi = x->gi_local - g0; /* this area range's GT ignore flags of the cell, adjacent */
    for (Py_ssize_t a = 0; a < n_a; a++) {
        double lo = x->rng[2 * a], hi = x->rng[2 * a + 1];
        int64_t k = 0;
        for (int64_t g = g0; g < g1; g++) { /* ignored GT last, stable */
            gi[g] = x->gt_ignore[g] || x->gt_area[g] < lo || x->gt_area[g] > hi;
            x->gt_ign[g * n_a + a] = gi[g];
            if (!gi[g]) order[k++] = g;
        }
        for (int64_t g = g0; g < g1; g++) if (gi[g]) order[k++] = g;
        for (Py_ssize_t t = 0; nd > 0 && ng > 0 && t < n_t; t++) {
            double cap = x->thr[t] < IOU_CAP ? x->thr[t] : IOU_CAP;
            int64_t at = a * n_t + t; /* gt code of GT g: (g * n_at + at), dt code of row d: (d * n_at + at) */
            for (int64_t d = 0; d < nd; d++) {
                double best = cap;
                int64_t m = -1;
                const double *row = iou + d * stride - g0;
                for (int64_t j = 0; j < ng; j++) {
                    int64_t g = order[j];
                    if (code_get(x->gt_code, w_gt, g * n_at + at) && !x->gt_crowd[g]) continue;
                    if (m > -1 && !gi[m] && gi[g]) break;
                    double v = row[g];
                    if (v < best) continue;
                    best = v;
                    m = g;
                }
                if (m == -1) continue;
                code_put(x->dt_code, w_dt, (d0 + d) * n_at + at, (uint32_t)(2 * (m - g0 + 1) + gi[m]));
                code_put(x->gt_code, w_gt, m * n_at + at, (uint32_t)(d + 1));
            }
        }
        for (int64_t d = d0; d < d1; d++) { /* unmatched detections outside the area range: ignored */
            double area = x->dt_area[x->dt_rows[d]];
            if (area < lo || area > hi) {
                for (Py_ssize_t t = 0; t < n_t; t++)
                    if (!code_get(x->dt_code, w_dt, d * n_at + a * n_t + t)) code_put(x->dt_code, w_dt, d * n_at + a * n_t + t, 1);
            }
        }
    }
}

static int64_t most_gt(const int64_t *cgt, Py_ssize_t c0, Py_ssize_t c1) {
    int64_t most = 1;
    for (Py_ssize_t c = c0; c < c1; c++) most = cgt[2 * c + 1] - cgt[2 * c] > most ? cgt[2 * c + 1] - cgt[2 * c] : most;
    return most;
}

/* match_cells(iou, base, stride, cell_dt, cell_gt, gt_area, gt_ignore, gt_crowd, dt_area, dt_rows, area_rng,
 *             thresholds, dt_code, gt_code, gt_ign, w_dt, w_gt, c0, c1): the outputs zeroed by the caller. */
PyObject *native_match_cells(PyObject *self, PyObject *args) {
    Py_buffer b[15];
    Py_ssize_t w_dt, w_gt, c0, c1;
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*y*y*y*y*y*y*y*w*w*w*nnnn", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &b[6],
                          &b[7], &b[8], &b[9], &b[10], &b[11], &b[12], &b[13], &b[14], &w_dt, &w_gt, &c0, &c1))
        return NULL;
    const double *iou = b[0].buf;
    const int64_t *ibase = b[1].buf, *istride = b[2].buf, *cdt = b[3].buf, *cgt = b[4].buf;
    match_ctx x = match_context(b + 5, w_dt, w_gt);
    x.order = malloc(sizeof(int64_t) * most_gt(cgt, c0, c1)), x.gi_local = malloc(most_gt(cgt, c0, c1));
    if (!x.order || !x.gi_local) { free(x.order); free(x.gi_local); RELEASE(b, 15); return PyErr_NoMemory(); }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t c = c0; c < c1; c++)
        match_cell(&x, iou + ibase[c], istride[c], cdt[2 * c], cdt[2 * c + 1], cgt[2 * c], cgt[2 * c + 1]);
    Py_END_ALLOW_THREADS
    free(x.order);
    free(x.gi_local);
    RELEASE(b, 15);
    Py_RETURN_NONE;
}

/* match_boxes(dt_boxes, gt_boxes, cell_dt, cell_gt, gt_area, gt_ignore, gt_crowd, dt_area, dt_rows, area_rng,
 *             thresholds, dt_code, gt_code, gt_ign, w_dt, w_gt, c0, c1): match_cells with each cell's box IoU
 *             computed on the way (in a scratch matrix: no IoU array for the whole batch); detection row d's
 *             box and area are dt_boxes[dt_rows[d]], dt_area[dt_rows[d]]. */
PyObject *native_match_boxes(PyObject *self, PyObject *args) {
    Py_buffer b[14];
    Py_ssize_t w_dt, w_gt, c0, c1;
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*y*y*y*y*y*y*w*w*w*nnnn", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &b[6],
                          &b[7], &b[8], &b[9], &b[10], &b[11], &b[12], &b[13], &w_dt, &w_gt, &c0, &c1))
        return NULL;
    const int64_t *cdt = b[2].buf, *cgt = b[3].buf;
    match_ctx x = match_context(b + 4, w_dt, w_gt);
    int64_t cells_most = 1;
    for (Py_ssize_t c = c0; c < c1; c++) {
        int64_t size = (cdt[2 * c + 1] - cdt[2 * c]) * (cgt[2 * c + 1] - cgt[2 * c]);
        cells_most = size > cells_most ? size : cells_most;
    }
    x.order = malloc(sizeof(int64_t) * most_gt(cgt, c0, c1)), x.gi_local = malloc(most_gt(cgt, c0, c1));
    double *scratch = malloc(sizeof(double) * cells_most);
    if (!x.order || !x.gi_local || !scratch) {
        free(x.order); free(x.gi_local); free(scratch); RELEASE(b, 14);
        return PyErr_NoMemory();
    }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t c = c0; c < c1; c++) {
        int64_t d0 = cdt[2 * c], d1 = cdt[2 * c + 1], g0 = cgt[2 * c], g1 = cgt[2 * c + 1];
        if (d1 > d0 && g1 > g0) {
            memset(scratch, 0, sizeof(double) * (d1 - d0) * (g1 - g0));
            box_cell(b[0].buf, x.dt_rows, b[1].buf, x.gt_crowd, d0, d1, g0, g1, scratch);
        }
        match_cell(&x, scratch, g1 - g0, d0, d1, g0, g1);
    }
    Py_END_ALLOW_THREADS
    free(x.order);
    free(x.gi_local);
    free(scratch);
    RELEASE(b, 14);
    Py_RETURN_NONE;
}
