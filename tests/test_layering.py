"""The numpy-only layers import and work without torch (pip install cocoseg has no torch)."""
from __future__ import annotations

import subprocess
import sys

NUMPY_ONLY = ["cocoseg", "cocoseg.masks", "cocoseg.io", "cocoseg.convert", "cocoseg.datasets", "cocoseg.eval", "cocoseg.synth",
              "cocoseg.cli.main"]


def test_numpy_layers_do_not_import_torch() -> None:
    code = (
        "import sys, importlib\n"
        "sys.modules['torch'] = None\n"  # any `import torch` now raises ImportError
        f"for name in {NUMPY_ONLY!r}:\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except ModuleNotFoundError as exc:\n"
        "        if exc.name != name: raise\n"
        "from cocoseg.cli.main import main\n"
        "assert main(['--help']) == 0\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
