/* The columns of parsed GT annotations in C, one pass over the dicts, for both of their readers:
 * validation's annotation screen (cocoseg/io/annotation_screen.py: it applies the value rules on these
 * columns, with polygons) and the evaluator's GT table (cocoseg/eval/tables.py, without polygons).
 *
 * Values are read as they are; the rules are not here. Per row it says what the readers need to trust
 * the values: `typed` (every field the screen reads has the type it passes: exact ints within int64 for
 * ids, iscrowd an exact int, area and box numbers that are finite floats or ints below 2**52 in magnitude
 * (exact in doubles), polygons as lists of such numbers; never bools), the id's kind (for the unique-id
 * rule), `complete` (area and a 4-item bbox, else the evaluator completes the row) and whether the
 * record has keypoints. `fits` says the evaluator can read every row as numbers; where it cannot it
 * takes its Python path. cocoseg/io/annotation_screen.py `python_columns` is the same reading in Python. */
#include "native.h"

#define EXACT_INT 4503599627370496LL /* 2**52: below it, int sums in doubles are exact */

enum { NOT_NUMBER, NUMBER, TYPED };
enum { K_ID, K_IMAGE, K_CATEGORY, K_CROWD, K_AREA, K_BBOX, K_SEGM, K_KEYPOINTS, N_KEYS };
enum { C_ID, C_IMAGE, C_CATEGORY, C_CROWD, C_AREA, C_BOX, C_PARTS, C_PART_LEN, C_PART_MIN, C_PART_MAX, C_TYPED,
       C_ID_KIND, C_COMPLETE, C_KEYPOINTS, N_COLS };
static const Py_ssize_t WIDTH[N_COLS] = {8, 8, 8, 8, 8, 32, 8, 8, 8, 8, 1, 1, 1, 1};

/* TYPED for a number the screen takes, NUMBER for one readable only as a double (an int of 2**52 or more
 * in magnitude, a non-finite float), NOT_NUMBER otherwise (bools, other types, ints beyond doubles). */
static int number(PyObject *o, double *v) {
    *v = 0.0;
    if (PyFloat_CheckExact(o)) {
        *v = PyFloat_AS_DOUBLE(o);
        return isfinite(*v) ? TYPED : NUMBER;
    }
    if (!PyLong_CheckExact(o)) return NOT_NUMBER;
    int overflow = 0;
    long long x = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (!overflow && x > -EXACT_INT && x < EXACT_INT) {
        *v = (double)x;
        return TYPED;
    }
    double d = PyLong_AsDouble(o);
    if (d == -1.0 && PyErr_Occurred()) {
        PyErr_Clear();
        return NOT_NUMBER;
    }
    *v = d;
    return NUMBER;
}

/* 1 for an exact int within int64 (*v), 2 for a larger int, 0 otherwise (absent, bool, other types). */
static int int64_kind(PyObject *o, int64_t *v) {
    *v = 0;
    if (!o || !PyLong_CheckExact(o)) return 0;
    int overflow = 0;
    long long x = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (overflow) return 2;
    *v = x;
    return 1;
}

typedef struct {
    int64_t *id, *image, *category, *crowd, *parts, *part_len;
    double *area, *box, *part_min, *part_max;
    uint8_t *id_kind, *typed, *complete, *keypoints;
    Py_ssize_t n_parts, cap_parts;
    PyObject **part_cols;  /* the bytes behind part_len, part_min, part_max (grown as parts come) */
    int fits, oom;
} Columns;

/* Room for twice as many parts; 0 when memory ran out. */
static int grow_parts(Columns *c) {
    Py_ssize_t cap = 2 * c->cap_parts + 64;
    for (int k = 0; k < 3; k++)
        if (_PyBytes_Resize(&c->part_cols[k], 8 * cap) != 0) return 0;
    c->part_len = (int64_t *)PyBytes_AS_STRING(c->part_cols[0]);
    c->part_min = (double *)PyBytes_AS_STRING(c->part_cols[1]);
    c->part_max = (double *)PyBytes_AS_STRING(c->part_cols[2]);
    c->cap_parts = cap;
    return 1;
}

/* A list of polygons into part_len, part_min and part_max (each part's length and extreme coordinates, 0
 * for an empty part): its number of parts, or -3 (nothing kept) when an item is not a list or a
 * coordinate not a TYPED number (or memory ran out: c->oom). */
static int64_t polygons(PyObject *segm, Columns *c) {
    Py_ssize_t parts = c->n_parts, n = PyList_GET_SIZE(segm);
    for (Py_ssize_t p = 0; p < n; p++) {
        PyObject *poly = PyList_GET_ITEM(segm, p);
        if (!PyList_CheckExact(poly)) goto untyped;
        if (c->n_parts >= c->cap_parts && !grow_parts(c)) {
            c->oom = 1;
            goto untyped;
        }
        Py_ssize_t m = PyList_GET_SIZE(poly);
        double lo = INFINITY, hi = -INFINITY, v;
        PyObject **items = ((PyListObject *)poly)->ob_item;
        for (Py_ssize_t j = 0; j < m; j++) {
            if (number(items[j], &v) != TYPED) goto untyped;
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
        c->part_len[c->n_parts] = m;
        c->part_min[c->n_parts] = m ? lo : 0.0;
        c->part_max[c->n_parts++] = m ? hi : 0.0;
    }
    return n;
untyped:
    c->n_parts = parts;
    return -3;
}

/* a[key], or NULL when absent; a lookup that raised (a key whose __eq__ fails) reads as absent and
 * marks the row (*raised), so that no call runs with an exception pending. */
static PyObject *get(PyObject *a, PyObject *key, int *raised) {
    PyObject *v = PyDict_GetItemWithError(a, key);
    if (!v && PyErr_Occurred()) {
        PyErr_Clear();
        *raised = 1;
    }
    return v;
}

static void one_row(PyObject *a, PyObject **keys, Columns *c, Py_ssize_t i, int with_polygons) {
    double *box = c->box + 4 * i;
    c->id[i] = c->image[i] = c->category[i] = c->crowd[i] = 0;
    c->area[i] = box[0] = box[1] = box[2] = box[3] = 0.0;
    c->id_kind[i] = c->typed[i] = c->complete[i] = c->keypoints[i] = 0;
    if (with_polygons) c->parts[i] = -1;
    if (!PyDict_CheckExact(a)) {
        c->fits = 0;
        return;
    }
    int raised = 0;
    int kind = int64_kind(get(a, keys[K_ID], &raised), &c->id[i]);
    c->id_kind[i] = (uint8_t)kind;
    int image = int64_kind(get(a, keys[K_IMAGE], &raised), &c->image[i]);
    int refs = int64_kind(get(a, keys[K_CATEGORY], &raised), &c->category[i]) == 1 && image == 1;
    int typed = kind == 1 && refs, fits = refs;
    PyObject *crowd = get(a, keys[K_CROWD], &raised), *area = get(a, keys[K_AREA], &raised);
    PyObject *bbox = get(a, keys[K_BBOX], &raised);
    if (!crowd) typed = 0;  /* missing: a warning (the evaluator reads it as 0) */
    else if (int64_kind(crowd, &c->crowd[i]) != 1) typed = fits = 0;
    int area_kind = area ? number(area, &c->area[i]) : NOT_NUMBER;
    typed &= area_kind == TYPED;
    int list = bbox && PyList_CheckExact(bbox), four = list && PyList_GET_SIZE(bbox) == 4;
    int complete = area && bbox && bbox != Py_None;
    if (four) {
        for (int k = 0; k < 4; k++) {
            int box_kind = number(PyList_GET_ITEM(bbox, k), box + k);
            typed &= box_kind == TYPED;
            if (complete && box_kind == NOT_NUMBER) fits = 0;
        }
        if (complete && area_kind == NOT_NUMBER) fits = 0;
    } else {
        typed = 0;
        if (complete && !list) fits = 0;
        complete = 0;
    }
    if (with_polygons) {
        PyObject *segm = get(a, keys[K_SEGM], &raised);
        int64_t parts = !segm ? -1 : PyDict_CheckExact(segm) ? -2 : PyList_CheckExact(segm) ? polygons(segm, c) : -3;
        typed &= parts != -3;
        c->parts[i] = parts;
    }
    c->keypoints[i] = get(a, keys[K_KEYPOINTS], &raised) != NULL;
    if (raised) typed = fits = 0;
    c->typed[i] = (uint8_t)typed;
    c->complete[i] = (uint8_t)complete;
    c->fits &= fits;
}

#define COL(k, T) ((T *)PyBytes_AS_STRING(out[k]))

/* annotation_columns(anns, polygons) -> (id, image_id, category_id, iscrowd, area, box, parts, part_len,
 * part_min, part_max, typed, id_kind, complete, keypoints, fits): bytes of int64 / float64 / uint8 columns
 * and a bool. parts: -1 without segmentation, -2 an object (an RLE), -3 any other or untyped value, else
 * the number of polygons; id_kind 0 not an int, 1 within int64, 2 a larger int. Without `polygons` the
 * parts and part columns are empty. */
PyObject *native_annotation_columns(PyObject *self, PyObject *args) {
    PyObject *anns;
    int with_polygons;
    if (!PyArg_ParseTuple(args, "O!p", &PyList_Type, &anns, &with_polygons)) return NULL;
    static const char *names[N_KEYS] = {"id", "image_id", "category_id", "iscrowd", "area", "bbox",
                                        "segmentation", "keypoints"};
    PyObject *keys[N_KEYS] = {0}, *out[N_COLS] = {0};
    Py_ssize_t n = PyList_GET_SIZE(anns);
    int ok = 1;
    for (int k = 0; k < N_KEYS && ok; k++) ok = (keys[k] = PyUnicode_InternFromString(names[k])) != NULL;
    Columns c = {0};
    c.cap_parts = with_polygons ? n : 0;  /* most annotations have one part */
    for (int k = 0; k < N_COLS && ok; k++) {
        Py_ssize_t rows = k == C_PART_LEN || k == C_PART_MIN || k == C_PART_MAX ? c.cap_parts
                          : k == C_PARTS && !with_polygons ? 0 : n;
        ok = (out[k] = PyBytes_FromStringAndSize(NULL, WIDTH[k] * rows)) != NULL;
    }
    if (ok) {
        c.id = COL(C_ID, int64_t), c.image = COL(C_IMAGE, int64_t), c.category = COL(C_CATEGORY, int64_t);
        c.crowd = COL(C_CROWD, int64_t), c.parts = COL(C_PARTS, int64_t), c.part_len = COL(C_PART_LEN, int64_t);
        c.area = COL(C_AREA, double), c.box = COL(C_BOX, double);
        c.part_min = COL(C_PART_MIN, double), c.part_max = COL(C_PART_MAX, double);
        c.id_kind = COL(C_ID_KIND, uint8_t), c.typed = COL(C_TYPED, uint8_t);
        c.complete = COL(C_COMPLETE, uint8_t), c.keypoints = COL(C_KEYPOINTS, uint8_t);
        c.fits = 1;
        c.part_cols = out + C_PART_LEN;
        for (Py_ssize_t i = 0; i < n && !c.oom; i++) one_row(PyList_GET_ITEM(anns, i), keys, &c, i, with_polygons);
        ok = !c.oom;
        for (int k = C_PART_LEN; k <= C_PART_MAX && ok; k++) ok = _PyBytes_Resize(&out[k], 8 * c.n_parts) == 0;
    }
    for (int k = 0; k < N_KEYS; k++) Py_XDECREF(keys[k]);
    if (!ok) {
        for (int k = 0; k < N_COLS; k++) Py_XDECREF(out[k]);
        return NULL;
    }
    PyObject *result = PyTuple_New(N_COLS + 1);
    if (!result) {
        for (int k = 0; k < N_COLS; k++) Py_DECREF(out[k]);
        return NULL;
    }
    for (int k = 0; k < N_COLS; k++) PyTuple_SET_ITEM(result, k, out[k]);
    PyTuple_SET_ITEM(result, N_COLS, PyBool_FromLong(c.fits));
    return result;
}
