"""The curation layer (audit, suites, compare, challenge, exports) imports and runs without torch."""
from __future__ import annotations

import subprocess
import sys


def test_curate_does_not_import_torch() -> None:
    code = (
        "import sys\n"
        "sys.modules['torch'] = None\n"
        "import cocoseg.curate.audit, cocoseg.curate.audit_report, cocoseg.curate.suite, cocoseg.curate.suite_run\n"
        "import cocoseg.curate.compare, cocoseg.curate.challenge, cocoseg.curate.exports, cocoseg.curate.exports_ids\n"
        "import cocoseg.cli.audit, cocoseg.cli.compare, cocoseg.cli.challenge, cocoseg.cli.merge, cocoseg.cli.prelabels\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
