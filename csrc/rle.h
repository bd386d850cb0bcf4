/* The box arithmetic of maskApi `rleToBbox` (pycocotools 2.0.11) shared by the RLE measure (csrc/rle.c)
 * and the mask IoU (csrc/rle_iou.c). */
#ifndef COCOSEG_RLE_H
#define COCOSEG_RLE_H
#include "native.h"

/* (t / h, t % h) for 0 <= t < 2**32 by one multiplication: the float quotient is off by at most one. */
static inline void divmod_fast(int64_t t, int64_t h, double inv_h, int64_t *q, int64_t *r) {
    int64_t a = (int64_t)((double)t * inv_h), b = t - a * h;
    if (b < 0) { a--; b += h; } else if (b >= h) { a++; b -= h; }
    *q = a;
    *r = b;
}

typedef struct { int64_t xs, ys, xe, ye; } Extent;

/* `rleToBbox`'s step: the extent grown by the foreground run of pixels [start, cc) (h > 0). */
static inline void grow_box(Extent *e, int64_t start, int64_t cc, int64_t h, double inv_h) {
    int64_t x_start, y_start, x_end, y_end;
    divmod_fast(start, h, inv_h, &x_start, &y_start);
    divmod_fast((cc - 1) & 0xFFFFFFFF, h, inv_h, &x_end, &y_end);
    e->xs = x_start < e->xs ? x_start : e->xs;
    e->xe = x_end > e->xe ? x_end : e->xe;
    if (x_start < x_end) { e->ys = 0; e->ye = h - 1; }
    else { e->ys = y_start < e->ys ? y_start : e->ys; e->ye = y_end > e->ye ? y_end : e->ye; }
}

static inline void box_of_extent(const Extent *e, double *box) {
    box[0] = (double)e->xs; box[1] = (double)e->ys;
    box[2] = (double)((e->xe - e->xs + 1) & 0xFFFFFFFF); box[3] = (double)((e->ye - e->ys + 1) & 0xFFFFFFFF);
}
#endif
