"""mlci.github.client."""
