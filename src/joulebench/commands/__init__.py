"""Sub-command groups of the CLI (one module each, mounted in cli.py)."""
