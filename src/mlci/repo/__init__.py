"""mlci.repo."""
