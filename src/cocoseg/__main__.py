"""`python -m cocoseg` (also what `torchrun -m cocoseg` runs)."""
import sys

from cocoseg.cli.main import main

sys.exit(main())
