/* COCOeval.accumulate in C, one category at a time (a range of categories per thread).
 *
 * A category's detection rows are ordered by (-score, image id, rank) (pycocotools' mergesort of
 * -score over its image-ordered concatenation), their TP/FP/ignored codes gathered from the state's
 * match codes (codes.h; detection-major (D, A*T): a detection's codes are one cache line, not A*T),
 * then precision/recall follow _kernels_numba.accumulate_sorted's operation order.
 */
#include "native.h"
#include "codes.h"
#include "sortkeys.h"

typedef struct {
    Py_ssize_t n_a, n_t, n_m, n_r, n_k, stride; /* stride: K*A*M, between recall thresholds in the outputs */
    const int64_t *max_dets;
    const double *rec_thr;
    double *precision, *recall, *score_out;
    int64_t *idx, *tp_pos;
    double *tp_rc, *tp_pr;
} acc_ctx;

static const double EPS = 2.220446049250313e-16; /* np.spacing(1) */

/* Precision/scores at the recall thresholds of one (category, area, max_dets, threshold) row; codes and scores
 * are those of the row's n detections in accumulation order. The outputs are written where they lie in
 * precision/scores [T, R, K, A, M] (entry q at out + q * stride) and recall [T, K, A, M]. */
static void pr_row(const acc_ctx *x, const uint8_t *codes, const double *scores, int64_t n, double total,
                   Py_ssize_t out, Py_ssize_t rec_out) {
    Py_ssize_t n_r = x->n_r, stride = x->stride;
    double *prec = x->precision + out, *sc = x->score_out + out;
    int64_t n_tp = 0, n_fp = 0, *tp_pos = x->tp_pos;
    double *tp_rc = x->tp_rc, *tp_pr = x->tp_pr;
    for (int64_t j = 0; j < n; j++) { /* branch-free: the codes are random; tp_pr holds fp counts for now */
        uint8_t c = codes[j];
        tp_pos[n_tp] = j;
        tp_pr[n_tp] = (double)n_fp;
        n_tp += c == 1;
        n_fp += c == 2;
    }
    for (int64_t e = 0; e < n_tp; e++) { /* pycocotools' cumsums are exact integers: the same doubles */
        double tp = (double)(e + 1);
        tp_rc[e] = tp / total;
        tp_pr[e] = tp / (tp_pr[e] + tp + EPS);
    }
    x->recall[rec_out] = n ? (double)n_tp / total : 0.0;
    for (int64_t e = n_tp - 2; e >= 0; e--) if (tp_pr[e + 1] > tp_pr[e]) tp_pr[e] = tp_pr[e + 1];
    double rc0 = (n_tp && tp_pos[0] == 0) ? 1.0 / total : 0.0;
    int64_t e = 0;
    Py_ssize_t q = 0;
    for (; q < n_r; q++) {
        double th = x->rec_thr[q];
        if (n && rc0 >= th) {
            prec[q * stride] = n_tp ? tp_pr[0] : 0.0;
            sc[q * stride] = scores[0];
        } else {
            while (e < n_tp && tp_rc[e] < th) e++;
            if (e >= n_tp) break;
            prec[q * stride] = tp_pr[e];
            sc[q * stride] = scores[tp_pos[e]];
        }
    }
    for (; q < n_r; q++) { prec[q * stride] = 0.0; sc[q * stride] = 0.0; }
}

/* Every row of category k from its n detections (sorted; codes (A*T, n), rank, scores local). For each
 * max_dets the kept detections' codes and scores are packed first (sub, sub_scores), so that each row reads
 * them in order. */
static void category_rows(const acc_ctx *x, Py_ssize_t k, const uint8_t *codes, const int64_t *rank,
                          const double *scores, int64_t n, const int64_t *npig, uint8_t *sub, double *sub_scores) {
    int64_t before = -1;
    Py_ssize_t n_a = x->n_a, n_t = x->n_t, n_m = x->n_m, n_at = n_a * n_t;
    for (Py_ssize_t m = 0; m < n_m; m++) {
        int64_t kept = 0;
        for (int64_t j = 0; j < n; j++) if (rank[j] < x->max_dets[m]) x->idx[kept++] = j;
        const uint8_t *c = codes;
        const double *sc = scores;
        if (kept < n && kept != before) {
            for (Py_ssize_t at = 0; at < n_at; at++)
                for (int64_t j = 0; j < kept; j++) sub[at * kept + j] = codes[at * n + x->idx[j]];
            for (int64_t j = 0; j < kept; j++) sub_scores[j] = scores[x->idx[j]];
            c = sub, sc = sub_scores;
        }
        for (Py_ssize_t a = 0; a < n_a; a++) {
            if (npig[k * n_a + a] == 0) continue;
            for (Py_ssize_t t = 0; t < n_t; t++) {
                Py_ssize_t out = ((t * x->n_r * x->n_k + k) * n_a + a) * n_m + m;
                Py_ssize_t rec_out = ((t * x->n_k + k) * n_a + a) * n_m + m;
                if (kept == before) { /* the same detections as max_dets[m - 1]: the same row */
                    for (Py_ssize_t q = 0; q < x->n_r; q++) {
                        x->precision[out + q * x->stride] = x->precision[out - 1 + q * x->stride];
                        x->score_out[out + q * x->stride] = x->score_out[out - 1 + q * x->stride];
                    }
                    x->recall[rec_out] = x->recall[rec_out - 1];
                    continue;
                }
                pr_row(x, c + (a * n_t + t) * kept, sc, kept, (double)npig[k * n_a + a], out, rec_out);
            }
        }
        before = kept;
    }
}

typedef struct { /* a block of categories' rows, gathered in state order by one pass over the state */
    double *score;
    int64_t *rank;
    uint8_t *codes; /* (rows, A*T) */
} block_rows;

typedef struct { /* a detection's place in accumulation order: by -score, then by its state row */
    double s;
    int64_t row;
} score_key;

static inline int score_less(const score_key *a, const score_key *b) { /* numpy's order: NaN last */
    if (a->s < b->s) return 1;
    if (a->s > b->s) return 0;
    int na = a->s != a->s, nb = b->s != b->s;
    if (na != nb) return nb;
    return a->row < b->row;
}

DEFINE_MERGE_SORT(sort_scores, score_key, score_less)

enum { BLOCK_BYTES = 4 << 20, MOST_PASSES = 8 }; /* rows gathered per pass over the state (which reads it in
                                                 * address order): at least 4 MB, at most 8 passes */

/* Rows of categories kb..ke (positions seg[kb]..seg[ke] in category order) out of the state rows,
 * read in address order (the state is far larger than any cache; one category's rows are scattered).
 * State rows are ordered by (image id, cell, rank), so each category's rows come out in (image id, rank)
 * order: a stable sort by -score then gives pycocotools' order. */
static void gather_block(const int64_t *dk, Py_ssize_t n_dt, Py_ssize_t kb, Py_ssize_t ke, const int64_t *seg,
                         const double *score, const int64_t *rank, const void *dt_code,
                         int width, Py_ssize_t n_at, int64_t *fill, block_rows *out) {
    for (Py_ssize_t k = kb; k < ke; k++) fill[k - kb] = seg[k] - seg[kb];
    for (Py_ssize_t d = 0; d < n_dt; d++) {
        int64_t k = dk[d];
        if (k < kb || k >= ke) continue;
        int64_t r = fill[k - kb]++;
        out->score[r] = score[d], out->rank[r] = rank[d];
        uint8_t *o = out->codes + r * n_at; /* state codes (codes.h) -> 0 ignored, 1 TP, 2 FP */
        if (width == 1) { /* the usual width: a loop the compiler vectorises */
            const uint8_t *c = (const uint8_t *)dt_code + d * n_at;
            for (Py_ssize_t at = 0; at < n_at; at++) o[at] = (c[at] & 1) ? 0 : (c[at] ? 1 : 2);
        } else {
            for (Py_ssize_t at = 0; at < n_at; at++) {
                uint32_t c = code_get(dt_code, width, d * n_at + at);
                o[at] = (c & 1) ? 0 : (c ? 1 : 2);
            }
        }
    }
}

/* accumulate_groups(dk, seg, dt_rank, dt_score, dt_code, npig, max_dets, rec_thr,
 *                   precision, recall, score_out, n_a, n_t, n_k, code_width, k0, k1): dk is each row's category
 * position, seg[k]..seg[k + 1] category k's place in category order; the rows in state order (image id,
 * cell, rank); dt_code the state's (D, A*T) codes
 * (codes.h); outputs precision, scores [T, R, K, A, M] and recall [T, K, A, M] (COCOeval's layout),
 * pre-filled with -1 by the caller. */
PyObject *native_accumulate_groups(PyObject *self, PyObject *args) {
    Py_buffer b[11];
    Py_ssize_t n_a, n_t, n_k, code_width, k0, k1;
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*y*y*y*w*w*w*nnnnnn", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &b[6],
                          &b[7], &b[8], &b[9], &b[10], &n_a, &n_t, &n_k, &code_width, &k0, &k1))
        return NULL;
    const int64_t *dk = b[0].buf, *seg = b[1].buf, *rank = b[2].buf, *npig = b[5].buf;
    const double *score = b[3].buf;
    Py_ssize_t n_at = n_a * n_t, n_dt = b[3].len / sizeof(double), width = n_at ? n_at : 1;
    Py_ssize_t n_m = b[6].len / sizeof(int64_t);
    acc_ctx x = {n_a, n_t, n_m, b[7].len / sizeof(double), n_k, n_k * n_a * n_m, b[6].buf, b[7].buf,
                 b[8].buf, b[9].buf, b[10].buf, NULL, NULL, NULL, NULL};
    int64_t longest = 1;
    for (Py_ssize_t k = k0; k < k1; k++) longest = seg[k + 1] - seg[k] > longest ? seg[k + 1] - seg[k] : longest;
    int64_t cap = BLOCK_BYTES / (16 + width), total = seg[k1] - seg[k0];
    cap = cap < (total + MOST_PASSES - 1) / MOST_PASSES ? (total + MOST_PASSES - 1) / MOST_PASSES : cap;
    cap = cap < longest ? longest : cap;
    cap = cap > total ? (total > 0 ? total : 1) : cap;
    x.idx = malloc(sizeof(int64_t) * longest), x.tp_pos = malloc(sizeof(int64_t) * longest);
    x.tp_rc = malloc(sizeof(double) * longest), x.tp_pr = malloc(sizeof(double) * longest);
    score_key *keys = malloc(sizeof(score_key) * longest), *tmp = malloc(sizeof(score_key) * (longest / 2 + 1));
    uint8_t *codes = malloc((size_t)longest * width), *sub = malloc((size_t)longest * width);
    int64_t *rank_l = malloc(sizeof(int64_t) * longest), *fill = malloc(sizeof(int64_t) * (k1 - k0 + 1));
    double *score_l = malloc(sizeof(double) * longest), *sub_scores = malloc(sizeof(double) * longest);
    block_rows blk = {malloc(sizeof(double) * cap), malloc(sizeof(int64_t) * cap), malloc((size_t)cap * width)};
    int ok = x.idx && x.tp_pos && x.tp_rc && x.tp_pr && keys && tmp && codes && sub && rank_l && fill && score_l && sub_scores &&
             blk.score && blk.rank && blk.codes;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t kb = k0, ke; ok && kb < k1; kb = ke) {
        for (ke = kb + 1; ke < k1 && seg[ke + 1] - seg[kb] <= cap; ke++) {}
        gather_block(dk, n_dt, kb, ke, seg, score, rank, b[4].buf, (int)code_width, n_at, fill, &blk);
        for (Py_ssize_t k = kb; k < ke; k++) {
            int64_t n = seg[k + 1] - seg[k], o = seg[k] - seg[kb];
            for (int64_t j = 0; j < n; j++) keys[j] = (score_key){-blk.score[o + j], j};
            sort_scores(keys, tmp, n);
            for (int64_t j = 0; j < n; j++) {
                int64_t r = o + keys[j].row;
                rank_l[j] = blk.rank[r], score_l[j] = blk.score[r];
                for (Py_ssize_t at = 0; at < n_at; at++) codes[at * n + j] = blk.codes[r * n_at + at];
            }
            category_rows(&x, k, codes, rank_l, score_l, n, npig, sub, sub_scores);
        }
    }
    Py_END_ALLOW_THREADS
    free(x.idx); free(x.tp_pos); free(x.tp_rc); free(x.tp_pr);
    free(keys); free(tmp); free(codes); free(sub); free(rank_l); free(fill); free(score_l); free(sub_scores);
    free(blk.score); free(blk.rank); free(blk.codes);
    RELEASE(b, 11);
    if (!ok) return PyErr_NoMemory();
    Py_RETURN_NONE;
}
