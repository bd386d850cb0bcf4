/* The module table of cocoseg._native. */
#include "native.h"

static PyMethodDef methods[] = {
    {"bbox_iou_cells", native_bbox_iou_cells, METH_VARARGS, "Box IoU of every evaluation cell."},
    {"match_cells", native_match_cells, METH_VARARGS, "Greedy matching of a range of cells."},
    {"accumulate_sorted", native_accumulate_sorted, METH_VARARGS, "Precision/recall of a range of categories."},
    {"match_codes", native_match_codes, METH_VARARGS, "TP/FP/ignored codes in accumulation order."},
    {"rle_stats", native_rle_stats, METH_VARARGS, "Areas, boxes and validity of packed RLEs."},
    {"gather", native_gather, METH_VARARGS, "Copy the counts of packed RLE rows."},
    {"segm_iou_cells", native_segm_iou_cells, METH_VARARGS, "Mask IoU of a range of cells."},
    {"scan_results", native_scan_results, METH_VARARGS, "Scan a COCO results JSON into columns."},
    {"count_byte", native_count_byte, METH_VARARGS, "How many times a byte occurs in a buffer."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_native", "cocoseg's compiled core.", -1, methods};

PyMODINIT_FUNC PyInit__native(void) { return PyModule_Create(&module); }
