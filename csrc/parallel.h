/* Work split over POSIX threads inside one C call (the GIL is released by the caller). */
#ifndef COCOSEG_PARALLEL_H
#define COCOSEG_PARALLEL_H
#include <pthread.h>

#define MAX_THREADS 16

typedef void (*RangeFn)(void *ctx, Py_ssize_t r0, Py_ssize_t r1);

typedef struct {
    RangeFn fn;
    void *ctx;
    Py_ssize_t r0, r1;
} RangeJob;

static void *range_job(void *arg) {
    RangeJob *job = arg;
    job->fn(job->ctx, job->r0, job->r1);
    return NULL;
}

/* fn over rows [0, n) in `threads` ranges of about equal work, where the work before row r is
 * cum[r] - cum[0] (cum: n + 1 non-decreasing values, e.g. packed-RLE offsets). A range whose
 * thread cannot start runs on the calling thread. */
static void parallel_rows(RangeFn fn, void *ctx, Py_ssize_t n, const int64_t *cum, int threads) {
    if (threads > MAX_THREADS) threads = MAX_THREADS;
    if (threads < 2 || n < 2) { fn(ctx, 0, n); return; }
    RangeJob jobs[MAX_THREADS];
    pthread_t ids[MAX_THREADS];
    int started[MAX_THREADS] = {0};
    Py_ssize_t lo = 0;
    double total = (double)(cum[n] - cum[0]);
    for (int t = 0; t < threads; t++) {
        Py_ssize_t hi = n;
        if (t < threads - 1) {  /* first row whose work before it reaches (t + 1) / threads of the total */
            int64_t want = cum[0] + (int64_t)(total * (t + 1) / threads);
            Py_ssize_t a = lo, b = n;
            while (a < b) { Py_ssize_t m = a + (b - a) / 2; if (cum[m] < want) a = m + 1; else b = m; }
            hi = a;
        }
        jobs[t] = (RangeJob){fn, ctx, lo, hi};
        lo = hi;
    }
    for (int t = 1; t < threads; t++) started[t] = pthread_create(&ids[t], NULL, range_job, &jobs[t]) == 0;
    range_job(&jobs[0]);
    for (int t = 1; t < threads; t++) {
        if (started[t]) pthread_join(ids[t], NULL);
        else range_job(&jobs[t]);
    }
}
#endif
