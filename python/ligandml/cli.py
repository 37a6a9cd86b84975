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


#: API spellings in library messages -> the CLI's own words
_CLI_WORDS = (
    (r"[A-Za-z_]+=[^\s,;)]+(?: with \w+)? \(CLI (--[^)]+)\)", r"\1"),  # "x=1 (CLI --x 1)" -> "--x 1"
    (r"\boverwrite=True\b", "--overwrite"),
    (r"\bdrop_invalid=True\b", "--drop-invalid"),
    (r"\baverage_repeats=True\b", "--average-repeats TOL"),
    (r"\bforce=True\b", "--force"),
    (r"\bions_per_formula=", "--ions-per-formula "),
    (r"\bions_per_formula\b", "--ions-per-formula"),
    (r"\bquantity='(\w+)'", r"--quantity \1"),
    (r"\bnoise_rel\b", "--noise-rel"),
    (r"\bsigma_dia\b(?!\))", "--sigma-dia"),
    (r"\bsigma=", "--sigma "),
    (r"\bn_samples\b", "--n-samples"),
    (r"\bgot None\b", "got nothing"),
)


def cli_words(message: str) -> str:
    """A library message in the CLI's words: `overwrite=True` -> `--overwrite`, and so on."""
    import re

    for pattern, repl in _CLI_WORDS:
        message = re.sub(pattern, repl, message)
    return message


def _one_line(text: str) -> str:
    lines = [ln.strip() for ln in str(text).splitlines() if ln.strip()]
    return " ".join(lines) if lines else ""


def error_line(exc: BaseException) -> tuple[str, int]:
    """(one-line message, exit status) for an exception that reached the CLI."""
    name = type(exc).__name__
    filename = getattr(exc, "filename", None)
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted", 130
    if isinstance(exc, UnicodeDecodeError):
        if exc.object[:2] in (b"\xff\xfe", b"\xfe\xff"):
            return "file is UTF-16; save as UTF-8", 2
        return f"the file is not UTF-8 text ({exc.reason} at byte {exc.start}); save as UTF-8", 2
    if isinstance(exc, IsADirectoryError):
        return f"{filename} is a directory; give a file", 2
    if isinstance(exc, NotADirectoryError):
        return f"{filename} is not a folder", 2
    if isinstance(exc, FileNotFoundError) and filename:
        return f"no such file or folder: {filename}", 2
    if isinstance(exc, FileExistsError):
        what = f"{filename} exists" if filename else _one_line(exc)
        return f"{what}; choose another path or pass --overwrite where the command has it", 2
    if isinstance(exc, PermissionError):
        return f"permission denied: {filename or _one_line(exc)}", 2
    if name == "SafetensorError":
        return f"the model weights cannot be read (damaged or not a safetensors file): {_one_line(exc)}", 2
    if isinstance(exc, KeyError):
        key = exc.args[0] if exc.args else "?"
        return f"missing entry {key!r} (the file lacks a field this command needs)", 2
    if isinstance(exc, (ValueError, FileNotFoundError, RuntimeError, TypeError, OSError)):
        return _one_line(exc) or name, 1 if isinstance(exc, RuntimeError) else 2
    return f"internal error ({name}: {_one_line(exc)}); set LIGANDML_DEBUG=1 for the traceback", 1


def _show_warning_once():
    """warnings -> `warning: <message>` on one line, each message once per process; the Julia
    fallback warning shortened to one sentence."""
    import warnings

    seen = set()

    def show(message, category, filename, lineno, file=None, line=None):
        text = _one_line(message)
        if text.startswith("Julia backend unavailable"):
            text = ("Julia backend unavailable, using NumPy (`ligandml info` says why and how to "
                    "install Julia)")
        text = cli_words(text)
        if text in seen:
            return
        seen.add(text)
        print(f"warning: {text}", file=file or sys.stderr)

    warnings.showwarning = show


def _check_backend_env() -> None:
    """A bogus $LIGANDML_BACKEND is refused by every command, before it starts."""
    from .backends import ENV_VAR, requested_backend

    try:
        requested_backend(None)
    except ValueError as exc:
        raise ValueError(f"${ENV_VAR}: {exc}") from None


def main(argv=None) -> int:
    """Entry point of the console script; returns the exit status. Every error is one line
    on stderr (LIGANDML_DEBUG=1 shows the traceback); Ctrl-C exits 130."""
    import os
    import warnings

    debug = os.environ.get("LIGANDML_DEBUG", "").strip() not in ("", "0")
    parser = build_parser()
    args = parser.parse_args(argv)
    with warnings.catch_warnings():
        _show_warning_once()
        try:
            _check_backend_env()
            return int(args.func(args) or 0)
        except (Exception, KeyboardInterrupt) as exc:
            if debug:
                raise
            message, status = error_line(exc)
            print(f"ligandml {args.command}: error: {cli_words(message)}", file=sys.stderr)
            return status


if __name__ == "__main__":
    sys.exit(main())
