"""The `ligandml` command line: parses arguments and calls the library, nothing else.

Each group of subcommands lives in ligandml/commands/<name>.py with two functions,
add_parser(subparsers) and run(args); this module only collects them.
"""
from __future__ import annotations

import argparse
import importlib
import sys

#: modules under ligandml.commands, each adding one or more subcommands
COMMAND_MODULES = ("physics", "backend", "dataset", "model", "compare")


def _load_command_modules():
    mods = []
    for name in COMMAND_MODULES:
        try:
            mods.append(importlib.import_module(f"ligandml.commands.{name}"))
        except ModuleNotFoundError as exc:
            if exc.name != f"ligandml.commands.{name}":
                raise
    return mods


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every available subcommand."""
    parser = argparse.ArgumentParser(
        prog="ligandml",
        description="Ligand-field parameters of lanthanide single-molecule magnets from powder chi(T).")
    from . import __version__

    parser.add_argument("--version", action="version", version=f"ligandml {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for mod in _load_command_modules():
        mod.add_parser(sub)
    return parser


def main(argv=None) -> int:
    """Entry point of the console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError, RuntimeError) as exc:
        print(f"ligandml {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
