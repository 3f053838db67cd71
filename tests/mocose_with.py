"""``python tests/mocose_with.py MODULE FUNCTIONS ARGS...``: the mocose command over test module
MODULE's registry (its ``REGISTRY``) and the job functions named by its attribute FUNCTIONS (``-``:
the suite's own), the way a user's own script passes its registry to ``mocose.cli.main``."""
import importlib
import sys

from mocose.cli import main

if __name__ == "__main__":
    module = importlib.import_module(sys.argv[1])
    functions = None if sys.argv[2] == "-" else getattr(module, sys.argv[2])
    sys.exit(main(sys.argv[3:], registry=module.REGISTRY, functions=functions))
