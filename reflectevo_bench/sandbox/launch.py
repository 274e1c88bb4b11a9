"""Entry script inside the sandbox: put the runner's directory first on sys.path and start the worker.

A script is compiled on every start, a module is loaded from its cached byte code: keeping this file tiny
saves the compile time of ``runner.py`` on every fresh sandbox.
"""

import sys

sys.path.insert(0, sys.argv[0].rpartition("/")[0])
import runner  # noqa: E402

del sys.path[0]
runner.main(sys.argv)
