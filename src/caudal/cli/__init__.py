"""The ``caudal`` command line: one Typer app, a module per command group."""
