"""The ``mocose`` command. Each command module offers ``register(subparsers)``; this file only
gathers them, so a reader finds a command beside the code it drives."""
from __future__ import annotations

import argparse
import importlib
import sys
from typing import Any

# Modules that add subcommands (each defines register(subparsers) and sets func on its parsers).
COMMAND_MODULES = (
    "mocose.training.commands",    # train
    "mocose.evaluation.commands",  # eval, analyze
    "mocose.evaluation.calibrate",  # calibrate
    "mocose.download",             # data download
    "mocose.reproduce.commands",   # list, reproduce
    "mocose.reproduce.sweep_command",  # sweep
    "mocose.reproduce.status",     # status
    "mocose.reproduce.compare",    # compare
    "mocose.report.commands",      # report, claims, seeds
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mocose",
        description="Train, evaluate and reproduce the ablation studies of MoCoSE (ACL Findings 2022).")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None, registry: Any = None, functions: Any = None) -> int:
    """Run the ``mocose`` command on ``argv``; its exit status. ``registry``: the artifacts the
    commands name (an ``ablations.Registry``; default: the paper's); ``functions``: what the job
    processes of a reproduction call (a ``mocose.runner.JobFunctions``; default: the suite's)."""
    from .config import ConfigError
    from .data import DataError
    from .model.encoders import EncoderUnavailable

    args = build_parser().parse_args(argv)
    args.registry, args.functions = registry, functions
    try:
        return int(args.func(args) or 0)
    except (ConfigError, DataError, EncoderUnavailable) as err:
        print(f"mocose: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mocose: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
