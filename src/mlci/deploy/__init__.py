"""mlci.deploy."""
