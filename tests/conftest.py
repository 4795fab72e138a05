"""Fixtures for every suite; the helpers themselves live in the importable tests.testing package."""

pytest_plugins = ["tests.testing.fixtures", "tests.testing.github_fixtures", "tests.testing.skips"]
