/* The GT annotation screen of cocoseg/io/validate.py `_check_annotations` in C: the same tests on the
 * parsed records, so a clean file's annotations cost a few lookups each. It only ever passes what the
 * Python screen passes (anything it is unsure of, such as an int beyond 2**52, goes to the detailed
 * checks, which name the problem); keypoints are left to the Python screen. */
#include "native.h"

#define EXACT_INT_LIMIT 4503599627370496.0 /* 2**52: below it, int arithmetic in doubles is exact */

/* A JSON number (exact int or float, never bool) as a double; 0 when not one or an int too large. */
static int screen_number(PyObject *o, double *v) {
    if (PyFloat_CheckExact(o)) { *v = PyFloat_AS_DOUBLE(o); return 1; }
    if (!PyLong_CheckExact(o)) return 0;
    int overflow = 0;
    long long x = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (overflow || (x == -1 && PyErr_Occurred())) { PyErr_Clear(); return 0; }
    *v = (double)x;
    return fabs(*v) < EXACT_INT_LIMIT;
}

/* validate.py `_polygons_pass`: polygons of an even number >= 6 of finite numbers within [lo, hi]. */
static int polygons_pass(PyObject *segm, double side, double tolerance) {
    Py_ssize_t n = PyList_GET_SIZE(segm);
    if (n == 0) return 0;
    double lo = -tolerance * side, hi = (1 + tolerance) * side;
    for (Py_ssize_t p = 0; p < n; p++) {
        PyObject *poly = PyList_GET_ITEM(segm, p);
        if (!PyList_CheckExact(poly)) return 0;
        Py_ssize_t m = PyList_GET_SIZE(poly);
        if (m < 6 || (m & 1)) return 0;
        for (Py_ssize_t j = 0; j < m; j++) {
            double v;
            if (!screen_number(PyList_GET_ITEM(poly, j), &v) || !isfinite(v) || v < lo || v > hi) return 0;
        }
    }
    return 1;
}

static PyObject *get(PyObject *d, PyObject *key) { return PyDict_GetItemWithError(d, key); }

/* 1 when the annotation passes the screen (*keypoints set when it also has keypoints to screen). */
static int annotation_passes(PyObject *a, PyObject *sizes, PyObject *counts, PyObject **keys, double slack,
                             double tolerance, int *keypoints) {
    PyObject *aid = get(a, keys[0]), *iid = get(a, keys[1]), *cid = get(a, keys[2]);
    if (!aid || !iid || !cid || !PyLong_CheckExact(aid) || !PyLong_CheckExact(iid) || !PyLong_CheckExact(cid))
        return 0;
    int overflow = 0;
    long long id = PyLong_AsLongLongAndOverflow(aid, &overflow);
    if (overflow || id <= 0) return 0;  /* MAX_ID is 2**63 - 1: every positive long long */
    PyObject *size = get(sizes, iid);
    if (!size || !PyTuple_CheckExact(size) || PyTuple_GET_SIZE(size) != 2) return 0;
    int has_cat = PyDict_Contains(counts, cid);
    if (has_cat != 1) return 0;
    PyObject *crowd = get(a, keys[3]), *area = get(a, keys[4]), *bbox = get(a, keys[5]);
    if (!crowd || !PyLong_CheckExact(crowd)) return 0;
    long c = PyLong_AsLong(crowd);
    if (c == -1 && PyErr_Occurred()) return 0;
    if (c != 0 && c != 1) return 0;
    double av, width, height, b[4];
    if (!area || !screen_number(area, &av) || !isfinite(av) || !(av >= 0)) return 0;
    if (!screen_number(PyTuple_GET_ITEM(size, 0), &width) || !screen_number(PyTuple_GET_ITEM(size, 1), &height)
        || !PyLong_CheckExact(PyTuple_GET_ITEM(size, 0)) || !PyLong_CheckExact(PyTuple_GET_ITEM(size, 1)))
        return 0;
    if (!bbox || !PyList_CheckExact(bbox) || PyList_GET_SIZE(bbox) != 4) return 0;
    for (int k = 0; k < 4; k++)
        if (!screen_number(PyList_GET_ITEM(bbox, k), &b[k])) return 0;
    if (!(b[2] >= 0 && b[3] >= 0 && -b[0] <= slack && -b[1] <= slack && b[0] + b[2] - width <= slack
          && b[1] + b[3] - height <= slack))
        return 0;
    PyObject *segm = get(a, keys[6]);
    if (segm) {
        if (!PyList_CheckExact(segm)) return 0;  /* an RLE (checked in detail), null or a wrong type */
        if (!polygons_pass(segm, width < height ? width : height, tolerance)) return 0;
    }
    PyObject *kp = get(a, keys[7]);
    *keypoints = kp != NULL;
    return !PyErr_Occurred();
}

/* screen_annotations(anns, sizes, counts, slack, tolerance) -> (ids, recheck, keypoint_rows):
 * each annotation's int id or None, the rows for the detailed checks, the rows whose keypoints the
 * caller screens. */
PyObject *native_screen_annotations(PyObject *self, PyObject *args) {
    PyObject *anns, *sizes, *counts;
    double slack, tolerance;
    if (!PyArg_ParseTuple(args, "O!O!O!dd", &PyList_Type, &anns, &PyDict_Type, &sizes, &PyDict_Type, &counts, &slack,
                          &tolerance))
        return NULL;
    static const char *names[8] = {"id", "image_id", "category_id", "iscrowd", "area", "bbox", "segmentation",
                                   "keypoints"};
    PyObject *keys[8] = {0};
    Py_ssize_t n = PyList_GET_SIZE(anns);
    PyObject *ids = PyList_New(n), *recheck = PyList_New(0), *kps = PyList_New(0);
    int ok = ids && recheck && kps;
    for (int k = 0; k < 8 && ok; k++) ok = (keys[k] = PyUnicode_InternFromString(names[k])) != NULL;
    for (Py_ssize_t i = 0; i < n && ok; i++) {
        PyObject *a = PyList_GET_ITEM(anns, i), *aid = NULL;
        int pass = 0, keypoints = 0;
        if (PyDict_CheckExact(a)) {
            aid = get(a, keys[0]);
            pass = annotation_passes(a, sizes, counts, keys, slack, tolerance, &keypoints);
            PyErr_Clear();  /* a failed lookup or conversion: the detailed checks decide */
        }
        PyObject *shown = aid && PyLong_CheckExact(aid) ? aid : Py_None;
        Py_INCREF(shown);
        PyList_SET_ITEM(ids, i, shown);
        PyObject *list = !pass ? recheck : keypoints ? kps : NULL;
        if (list) {
            PyObject *row = PyLong_FromSsize_t(i);
            ok = row && PyList_Append(list, row) == 0;
            Py_XDECREF(row);
        }
    }
    for (int k = 0; k < 8; k++) Py_XDECREF(keys[k]);
    if (!ok) {
        Py_XDECREF(ids); Py_XDECREF(recheck); Py_XDECREF(kps);
        return NULL;
    }
    return Py_BuildValue("(NNN)", ids, recheck, kps);
}
