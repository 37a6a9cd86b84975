"""Subcommands of the `ligandml` CLI, one module per group (see ligandml.cli)."""
