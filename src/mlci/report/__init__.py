"""mlci.report."""
