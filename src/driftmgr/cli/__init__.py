"""The `driftmgr` command line (Typer)."""
