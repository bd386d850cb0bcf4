/* Grouping for the evaluation, in C: detections into pycocotools' cells (image, category) in their
 * rank order, and GT and detection keys into cell ranges.
 *
 * The order is that of cocoseg/eval/tables.py `select_detections` (its numpy fallback): within an
 * image, by (category, -score, input position) [pooled: (-score, category, input position)], NaN
 * scores last as numpy sorts them.
 */
#include "native.h"
#include "sortkeys.h"
#include "parallel.h"

static Py_ssize_t find_sorted(const int64_t *ids, Py_ssize_t n, int64_t v) {
    Py_ssize_t lo = 0, hi = n;
    while (lo < hi) {
        Py_ssize_t mid = lo + (hi - lo) / 2;
        if (ids[mid] < v) lo = mid + 1; else hi = mid;
    }
    return (lo < n && ids[lo] == v) ? lo : -1;
}

enum { MOST_TABLE = 1 << 20 }; /* category ids below this are looked up in a table (a binary search each: 0.2 s
                               * at 4M detections, the categories of an image's results interleaved) */

/* Position of each detection's image (-1: not evaluated, or outside image_mask) and category. */
static void lookup(const int64_t *d_img, const int64_t *d_cat, Py_ssize_t n, const int64_t *images, Py_ssize_t n_i,
                   const int64_t *cats, Py_ssize_t n_k, const uint8_t *mask, int64_t *ip, int64_t *cp) {
    int64_t top = n_k ? cats[n_k - 1] + 1 : 0;
    int32_t *table = (n_k && cats[0] >= 0 && top <= MOST_TABLE) ? malloc(sizeof(int32_t) * top) : NULL;
    if (table) {
        for (int64_t c = 0; c < top; c++) table[c] = -1;
        for (Py_ssize_t k = 0; k < n_k; k++) table[cats[k]] = (int32_t)k;
    }
    for (Py_ssize_t i = 0; i < n; i++) { /* results files come grouped by image: reuse the last look-up */
        ip[i] = (i && d_img[i] == d_img[i - 1]) ? ip[i - 1] : find_sorted(images, n_i, d_img[i]);
        if (table) cp[i] = (d_cat[i] >= 0 && d_cat[i] < top) ? table[d_cat[i]] : -1;
        else cp[i] = (i && d_cat[i] == d_cat[i - 1]) ? cp[i - 1] : find_sorted(cats, n_k, d_cat[i]);
    }
    free(table);
    for (Py_ssize_t i = 0; i < n; i++) if (ip[i] >= 0 && (cp[i] < 0 || !mask[ip[i]])) ip[i] = -1;
}

/* Stable counting sort of rows 0..n by key (keys outside [0, n_keys) left out): order, starts (n_keys + 1). */
static int64_t counting_sort(const int64_t *key, Py_ssize_t n, Py_ssize_t n_keys, int64_t *order, int64_t *starts) {
    memset(starts, 0, sizeof(int64_t) * (n_keys + 1));
    for (Py_ssize_t i = 0; i < n; i++) if (key[i] >= 0 && key[i] < n_keys) starts[key[i] + 1]++;
    for (Py_ssize_t k = 0; k < n_keys; k++) starts[k + 1] += starts[k];
    int64_t *fill = malloc(sizeof(int64_t) * (n_keys + 1));
    if (!fill) return -1;
    memcpy(fill, starts, sizeof(int64_t) * (n_keys + 1));
    for (Py_ssize_t i = 0; i < n; i++) if (key[i] >= 0 && key[i] < n_keys) order[fill[key[i]]++] = i;
    free(fill);
    return starts[n_keys];
}

typedef struct { /* the per-image pass of group_detections: images [p0, p1) per thread */
    const int64_t *order, *starts, *cp;
    const double *scores;
    int64_t *sel, *o_img, *o_cat, *o_rank, *kept; /* image p writes at starts[p]; kept[p] of its rows */
    Py_ssize_t use_cats, max_det;
    int failed;
} image_pass;

/* Sort each image's detections by (cell, -score, input position) and cut each cell to max_det. */
static void sort_images(void *ctx, Py_ssize_t p0, Py_ssize_t p1) {
    image_pass *x = ctx;
    int64_t most = 1;
    for (Py_ssize_t p = p0; p < p1; p++) most = x->starts[p + 1] - x->starts[p] > most ? x->starts[p + 1] - x->starts[p] : most;
    sort_key *keys = malloc(sizeof(sort_key) * most), *tmp = malloc(sizeof(sort_key) * most);
    if (!keys || !tmp) { free(keys); free(tmp); x->failed = 1; return; }
    for (Py_ssize_t p = p0; p < p1; p++) {
        int64_t s0 = x->starts[p], m = x->starts[p + 1] - s0, r = 0, kept = s0;
        for (int64_t j = 0; j < m; j++) {
            int64_t i = x->order[s0 + j];
            keys[j] = (sort_key){x->use_cats ? x->cp[i] : 0, -x->scores[i], x->use_cats ? 0 : x->cp[i], 0, i};
        }
        sort_keys(keys, tmp, m);
        for (int64_t j = 0; j < m; j++) {
            r = (j && keys[j].p == keys[j - 1].p) ? r + 1 : 0;
            if (r >= x->max_det) continue;
            int64_t i = keys[j].row;
            x->sel[kept] = i, x->o_img[kept] = p, x->o_cat[kept] = x->cp[i], x->o_rank[kept] = r;
            kept++;
        }
        x->kept[p] = kept - s0;
    }
    free(keys);
    free(tmp);
}

/* Close the gaps the cut left: image p's rows from starts[p] to the running total. */
static int64_t compact(const image_pass *x, Py_ssize_t n_i) {
    int64_t to = 0;
    int64_t *cols[4] = {x->sel, x->o_img, x->o_cat, x->o_rank};
    for (Py_ssize_t p = 0; p < n_i; p++) {
        if (to != x->starts[p])
            for (int c = 0; c < 4; c++) memmove(cols[c] + to, cols[c] + x->starts[p], sizeof(int64_t) * x->kept[p]);
        to += x->kept[p];
    }
    return to;
}

/* group_detections(d_img, d_cat, scores, image_ids, category_ids, image_mask, sel, img, cat, rank, use_cats, max_det,
 *                  threads) -> kept: the first `kept` rows of sel/img/cat/rank (int64, N each) are the detections
 * kept, in (image, cell, rank) order, cut to max_det per cell; the images are sorted on `threads` threads. */
PyObject *native_group_detections(PyObject *self, PyObject *args) {
    Py_buffer b[10];
    Py_ssize_t use_cats, max_det, threads;
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*y*w*w*w*w*nnn", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &b[6], &b[7],
                          &b[8], &b[9], &use_cats, &max_det, &threads))
        return NULL;
    const int64_t *d_img = b[0].buf, *d_cat = b[1].buf, *images = b[3].buf, *cats = b[4].buf;
    Py_ssize_t n = b[0].len / sizeof(int64_t), n_i = b[3].len / sizeof(int64_t), n_k = b[4].len / sizeof(int64_t);
    int64_t *ip = malloc(sizeof(int64_t) * (n + 1)), *cp = malloc(sizeof(int64_t) * (n + 1));
    int64_t *order = malloc(sizeof(int64_t) * (n + 1)), *starts = malloc(sizeof(int64_t) * (n_i + 1));
    int64_t *kept = malloc(sizeof(int64_t) * (n_i + 1)), total = 0;
    image_pass x = {order, starts, cp, b[2].buf, b[6].buf, b[7].buf, b[8].buf, b[9].buf, kept, use_cats, max_det,
                    !ip || !cp || !order || !starts || !kept};
    Py_BEGIN_ALLOW_THREADS
    if (!x.failed) {
        lookup(d_img, d_cat, n, images, n_i, cats, n_k, b[5].buf, ip, cp);
        x.failed = counting_sort(ip, n, n_i, order, starts) < 0;
    }
    free(ip); /* done with: 8 bytes a detection less at the call's peak */
    ip = NULL;
    if (!x.failed) parallel_rows(sort_images, &x, n_i, starts, n >= 50000 ? (int)threads : 1);
    if (!x.failed) total = compact(&x, n_i);
    Py_END_ALLOW_THREADS
    free(ip); free(cp); free(order); free(starts); free(kept);
    RELEASE(b, 10);
    if (x.failed) return PyErr_NoMemory();
    return PyLong_FromLongLong(total);
}

/* cells(g_key, d_key, cell_gt, cell_dt) -> n: the union of two sorted key columns as cells, each
 * with its [start, end) rows on both sides (cell_* hold (G + D) pairs). */
PyObject *native_cells(PyObject *self, PyObject *args) {
    Py_buffer b[4];
    if (!PyArg_ParseTuple(args, "y*y*w*w*", &b[0], &b[1], &b[2], &b[3])) return NULL;
    const int64_t *gk = b[0].buf, *dk = b[1].buf;
    int64_t *cg = b[2].buf, *cd = b[3].buf;
    Py_ssize_t n_g = b[0].len / sizeof(int64_t), n_d = b[1].len / sizeof(int64_t), i = 0, j = 0, c = 0;
    Py_BEGIN_ALLOW_THREADS
    while (i < n_g || j < n_d) {
        int64_t key = (j >= n_d || (i < n_g && gk[i] <= dk[j])) ? gk[i] : dk[j];
        cg[2 * c] = i, cd[2 * c] = j;
        while (i < n_g && gk[i] == key) i++;
        while (j < n_d && dk[j] == key) j++;
        cg[2 * c + 1] = i, cd[2 * c + 1] = j;
        c++;
    }
    Py_END_ALLOW_THREADS
    RELEASE(b, 4);
    return PyLong_FromSsize_t(c);
}
