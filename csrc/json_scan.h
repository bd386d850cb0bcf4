/* The JSON tokens both scanners read (csrc/scan.c: results files, csrc/gt_scan.c: COCO GT files):
 * whitespace, strings, numbers (correctly rounded), literals, keys and skipped values, each validating
 * the grammar of what it reads. Every function returns the index after what it read, or -1. */
#ifndef COCOSEG_JSON_SCAN_H
#define COCOSEG_JSON_SCAN_H
#include "native.h"
#define MAX_TOKEN 32
#define MAX_DEPTH 64

typedef struct {
    const uint8_t *b;
    Py_ssize_t n;
} Doc;

static inline Py_ssize_t ws(const Doc *d, Py_ssize_t i) {
    while (i < d->n && (d->b[i] == ' ' || d->b[i] == '\n' || d->b[i] == '\r' || d->b[i] == '\t')) i++;
    return i;
}

static inline int hexd(uint8_t h) { return (h >= '0' && h <= '9') || (h >= 'A' && h <= 'F') || (h >= 'a' && h <= 'f'); }

static inline Py_ssize_t string_end(const Doc *d, Py_ssize_t i) {
    i++;
    while (i < d->n) {
        uint8_t c = d->b[i];
        if (c == '"') return i + 1;
        if (c < 32) return -1;
        if (c == '\\') {
            if (i + 1 >= d->n) return -1;
            uint8_t e = d->b[i + 1];
            if (e == 'u') {
                if (i + 5 >= d->n) return -1;
                for (Py_ssize_t j = i + 2; j < i + 6; j++) if (!hexd(d->b[j])) return -1;
                i += 6;
                continue;
            }
            if (!strchr("\"\\/bfnrt", e) || e == 0) return -1;
            i += 2;
            continue;
        }
        i++;
    }
    return -1;
}

static const double POW10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* A JSON number at i: end (-1 invalid); *value; *exact_int: 1 an integer below 2**53 with <= 18 digits,
 * 2 another integer token, 0 a fraction or exponent.
 * A mantissa below 2**53 with a power of ten up to 22 is one correctly rounded IEEE operation (Clinger's
 * fast path, as the numba scanner's); other numbers go through strtod, which rounds correctly too. */
static inline Py_ssize_t number(const Doc *d, Py_ssize_t i, double *value, int *exact_int) {
    Py_ssize_t start = i, n = d->n;
    const uint8_t *b = d->b;
    int digits = 0, frac = 0, is_int = 1, neg = 0, exp = 0, exp_neg = 0;
    uint64_t mant = 0;
    if (i < n && b[i] == '-') { neg = 1; i++; }
    if (i >= n || b[i] < '0' || b[i] > '9') return -1;
    if (b[i] == '0') {
        i++;
        if (i < n && b[i] >= '0' && b[i] <= '9') return -1;
    } else {
        while (i < n && b[i] >= '0' && b[i] <= '9') {
            if (digits < 19) mant = mant * 10 + (b[i] - '0');
            digits++;
            i++;
        }
    }
    int int_digits = digits;
    if (i < n && b[i] == '.') {
        is_int = 0;
        i++;
        if (i >= n || b[i] < '0' || b[i] > '9') return -1;
        while (i < n && b[i] >= '0' && b[i] <= '9') {
            if (digits < 19) mant = mant * 10 + (b[i] - '0');
            if (digits || b[i] != '0') digits++;  /* leading zeros of 0.0x add nothing to the mantissa */
            frac++;
            i++;
        }
    }
    if (i < n && (b[i] == 'e' || b[i] == 'E')) {
        is_int = 0;
        i++;
        if (i < n && (b[i] == '+' || b[i] == '-')) exp_neg = b[i++] == '-';
        if (i >= n || b[i] < '0' || b[i] > '9') return -1;
        while (i < n && b[i] >= '0' && b[i] <= '9') {
            if (exp < 100000) exp = exp * 10 + (b[i] - '0');
            i++;
        }
    }
    if (i - start > MAX_TOKEN) return -1;
    *exact_int = is_int && int_digits <= 18 && mant < 9007199254740992ULL ? 1 : is_int ? 2 : 0;
    int e10 = (exp_neg ? -exp : exp) - frac;
    if (digits <= 19 && mant <= 9007199254740992ULL && e10 >= -22 && e10 <= 22) {
        double v = (double)mant;
        v = e10 >= 0 ? v * POW10[e10] : v / POW10[-e10];
        *value = neg ? -v : v;
        return i;
    }
    char tok[MAX_TOKEN + 1];
    memcpy(tok, b + start, i - start);
    tok[i - start] = 0;
    char *end;
    *value = strtod(tok, &end);
    if (end != tok + (i - start)) return -1; /* a locale with another decimal point: let the fallback read it */
    return i;
}

static inline Py_ssize_t literal_end(const Doc *d, Py_ssize_t i) {
    const char *w = d->b[i] == 't' ? "true" : d->b[i] == 'f' ? "false" : "null";
    Py_ssize_t k = (Py_ssize_t)strlen(w);
    if (i + k > d->n || memcmp(d->b + i, w, k)) return -1;
    return i + k;
}

static inline Py_ssize_t key_end(const Doc *d, Py_ssize_t i) {
    if (i >= d->n || d->b[i] != '"') return -1;
    i = string_end(d, i);
    if (i < 0) return -1;
    i = ws(d, i);
    if (i >= d->n || d->b[i] != ':') return -1;
    return i + 1;
}

static inline Py_ssize_t skip_value(const Doc *d, Py_ssize_t i) {
    uint8_t stack[MAX_DEPTH];
    int depth = 0;
    double v;
    int e;
    for (;;) {
        i = ws(d, i);
        if (i >= d->n) return -1;
        uint8_t c = d->b[i];
        if (c == '{' || c == '[') {
            if (depth >= MAX_DEPTH) return -1;
            stack[depth++] = c == '{' ? 2 : 1;
            i = ws(d, i + 1);
            if (i < d->n && ((c == '{' && d->b[i] == '}') || (c == '[' && d->b[i] == ']'))) {
                depth--;
                i++;
            } else if (c == '{') {
                i = key_end(d, i);
                if (i < 0) return -1;
                continue;
            } else {
                continue;
            }
        } else if (c == '"') {
            i = string_end(d, i);
        } else if (c == 't' || c == 'f' || c == 'n') {
            i = literal_end(d, i);
        } else {
            i = number(d, i, &v, &e);
        }
        if (i < 0) return -1;
        for (;;) {
            if (depth == 0) return i;
            i = ws(d, i);
            if (i >= d->n) return -1;
            c = d->b[i];
            if (c == ',') {
                i++;
                if (stack[depth - 1] == 2) {
                    i = key_end(d, ws(d, i));
                    if (i < 0) return -1;
                }
                break;
            }
            if ((c == ']' && stack[depth - 1] == 1) || (c == '}' && stack[depth - 1] == 2)) {
                depth--;
                i++;
                continue;
            }
            return -1;
        }
    }
}

/* After a member: 1 on ',', 0 on `close`, -1 otherwise; *i moves past it. */
static inline int after_member(const Doc *d, Py_ssize_t *i, uint8_t close) {
    Py_ssize_t j = ws(d, *i);
    if (j < d->n && d->b[j] == ',') { *i = ws(d, j + 1); return 1; }
    if (j < d->n && d->b[j] == close) { *i = j + 1; return 0; }
    return -1;
}

/* The code of the object key at *i: its position in keys[0..n) (-1 unknown, -2 invalid or escaped); *i
 * moves after the ':' and spaces. Escaped keys are refused: the caller's fallback parser reads them. */
static inline int json_key(const Doc *d, Py_ssize_t *i, const char *const *keys, int n) {
    Py_ssize_t s = *i;
    if (s >= d->n || d->b[s] != '"') return -2;
    Py_ssize_t e = string_end(d, s);
    if (e < 0) return -2;
    for (Py_ssize_t j = s + 1; j < e - 1; j++) if (d->b[j] == '\\') return -2;
    int code = -1;
    for (int k = 0; k < n; k++) {
        Py_ssize_t len = (Py_ssize_t)strlen(keys[k]);
        if (len == e - 1 - (s + 1) && !memcmp(d->b + s + 1, keys[k], len)) { code = k; break; }
    }
    Py_ssize_t j = ws(d, e);
    if (j >= d->n || d->b[j] != ':') return -2;
    *i = ws(d, j + 1);
    return code;
}
/* The next index >= i that looks like a record's start: '{' after '}' ',' (spaces between); n when none. */
static inline Py_ssize_t record_start(const Doc *d, Py_ssize_t i) {
    for (; i < d->n; i++) {
        if (d->b[i] != '}') continue;
        Py_ssize_t j = ws(d, i + 1);
        if (j >= d->n || d->b[j] != ',') continue;
        j = ws(d, j + 1);
        if (j < d->n && d->b[j] == '{') return j;
    }
    return d->n;
}

#endif
