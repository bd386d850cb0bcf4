/* The module table of cocoseg._native. */
#include "native.h"

static PyMethodDef methods[] = {
    {"bbox_iou_cells", native_bbox_iou_cells, METH_VARARGS, "Box IoU of every evaluation cell."},
    {"match_cells", native_match_cells, METH_VARARGS, "Greedy matching of a range of cells."},
    {"match_boxes", native_match_boxes, METH_VARARGS, "Box IoU and greedy matching of a range of cells."},
    {"accumulate_groups", native_accumulate_groups, METH_VARARGS, "Precision/recall of a range of categories."},
    {"group_detections", native_group_detections, METH_VARARGS, "Detections in cell and rank order, cut per cell."},
    {"cells", native_cells, METH_VARARGS, "Cell ranges of sorted GT and detection keys."},
    {"gather", native_gather, METH_VARARGS, "Copy the counts of packed RLE rows."},
    {"segm_iou_cells", native_segm_iou_cells, METH_VARARGS, "Mask IoU of a range of cells."},
    {"scan_results", native_scan_results, METH_VARARGS, "Scan a COCO results JSON into columns."},
    {"scan_results_fd", native_scan_results_fd, METH_VARARGS, "Scan a COCO results JSON file through a window."},
    {"polygons_to_rles", native_polygons_to_rles, METH_VARARGS, "Compressed RLEs of polygon segmentations."},
    {"polygon_columns", native_polygon_columns, METH_VARARGS, "Flat coordinates of polygon segmentations."},
    {"annotation_columns", native_annotation_columns, METH_VARARGS, "Typed columns of parsed GT annotations."},
    {"rle_stats", native_rle_stats, METH_VARARGS, "Areas, boxes and validity of packed RLEs."},
    {"count_byte", native_count_byte, METH_VARARGS, "How many times a byte occurs in a buffer."},
    {"scan_gt", native_scan_gt, METH_VARARGS, "Scan a COCO GT JSON into the evaluator's columns."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_native", "cocoseg's compiled core.", -1, methods};

PyMODINIT_FUNC PyInit__native(void) { return PyModule_Create(&module); }
