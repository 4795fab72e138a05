"""One command contract: every `commands/<verb>.py` has `run(ctx, options) -> int` with a frozen options
dataclass, and every CLI command only parses into those options and returns `run`'s int."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import pkgutil
import textwrap
from pathlib import Path

import click
import pytest

import mlci.commands
from mlci.cli import app as cli

NOT_COMMANDS = {"context"}  # what every command is handed, not a command; `_name`: a verb's helper module
COMMAND_MODULES = sorted(
    m.name
    for m in pkgutil.iter_modules(mlci.commands.__path__)
    if m.name not in NOT_COMMANDS and not m.name.startswith("_")
)


def _cli_callbacks() -> list[tuple[str, click.Command]]:
    found = []
    for name in cli.COMMANDS:
        command = cli.LazyGroup._load(name)
        assert command is not None, name
        if isinstance(command, click.Group):
            found += [(f"{name} {sub}", c) for sub, c in command.commands.items()]
        else:
            found.append((name, command))
    return found


@pytest.mark.parametrize("module_name", COMMAND_MODULES)
def test_every_command_module_has_run_with_frozen_options(module_name: str) -> None:
    module = importlib.import_module(f"mlci.commands.{module_name}")
    run = getattr(module, "run", None)
    assert callable(run), f"mlci.commands.{module_name} has no run(ctx, options) -> int"
    signature = inspect.signature(run)
    assert list(signature.parameters) == ["ctx", "options"], signature
    assert signature.return_annotation in ("int", int), signature
    options_type = getattr(module, str(signature.parameters["options"].annotation))
    assert dataclasses.is_dataclass(options_type), options_type
    assert options_type.__dataclass_params__.frozen, f"{options_type.__name__} is not frozen"  # type: ignore[attr-defined]
    assert options_type.__doc__ and not options_type.__doc__.startswith(options_type.__name__ + "(")


@pytest.mark.parametrize(("name", "command"), _cli_callbacks(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_cli_command_returns_the_int_of_run(name: str, command: click.Command) -> None:
    callback = command.callback
    assert callback is not None
    source = textwrap.dedent(inspect.getsource(inspect.unwrap(callback)))
    function = ast.parse(source).body[0]
    assert isinstance(function, ast.FunctionDef)
    assert ast.unparse(function.returns) == "int" if function.returns else False, f"mlci {name}: -> int"
    returns = [n for n in ast.walk(function) if isinstance(n, ast.Return)]
    assert returns, f"mlci {name} returns nothing"
    for node in returns:  # `return run(...)`, or `return module.run(...)`
        call = node.value
        assert isinstance(call, ast.Call), f"mlci {name}: {ast.unparse(node)}"
        called = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
        assert called == "run", f"mlci {name}: {ast.unparse(node)}"


def test_event_has_its_command_module() -> None:
    assert (Path(mlci.commands.__file__).parent / "event.py").is_file()


@click.command()
@click.argument("code", type=int)
def _returns(code: int) -> int:
    """Return CODE, as a command's run does."""
    return code


@pytest.mark.parametrize("code", [0, 1, 2, 5])
def test_the_cli_exits_with_the_int_a_command_returns(code: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(cli.COMMANDS, "returns", "tests.commands.test_contract:_returns")
    assert cli.run(["returns", str(code)]) == code
