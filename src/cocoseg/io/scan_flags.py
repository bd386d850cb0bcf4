"""The field bits a results-file scanner sets per record (shared by the C and numba scanners)."""


class ScanFlag:
    """Bits of `ScannedColumns.flags`: the fields a record held."""

    IMAGE_ID, CATEGORY_ID, SCORE, BBOX, EMPTY_BBOX, SEGMENTATION = 1, 2, 4, 8, 16, 32
