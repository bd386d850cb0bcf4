/* The evaluator's GT columns in C: image_id, category_id, bbox, area and iscrowd of every parsed
 * annotation in one pass (cocoseg/eval/tables.py `build_gt_table` reads them one dict at a time
 * otherwise). Rows lacking `area` or a 4-number `bbox` are flagged for the Python completion;
 * anything else unexpected returns None and the caller takes the Python path. */
#include "native.h"

static int as_double(PyObject *o, double *v) {
    if (PyFloat_CheckExact(o)) { *v = PyFloat_AS_DOUBLE(o); return 1; }
    if (!PyLong_CheckExact(o)) return 0;
    *v = PyLong_AsDouble(o);
    if (*v == -1.0 && PyErr_Occurred()) { PyErr_Clear(); return 0; }
    return 1;
}

static int as_int64(PyObject *o, int64_t *v) {
    if (!o || !PyLong_CheckExact(o)) return 0;
    int overflow = 0;
    long long x = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (overflow || (x == -1 && PyErr_Occurred())) { PyErr_Clear(); return 0; }
    *v = x;
    return 1;
}

/* One annotation into the columns; 0 when the caller must take the Python path. */
static int one_row(PyObject *a, PyObject **keys, int64_t *img, int64_t *cat, double *box, double *area, uint8_t *crowd,
                   uint8_t *complete) {
    if (!PyDict_CheckExact(a) || !as_int64(PyDict_GetItemWithError(a, keys[0]), img)
        || !as_int64(PyDict_GetItemWithError(a, keys[1]), cat))
        return 0;
    PyObject *c = PyDict_GetItemWithError(a, keys[4]);
    int64_t cv = 0;
    if (c && !as_int64(c, &cv)) return 0;
    *crowd = cv != 0;
    PyObject *b = PyDict_GetItemWithError(a, keys[2]), *ar = PyDict_GetItemWithError(a, keys[3]);
    *complete = ar != NULL && b != NULL && b != Py_None;
    if (!*complete) return !PyErr_Occurred();
    if (!PyList_CheckExact(b) || PyList_GET_SIZE(b) != 4) { *complete = 0; return PyList_CheckExact(b); }
    for (int k = 0; k < 4; k++)
        if (!as_double(PyList_GET_ITEM(b, k), box + k)) return 0;
    return as_double(ar, area);
}

/* gt_columns(anns) -> (image_id, category_id, boxes, areas, iscrowd, complete) as bytes, or None. */
PyObject *native_gt_columns(PyObject *self, PyObject *args) {
    PyObject *anns;
    if (!PyArg_ParseTuple(args, "O!", &PyList_Type, &anns)) return NULL;
    Py_ssize_t n = PyList_GET_SIZE(anns);
    static const char *names[5] = {"image_id", "category_id", "bbox", "area", "iscrowd"};
    PyObject *keys[5] = {0}, *out[6] = {0};
    Py_ssize_t widths[6] = {8, 8, 32, 8, 1, 1};
    int ok = 1;
    for (int k = 0; k < 5 && ok; k++) ok = (keys[k] = PyUnicode_InternFromString(names[k])) != NULL;
    for (int k = 0; k < 6 && ok; k++) ok = (out[k] = PyBytes_FromStringAndSize(NULL, widths[k] * n)) != NULL;
    int fits = 1;
    if (ok) {
        int64_t *img = (int64_t *)PyBytes_AS_STRING(out[0]), *cat = (int64_t *)PyBytes_AS_STRING(out[1]);
        double *box = (double *)PyBytes_AS_STRING(out[2]), *area = (double *)PyBytes_AS_STRING(out[3]);
        uint8_t *crowd = (uint8_t *)PyBytes_AS_STRING(out[4]), *complete = (uint8_t *)PyBytes_AS_STRING(out[5]);
        for (Py_ssize_t i = 0; i < n && fits; i++) {
            box[4 * i] = box[4 * i + 1] = box[4 * i + 2] = box[4 * i + 3] = area[i] = 0.0;
            fits = one_row(PyList_GET_ITEM(anns, i), keys, img + i, cat + i, box + 4 * i, area + i, crowd + i,
                           complete + i);
        }
        PyErr_Clear();
    }
    for (int k = 0; k < 5; k++) Py_XDECREF(keys[k]);
    if (!ok || !fits) {
        for (int k = 0; k < 6; k++) Py_XDECREF(out[k]);
        if (!ok) return NULL;
        Py_RETURN_NONE;
    }
    return Py_BuildValue("(NNNNNN)", out[0], out[1], out[2], out[3], out[4], out[5]);
}
