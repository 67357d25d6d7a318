"""``python -m voidx`` runs the command line."""

from voidx.cli import main

main()
