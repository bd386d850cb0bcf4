/* The match codes of cocoseg's evaluation state (see the `cocoseg.eval` docstring), 1, 2 or 4 bytes wide.
 *
 * dt codes (D, A, T): 0 false positive, 1 ignored and unmatched, 2 * (j + 1) + ignored when the
 * detection matched the j-th GT of its cell; gt codes (G, A, T): 0 unmatched, r + 1 when matched by the
 * detection of rank r in its cell. Cell-local positions keep the codes small and let a state's rows be
 * concatenated or resampled by image without renumbering.
 */
#ifndef COCOSEG_CODES_H
#define COCOSEG_CODES_H
#include <stdint.h>

static inline uint32_t code_get(const void *p, int width, int64_t i) {
    return width == 1 ? ((const uint8_t *)p)[i] : width == 2 ? ((const uint16_t *)p)[i] : ((const uint32_t *)p)[i];
}

static inline void code_put(void *p, int width, int64_t i, uint32_t v) {
    if (width == 1) ((uint8_t *)p)[i] = (uint8_t)v;
    else if (width == 2) ((uint16_t *)p)[i] = (uint16_t)v;
    else ((uint32_t *)p)[i] = v;
}
#endif
