"""The entry of a job process: ``python -m mocose.runner job --config SPEC_JSON`` runs one spec,
``python -m mocose.runner worker`` runs the specs read from its input (what a sweep keeps per slot)."""
from __future__ import annotations

import argparse
import json
import sys

from .job import die_with_parent, run_job, serve


def cmd_job(args: argparse.Namespace) -> int:
    """Run one job spec in this process."""
    die_with_parent()
    return run_job(json.loads(args.config))


def cmd_worker(args: argparse.Namespace) -> int:
    """Run the job specs read from stdin until one fails."""
    die_with_parent()
    return serve()


def main(argv: list[str] | None = None) -> int:
    """``python -m mocose.runner {job,worker}``: what the sweep launches in its job processes."""
    parser = argparse.ArgumentParser(prog="python -m mocose.runner")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    p = sub.add_parser("job", help="run one job spec (launched by reproduce)")
    p.add_argument("--config", required=True, help="the job spec as JSON")
    p.set_defaults(func=cmd_job)
    p = sub.add_parser("worker", help="run job specs read from stdin, one a line (one a slot)")
    p.set_defaults(func=cmd_worker)
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
