"""``python -m joulebench`` runs the CLI."""

from joulebench.cli import main

main()
