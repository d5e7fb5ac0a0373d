"""``python -m meshctl`` runs the CLI."""

from meshctl.cli.app import main

main()
