"""`ligandml info`: which backends can run here, what "auto" picks, and why Julia is missing."""
from __future__ import annotations

import json


def add_parser(sub) -> None:
    """Register `info`."""
    info = sub.add_parser("info", help="backends available, what 'auto' picks, Julia version, threads, kernel path")
    info.add_argument("--install", action="store_true",
                      help="install Julia and PythonCall through juliacall now (forgets a remembered failure)")
    info.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                      help="time limit of --install (default $LIGANDML_JULIA_INSTALL_TIMEOUT or 1800 s)")
    info.add_argument("--json", action="store_true", help="print the report as JSON")
    info.set_defaults(func=run)


def _lines(report: dict) -> list[str]:
    julia = report["julia"]
    lines = [
        f"backends available: {', '.join(report['available'])}",
        f"'auto' picks:       {report['auto']}",
        f"requested default:  {report['requested']} ($LIGANDML_BACKEND, else auto)",
        f"Julia:              {'available' if julia['available'] else 'unavailable'}",
    ]
    if julia["available"]:
        lines += [f"  Julia version:    {julia['julia_version']}",
                  f"  Julia threads:    {julia['threads']}"]
    else:
        lines.append(f"  reason:           {julia['reason']}")
    lines += [
        f"  kernel path:      {julia['kernel_path'] or 'MISSING'}",
        f"  juliacall:        {julia['juliacall_version'] or 'not installed'}",
        f"  status file:      {julia['status_file']}",
    ]
    for key, value in julia["environment"].items():
        lines.append(f"  {key}={value}")
    if not julia["available"]:
        from ..julia_setup import install_advice

        lines.append(install_advice())
    return lines


def run(args) -> int:
    """Print the backend report; with --install, install Julia first. Exit 0 either way (a
    missing Julia is a state, not an error; --install that fails exits 1)."""
    from ..backends import backend_info

    if args.install:
        from ..julia_setup import install_julia

        install_julia(timeout_s=args.timeout)
        report = backend_info(probe=False)
    else:
        report = backend_info(probe=True, install=False)
    if args.json:
        print(json.dumps(report, indent=2, sort_keys=True))
    else:
        print("\n".join(_lines(report)))
    return 1 if args.install and not report["julia"]["available"] else 0
