/* What the results scanner's two files share (the JSON tokens are csrc/json_scan.h's): the columns it
 * fills, and the span scanner (csrc/scan.c) that the windowed file reader (csrc/scan_file.c) drives. */
#ifndef COCOSEG_SCAN_H
#define COCOSEG_SCAN_H
#include "json_scan.h"

/* The columns a scan fills (see cocoseg/io/results_json.py `_outputs`); counts may be written over the
 * bytes being read (in place): a string's characters land at or before where they were read. */
typedef struct {
    int64_t *image_ids, *category_ids;
    double *scores, *boxes;
    uint8_t *flags;
    int64_t *seg_size, *cnt_off;
    uint8_t *cnt_buf;
    Py_ssize_t cap, row;
    int64_t pos;       /* end of the current row's counts in cnt_buf */
    int found;         /* members of the current segmentation seen: size 1, counts 2 */
    int64_t row_start; /* where the current row's counts start in cnt_buf */
    Py_ssize_t stop;   /* > 0: stop before the first record starting at or after it */
} Out;

/* Records from i into o's rows and counts, until the list closes (stop 0) or the record at stop. */
Py_ssize_t scan_span(const Doc *d, Py_ssize_t i, Py_ssize_t stop, Out *o, int threads, int in_place);
/* The pages of o's columns past `rows` given back. */
void release_tails(Out *o, size_t rows);
#endif
