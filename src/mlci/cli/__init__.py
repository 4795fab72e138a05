"""mlci.cli.app."""
