/* The results-file scanner in C: a JSON list of {image_id, category_id, score, bbox | segmentation}
 * records straight into columns, validating the JSON grammar of everything it reads or skips.
 * The same rules as cocoseg/io/results_json.py (numba, the fallback): any other layout returns -1
 * and the caller uses the standard parser. Numbers: strtod on the validated token (correctly
 * rounded, as the numba path's exact fast path and numpy's conversion are). */
#include "native.h"

#define MAX_TOKEN 32
#define MAX_DEPTH 64
enum { F_IMAGE = 1, F_CAT = 2, F_SCORE = 4, F_BOX = 8, F_EMPTY_BOX = 16, F_SEGM = 32 };

typedef struct {
    const uint8_t *b;
    Py_ssize_t n;
} Doc;

static Py_ssize_t ws(const Doc *d, Py_ssize_t i) {
    while (i < d->n && (d->b[i] == ' ' || d->b[i] == '\n' || d->b[i] == '\r' || d->b[i] == '\t')) i++;
    return i;
}

static int hexd(uint8_t h) { return (h >= '0' && h <= '9') || (h >= 'A' && h <= 'F') || (h >= 'a' && h <= 'f'); }

static Py_ssize_t string_end(const Doc *d, Py_ssize_t i) {
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

/* A JSON number at i: end (-1 invalid); *is_int; *value (strtod); *exact_int: an integer below 2**53 with <= 18 digits. */
static Py_ssize_t number(const Doc *d, Py_ssize_t i, double *value, int *is_int, int *exact_int) {
    Py_ssize_t start = i, n = d->n;
    const uint8_t *b = d->b;
    int digits = 0;
    uint64_t mant = 0;
    if (i < n && b[i] == '-') i++;
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
    *is_int = 1;
    if (i < n && b[i] == '.') {
        *is_int = 0;
        i++;
        if (i >= n || b[i] < '0' || b[i] > '9') return -1;
        while (i < n && b[i] >= '0' && b[i] <= '9') i++;
    }
    if (i < n && (b[i] == 'e' || b[i] == 'E')) {
        *is_int = 0;
        i++;
        if (i < n && (b[i] == '+' || b[i] == '-')) i++;
        if (i >= n || b[i] < '0' || b[i] > '9') return -1;
        while (i < n && b[i] >= '0' && b[i] <= '9') i++;
    }
    if (i - start > MAX_TOKEN) return -1;
    *exact_int = *is_int && digits <= 18 && mant < 9007199254740992ULL;
    char tok[MAX_TOKEN + 1];
    memcpy(tok, b + start, i - start);
    tok[i - start] = 0;
    char *end;
    *value = strtod(tok, &end);
    if (end != tok + (i - start)) return -1; /* a locale with another decimal point: let the fallback read it */
    return i;
}

static Py_ssize_t literal_end(const Doc *d, Py_ssize_t i) {
    const char *w = d->b[i] == 't' ? "true" : d->b[i] == 'f' ? "false" : "null";
    Py_ssize_t k = (Py_ssize_t)strlen(w);
    if (i + k > d->n || memcmp(d->b + i, w, k)) return -1;
    return i + k;
}

static Py_ssize_t key_end(const Doc *d, Py_ssize_t i) {
    if (i >= d->n || d->b[i] != '"') return -1;
    i = string_end(d, i);
    if (i < 0) return -1;
    i = ws(d, i);
    if (i >= d->n || d->b[i] != ':') return -1;
    return i + 1;
}

static Py_ssize_t skip_value(const Doc *d, Py_ssize_t i) {
    uint8_t stack[MAX_DEPTH];
    int depth = 0;
    double v;
    int a, e;
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
            i = number(d, i, &v, &a, &e);
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

static const char *KEYS[] = {"image_id", "category_id", "score", "bbox", "segmentation", "keypoints", "size", "counts"};

/* The code of the object key at *i (-1 unknown, -2 invalid or escaped); *i moves after the ':' and spaces. */
static int key(const Doc *d, Py_ssize_t *i) {
    Py_ssize_t s = *i;
    if (s >= d->n || d->b[s] != '"') return -2;
    Py_ssize_t e = string_end(d, s);
    if (e < 0) return -2;
    for (Py_ssize_t j = s + 1; j < e - 1; j++) if (d->b[j] == '\\') return -2;
    int code = -1;
    for (int k = 0; k < 8; k++) {
        Py_ssize_t len = (Py_ssize_t)strlen(KEYS[k]);
        if (len == e - 1 - (s + 1) && !memcmp(d->b + s + 1, KEYS[k], len)) { code = k; break; }
    }
    Py_ssize_t j = ws(d, e);
    if (j >= d->n || d->b[j] != ':') return -2;
    *i = ws(d, j + 1);
    return code;
}

/* After a member: 1 on ',', 0 on `close`, -1 otherwise; *i moves past it. */
static int after_member(const Doc *d, Py_ssize_t *i, uint8_t close) {
    Py_ssize_t j = ws(d, *i);
    if (j < d->n && d->b[j] == ',') { *i = ws(d, j + 1); return 1; }
    if (j < d->n && d->b[j] == close) { *i = j + 1; return 0; }
    return -1;
}

static Py_ssize_t counts(const Doc *d, Py_ssize_t i, uint8_t *out, int64_t *pos) {
    if (i >= d->n || d->b[i] != '"') return -1;
    i++;
    while (i < d->n) {
        uint8_t c = d->b[i];
        if (c == '"') return i + 1;
        if (c < 32) return -1;
        if (c == '\\') {
            if (i + 1 < d->n && (d->b[i + 1] == '\\' || d->b[i + 1] == '/')) c = d->b[++i];
            else return -1;
        }
        out[(*pos)++] = c;
        i++;
    }
    return -1;
}

static Py_ssize_t segmentation(const Doc *d, Py_ssize_t i, int64_t *size, uint8_t *cnt_buf, int64_t *pos) {
    if (i >= d->n || d->b[i] != '{') return -1;
    i = ws(d, i + 1);
    int found = 0;
    int64_t start = *pos;
    for (;;) {
        int code = key(d, &i);
        if (code == -2) return -1;
        if (code == 6) {
            if (d->b[i] != '[') return -1;
            for (int k = 0; k < 2; k++) {
                double v;
                int is_int, exact;
                i = number(d, ws(d, i + 1), &v, &is_int, &exact);
                if (i < 0 || !exact) return -1;
                size[k] = (int64_t)v;
                i = ws(d, i);
                if (i >= d->n || d->b[i] != (k == 0 ? ',' : ']')) return -1;
            }
            i++;
            found |= 1;
        } else if (code == 7) {
            *pos = start;
            i = counts(d, i, cnt_buf, pos);
            if (i < 0) return -1;
            found |= 2;
        } else {
            i = skip_value(d, i);
            if (i < 0) return -1;
        }
        int more = after_member(d, &i, '}');
        if (more < 0) return -1;
        if (more == 0) break;
    }
    return found == 3 ? i : -1;
}

static Py_ssize_t scan(const Doc *d, Py_ssize_t cap, int64_t *ids, double *values, uint8_t *flags, int64_t *seg_size,
                       int64_t *cnt_off, uint8_t *cnt_buf) {
    Py_ssize_t row = 0, i = ws(d, 0);
    int64_t pos = 0;
    if (i >= d->n || d->b[i] != '[') return -1;
    i = ws(d, i + 1);
    if (i < d->n && d->b[i] == ']') return ws(d, i + 1) == d->n ? 0 : -1;
    for (;;) {
        if (row >= cap || i >= d->n || d->b[i] != '{') return -1;
        i = ws(d, i + 1);
        if (i < d->n && d->b[i] == '}') return -1;
        for (;;) {
            int code = key(d, &i), is_int, exact;
            double v;
            if (code == -2 || code == 5) return -1;
            if (code == 0 || code == 1) {
                i = number(d, i, &v, &is_int, &exact);
                if (i < 0 || !exact) return -1;
                ids[2 * row + code] = (int64_t)v;
                flags[row] |= code == 0 ? F_IMAGE : F_CAT;
            } else if (code == 2) {
                i = number(d, i, &values[5 * row], &is_int, &exact);
                flags[row] |= F_SCORE;
            } else if (code == 3) {
                if (i >= d->n || d->b[i] != '[') return -1;
                i = ws(d, i + 1);
                if (i < d->n && d->b[i] == ']') {
                    flags[row] |= F_EMPTY_BOX;
                    i++;
                } else {
                    for (int k = 0; k < 4; k++) {
                        i = number(d, i, &values[5 * row + 1 + k], &is_int, &exact);
                        if (i < 0) return -1;
                        i = ws(d, i);
                        if (i >= d->n || d->b[i] != (k < 3 ? ',' : ']')) return -1;
                        i = k < 3 ? ws(d, i + 1) : i + 1;
                    }
                    flags[row] |= F_BOX;
                }
            } else if (code == 4) {
                pos = cnt_off[row];
                i = segmentation(d, i, seg_size + 2 * row, cnt_buf, &pos);
                flags[row] |= F_SEGM;
            } else {
                i = skip_value(d, i);
            }
            if (i < 0) return -1;
            int more = after_member(d, &i, '}');
            if (more < 0) return -1;
            if (more == 0) break;
        }
        cnt_off[row + 1] = (flags[row] & F_SEGM) ? pos : cnt_off[row];
        row++;
        int more = after_member(d, &i, ']');
        if (more < 0) return -1;
        if (more == 0) break;
    }
    return ws(d, i) == d->n ? row : -1;
}

/* scan_results(buf, ids, values, flags, seg_size, cnt_off, cnt_buf) -> rows, or -1 */
PyObject *native_scan_results(PyObject *self, PyObject *args) {
    Py_buffer b[7];
    if (!PyArg_ParseTuple(args, "y*w*w*w*w*w*w*", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &b[6])) return NULL;
    Doc d = {b[0].buf, b[0].len};
    Py_ssize_t rows;
    Py_BEGIN_ALLOW_THREADS
    rows = scan(&d, b[3].len, b[1].buf, b[2].buf, b[3].buf, b[4].buf, b[5].buf, b[6].buf);
    Py_END_ALLOW_THREADS
    RELEASE(b, 7);
    return PyLong_FromSsize_t(rows);
}
