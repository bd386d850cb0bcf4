"""Build of cocoseg's optional compiled core (`cocoseg._native`); everything else is in pyproject.toml.

`optional=True`: without a C compiler the install still succeeds and cocoseg runs on its numba
fallback (slower to start). CFLAGS with -O2 and no -ffast-math: the loops must keep IEEE order.
"""
from setuptools import Extension, setup

setup(ext_modules=[Extension(
    "cocoseg._native",
    sources=["csrc/module.c", "csrc/kernels.c", "csrc/accumulate.c", "csrc/group.c", "csrc/rle.c", "csrc/rle_iou.c",
             "csrc/scan.c", "csrc/scan_file.c", "csrc/poly.c", "csrc/gt_columns.c",
             "csrc/gt_scan.c"],
    depends=["csrc/native.h", "csrc/sortkeys.h", "csrc/json_scan.h", "csrc/scan.h", "csrc/parallel.h",
             "csrc/codes.h", "csrc/rle.h"],
    extra_compile_args=["-O2", "-fno-fast-math", "-ffp-contract=off", "-std=c99"],
    optional=True,
)])
