"""Runs the binding's tests (unittest discovery over python/tests) and fails when no test
ran at all, so a broken discovery can never pass CI as "0 tests, OK". Prints unittest's
"Ran N tests" line and the skipped tests with their reasons (GPU tests skip visibly)."""

import sys
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main():
    suite = unittest.defaultTestLoader.discover(str(HERE), top_level_dir=str(HERE.parent))
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    if result.testsRun == 0:
        print("seam python tests: no tests ran (discovery failed?)", file=sys.stderr)
        return 1
    print(f"seam python tests: ran {result.testsRun}, skipped {len(result.skipped)}, "
          f"failures {len(result.failures)}, errors {len(result.errors)}")
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
