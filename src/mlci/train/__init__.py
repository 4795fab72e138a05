"""mlci.train.reproduce."""
