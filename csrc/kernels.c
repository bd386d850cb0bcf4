/* Evaluation loops of cocoseg (box IoU per cell, greedy matching, accumulation), in C.
 *
 * The same loops as cocoseg/eval/_kernels_numba.py (the fallback when this extension is absent),
 * in pycocotools' operation order, so the numbers are bit-identical. Outputs are allocated by
 * the caller; every entry point takes a range of cells (or categories) so that the caller can
 * split the work across threads: the GIL is released while a range runs.
 */
#include "native.h"

static const double IOU_CAP = 1.0 - 1e-10; /* pycocotools: iou = min([t, 1 - 1e-10]) */

/* bbox_iou_cells(dt_boxes, gt_boxes, gt_crowd, cell_dt, cell_gt, offsets, out, c0, c1) */
PyObject *native_bbox_iou_cells(PyObject *self, PyObject *args) {
    Py_buffer b[7];
    Py_ssize_t c0, c1;
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*y*w*nn", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &b[6], &c0, &c1))
        return NULL;
    const double *dt = b[0].buf, *gtb = b[1].buf;
    const uint8_t *crowd = b[2].buf;
    const int64_t *cdt = b[3].buf, *cgt = b[4].buf, *off = b[5].buf;
    double *out = b[6].buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t c = c0; c < c1; c++) {
        int64_t d0 = cdt[2 * c], d1 = cdt[2 * c + 1], g0 = cgt[2 * c], g1 = cgt[2 * c + 1];
        int64_t ng = g1 - g0, base = off[c];
        for (int64_t g = 0; g < ng; g++) {
            const double *gb = gtb + 4 * (g0 + g);
            double gx = gb[0], gy = gb[1], gw = gb[2], gh = gb[3], ga = gw * gh;
            int cr = crowd[g0 + g];
            for (int64_t d = 0; d < d1 - d0; d++) {
                const double *db = dt + 4 * (d0 + d);
                double dx = db[0], dy = db[1], dw = db[2], dh = db[3], da = dw * dh;
                double w = fmin(dw + dx, gw + gx) - fmax(dx, gx);
                if (w <= 0) continue;
                double h = fmin(dh + dy, gh + gy) - fmax(dy, gy);
                if (h <= 0) continue;
                double inter = w * h;
                double uni = cr ? da : da + ga - inter;
                out[base + d * ng + g] = inter / uni;
            }
        }
    }
    Py_END_ALLOW_THREADS
    RELEASE(b, 7);
    Py_RETURN_NONE;
}

/* match_cells(iou, base, stride, cell_dt, cell_gt, gt_area, gt_ignore, gt_crowd, dt_area, area_rng,
 *             thresholds, dt_gt, dt_ign, gt_dt, gt_ign, c0, c1): dt_ign, gt_ign zeroed by the caller; dt_gt,
 *             gt_dt set to -1 here for the rows of cells c0..c1 (cells hold every row, in order). */
PyObject *native_match_cells(PyObject *self, PyObject *args) {
    Py_buffer b[15];
    Py_ssize_t c0, c1;
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*y*y*y*y*y*y*w*w*w*w*nn", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &b[6],
                          &b[7], &b[8], &b[9], &b[10], &b[11], &b[12], &b[13], &b[14], &c0, &c1))
        return NULL;
    const double *iou = b[0].buf, *gt_area = b[5].buf, *dt_area = b[8].buf, *rng = b[9].buf, *thr = b[10].buf;
    const int64_t *ibase = b[1].buf, *istride = b[2].buf, *cdt = b[3].buf, *cgt = b[4].buf;
    const uint8_t *gt_ignore = b[6].buf, *gt_crowd = b[7].buf;
    int32_t *dt_gt = b[11].buf, *gt_dt = b[13].buf;
    uint8_t *dt_ign = b[12].buf, *gt_ign = b[14].buf;
    Py_ssize_t n_a = b[9].len / (2 * sizeof(double)), n_t = b[10].len / sizeof(double);
    Py_ssize_t n_dt = b[8].len / sizeof(double), n_gt = b[5].len / sizeof(double);
    int64_t most = 1;
    for (Py_ssize_t c = c0; c < c1; c++) most = cgt[2 * c + 1] - cgt[2 * c] > most ? cgt[2 * c + 1] - cgt[2 * c] : most;
    int64_t *order = malloc(sizeof(int64_t) * most);
    if (!order) { RELEASE(b, 15); return PyErr_NoMemory(); }
    Py_BEGIN_ALLOW_THREADS
    if (c1 > c0) { /* this range's rows of dt_gt and gt_dt start unmatched (-1): filled here, in this thread */
        int64_t da = cdt[2 * c0], db = cdt[2 * (c1 - 1) + 1], ga = cgt[2 * c0], gb = cgt[2 * (c1 - 1) + 1];
        for (Py_ssize_t at = 0; at < n_a * n_t; at++) {
            for (int64_t d = da; d < db; d++) dt_gt[at * n_dt + d] = -1;
            for (int64_t g = ga; g < gb; g++) gt_dt[at * n_gt + g] = -1;
        }
    }
    for (Py_ssize_t c = c0; c < c1; c++) {
        int64_t d0 = cdt[2 * c], d1 = cdt[2 * c + 1], g0 = cgt[2 * c], g1 = cgt[2 * c + 1];
        int64_t nd = d1 - d0, ng = g1 - g0, base = ibase[c], stride = istride[c];
        for (Py_ssize_t a = 0; a < n_a; a++) {
            double lo = rng[2 * a], hi = rng[2 * a + 1];
            uint8_t *gi = gt_ign + a * n_gt;
            int64_t k = 0;
            for (int64_t g = g0; g < g1; g++) { /* ignored GT last, stable */
                gi[g] = gt_ignore[g] || gt_area[g] < lo || gt_area[g] > hi;
                if (!gi[g]) order[k++] = g;
            }
            for (int64_t g = g0; g < g1; g++) if (gi[g]) order[k++] = g;
            if (nd > 0 && ng > 0) {
                for (Py_ssize_t t = 0; t < n_t; t++) {
                    double cap = thr[t] < IOU_CAP ? thr[t] : IOU_CAP;
                    int32_t *gd = gt_dt + (a * n_t + t) * n_gt;
                    int32_t *dg = dt_gt + (a * n_t + t) * n_dt;
                    uint8_t *di = dt_ign + (a * n_t + t) * n_dt;
                    for (int64_t d = 0; d < nd; d++) {
                        double best = cap;
                        int64_t m = -1;
                        const double *row = iou + base + d * stride - g0;
                        for (int64_t j = 0; j < ng; j++) {
                            int64_t g = order[j];
                            if (gd[g] >= 0 && !gt_crowd[g]) continue;
                            if (m > -1 && !gi[m] && gi[g]) break;
                            double v = row[g];
                            if (v < best) continue;
                            best = v;
                            m = g;
                        }
                        if (m == -1) continue;
                        di[d0 + d] = gi[m];
                        dg[d0 + d] = (int32_t)m;
                        gd[m] = (int32_t)(d0 + d);
                    }
                }
            }
            for (int64_t d = d0; d < d1; d++) { /* unmatched detections outside the area range: ignored */
                if (dt_area[d] < lo || dt_area[d] > hi) {
                    for (Py_ssize_t t = 0; t < n_t; t++)
                        if (dt_gt[(a * n_t + t) * n_dt + d] < 0) dt_ign[(a * n_t + t) * n_dt + d] = 1;
                }
            }
        }
    }
    Py_END_ALLOW_THREADS
    free(order);
    RELEASE(b, 15);
    Py_RETURN_NONE;
}

/* accumulate_sorted(codes, rank, scores, seg_starts, npig, max_dets, rec_thr, precision, recall, score_out, k0, k1)
 * codes (D, A, T) uint8; outputs (K*A*M*T, R), (K*A*M*T,), pre-filled with -1. */
PyObject *native_accumulate_sorted(PyObject *self, PyObject *args) {
    Py_buffer b[10];
    Py_ssize_t n_a, n_t, k0, k1;
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*y*y*w*w*w*nnnn", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &b[6], &b[7],
                          &b[8], &b[9], &n_a, &n_t, &k0, &k1))
        return NULL;
    const uint8_t *codes = b[0].buf;
    const int64_t *rank = b[1].buf, *seg = b[3].buf, *npig = b[4].buf, *max_dets = b[5].buf;
    const double *scores = b[2].buf, *rec_thr = b[6].buf;
    double *precision = b[7].buf, *recall = b[8].buf, *score_out = b[9].buf;
    Py_ssize_t n_m = b[5].len / sizeof(int64_t), n_r = b[6].len / sizeof(double);
    int64_t longest = 1;
    for (Py_ssize_t k = k0; k < k1; k++) longest = seg[k + 1] - seg[k] > longest ? seg[k + 1] - seg[k] : longest;
    int64_t *idx = malloc(sizeof(int64_t) * longest), *tp_pos = malloc(sizeof(int64_t) * longest);
    double *tp_rc = malloc(sizeof(double) * longest), *tp_pr = malloc(sizeof(double) * longest);
    if (!idx || !tp_pos || !tp_rc || !tp_pr) {
        free(idx); free(tp_pos); free(tp_rc); free(tp_pr);
        RELEASE(b, 10);
        return PyErr_NoMemory();
    }
    const double eps = 2.220446049250313e-16; /* np.spacing(1) */
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t k = k0; k < k1; k++) {
        for (Py_ssize_t m = 0; m < n_m; m++) {
            int64_t n = 0;
            for (int64_t i = seg[k]; i < seg[k + 1]; i++) if (rank[i] < max_dets[m]) idx[n++] = i;
            for (Py_ssize_t a = 0; a < n_a; a++) {
                double total = (double)npig[k * n_a + a];
                if (npig[k * n_a + a] == 0) continue;
                for (Py_ssize_t t = 0; t < n_t; t++) {
                    Py_ssize_t row = ((k * n_a + a) * n_m + m) * n_t + t;
                    double *prec = precision + row * n_r, *sc = score_out + row * n_r;
                    double tp = 0.0, fp = 0.0;
                    int64_t n_tp = 0;
                    for (int64_t j = 0; j < n; j++) {
                        uint8_t c = codes[(idx[j] * n_a + a) * n_t + t];
                        if (c == 1) {
                            tp += 1.0;
                            tp_pos[n_tp] = j;
                            tp_rc[n_tp] = tp / total;
                            tp_pr[n_tp] = tp / (fp + tp + eps);
                            n_tp++;
                        } else if (c == 2) {
                            fp += 1.0;
                        }
                    }
                    recall[row] = n ? tp / total : 0.0;
                    for (int64_t e = n_tp - 2; e >= 0; e--) if (tp_pr[e + 1] > tp_pr[e]) tp_pr[e] = tp_pr[e + 1];
                    double rc0 = (n_tp && tp_pos[0] == 0) ? 1.0 / total : 0.0;
                    int64_t e = 0;
                    Py_ssize_t q = 0;
                    for (; q < n_r; q++) {
                        double th = rec_thr[q];
                        if (n && rc0 >= th) {
                            prec[q] = n_tp ? tp_pr[0] : 0.0;
                            sc[q] = scores[idx[0]];
                        } else {
                            while (e < n_tp && tp_rc[e] < th) e++;
                            if (e >= n_tp) break;
                            prec[q] = tp_pr[e];
                            sc[q] = scores[idx[tp_pos[e]]];
                        }
                    }
                    for (; q < n_r; q++) { prec[q] = 0.0; sc[q] = 0.0; }
                }
            }
        }
    }
    Py_END_ALLOW_THREADS
    free(idx); free(tp_pos); free(tp_rc); free(tp_pr);
    RELEASE(b, 10);
    Py_RETURN_NONE;
}

/* match_codes(dt_gt, dt_ignore, order, out, n_at, j0, j1): out[j, at] = 0 ignored, 1 true positive,
 * 2 false positive, for the detection order[j] (accumulation order); dt_* are (A*T, D). */
PyObject *native_match_codes(PyObject *self, PyObject *args) {
    Py_buffer b[4];
    Py_ssize_t n_at, j0, j1;
    if (!PyArg_ParseTuple(args, "y*y*y*w*nnn", &b[0], &b[1], &b[2], &b[3], &n_at, &j0, &j1)) return NULL;
    const int32_t *dt_gt = b[0].buf;
    const uint8_t *ign = b[1].buf;
    const int64_t *order = b[2].buf;
    uint8_t *out = b[3].buf;
    Py_ssize_t n_dt = b[2].len / sizeof(int64_t);
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t j = j0; j < j1; j++) {
        int64_t d = order[j];
        for (Py_ssize_t at = 0; at < n_at; at++)
            out[j * n_at + at] = ign[at * n_dt + d] ? 0 : (dt_gt[at * n_dt + d] >= 0 ? 1 : 2);
    }
    Py_END_ALLOW_THREADS
    RELEASE(b, 4);
    Py_RETURN_NONE;
}
