/* cocoseg._native: the compiled core (optional; cocoseg falls back to numba without it). */
#ifndef COCOSEG_NATIVE_H
#define COCOSEG_NATIVE_H
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define RELEASE(b, n) do { for (int _i = 0; _i < (n); _i++) PyBuffer_Release(&(b)[_i]); } while (0)

PyObject *native_bbox_iou_cells(PyObject *self, PyObject *args);
PyObject *native_match_cells(PyObject *self, PyObject *args);
PyObject *native_match_boxes(PyObject *self, PyObject *args);
PyObject *native_accumulate_groups(PyObject *self, PyObject *args);
PyObject *native_group_detections(PyObject *self, PyObject *args);
PyObject *native_cells(PyObject *self, PyObject *args);
PyObject *native_gather(PyObject *self, PyObject *args);
PyObject *native_segm_iou_cells(PyObject *self, PyObject *args);
PyObject *native_scan_results(PyObject *self, PyObject *args);
PyObject *native_scan_results_fd(PyObject *self, PyObject *args);
PyObject *native_polygons_to_rles(PyObject *self, PyObject *args);
PyObject *native_polygon_columns(PyObject *self, PyObject *args);
PyObject *native_annotation_columns(PyObject *self, PyObject *args);
PyObject *native_rle_stats(PyObject *self, PyObject *args);
PyObject *native_count_byte(PyObject *self, PyObject *args);
PyObject *native_scan_gt(PyObject *self, PyObject *args);
#endif
