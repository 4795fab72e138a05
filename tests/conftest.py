pytest_plugins = ["tests.conftest_github"]
