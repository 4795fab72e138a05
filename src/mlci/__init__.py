"""mlci: close the machine-learning loop in GitHub Actions."""

__version__ = "0.1.0"
