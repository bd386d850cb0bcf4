/* A sort on (p, s, q, r, row) keys, s a double sorted as numpy does (NaN last); row makes keys unique,
 * so the order is that of a stable numpy sort on (p, s, q, r) over rows in `row` order. */
#ifndef COCOSEG_SORTKEYS_H
#define COCOSEG_SORTKEYS_H
#include <stdint.h>
#include <string.h>

typedef struct {
    int64_t p;
    double s;
    int64_t q, r, row;
} sort_key;

static inline int key_less(const sort_key *a, const sort_key *b) {
    if (a->p != b->p) return a->p < b->p;
    if (a->s < b->s) return 1;
    if (a->s > b->s) return 0;
    int na = a->s != a->s, nb = b->s != b->s;
    if (na != nb) return nb;
    if (a->q != b->q) return a->q < b->q;
    if (a->r != b->r) return a->r < b->r;
    return a->row < b->row;
}

/* `static inline void NAME(TYPE *a, TYPE *tmp, int64_t n)`: a merge sort of a[0..n) by LESS (tmp holds n/2 + 1
 * keys), insertion sort on short runs; one definition for every key type that needs it. */
#define DEFINE_MERGE_SORT(NAME, TYPE, LESS)                                                         \
    static inline void NAME(TYPE *a, TYPE *tmp, int64_t n) {                                            \
        if (n <= 16) {                                                                              \
            for (int64_t i = 1; i < n; i++) {                                                       \
                TYPE k = a[i];                                                                      \
                int64_t j = i;                                                                      \
                for (; j > 0 && LESS(&k, &a[j - 1]); j--) a[j] = a[j - 1];                          \
                a[j] = k;                                                                           \
            }                                                                                       \
            return;                                                                                 \
        }                                                                                           \
        int64_t h = n / 2, i = 0, j = h, o = 0;                                                     \
        NAME(a, tmp, h);                                                                            \
        NAME(a + h, tmp, n - h);                                                                    \
        if (!LESS(&a[h], &a[h - 1])) return;                                                        \
        memcpy(tmp, a, sizeof(TYPE) * h);                                                           \
        while (i < h && j < n) a[o++] = LESS(&a[j], &tmp[i]) ? a[j++] : tmp[i++];                   \
        while (i < h) a[o++] = tmp[i++];                                                            \
    }

DEFINE_MERGE_SORT(sort_keys, sort_key, key_less)
#endif
