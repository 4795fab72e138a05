"""`mlci.deploy.check.run_check`, the check after a delivery, against a model service on loopback and real
shell commands: what passes, what fails and what the output says, tries and the deadline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlci.config import Bound, CheckConfig
from mlci.deploy.check import run_check
from tests.testing.live_service import LiveService


def probe(service: LiveService, **keys: Any) -> CheckConfig:
    settings: dict[str, Any] = {"url": service.url, "tries": 1, "interval": 0, "timeout": 5, "deadline": 10}
    return CheckConfig(**{**settings, **keys})


def live(service: LiveService, version: str, traffic: int = 100) -> None:
    with open(service.folder / "log", "a") as log:
        log.write(f"{version} {traffic}\n")


@pytest.mark.parametrize(
    ("bounds", "passed", "said"),
    [
        ({"model.accuracy": Bound(min=0.9)}, True, "model.accuracy=0.91"),
        ({"model.accuracy": Bound(min=0.95)}, False, "model.accuracy = 0.91 < min 0.95"),
        ({"latency_ms": Bound(max=39)}, False, "latency_ms = 40 > max 39"),
        ({"latency_ms": Bound(min=10, max=50)}, True, "latency_ms=40"),
        ({"model.f1": Bound(min=0.5)}, False, "model.f1 is not in the answer"),
        ({"status": Bound(min=0)}, False, "status is 'ok', not a number"),
        ({"model": Bound(min=0)}, False, "not a number"),
    ],
)
def test_json_fields_are_held_to_their_bounds(
    live_service: LiveService, bounds: dict[str, Bound], passed: bool, said: str
) -> None:
    live(live_service, "v1")

    result = run_check(probe(live_service, json=bounds), {}, Path.cwd())

    assert (result.passed, result.tries) == (passed, 1)
    assert said in result.output


def test_a_wrong_status_fails_and_every_try_is_used(live_service: LiveService) -> None:
    live(live_service, "v1")
    live_service.unhealthy.add("v1")

    result = run_check(probe(live_service, tries=3), {}, Path.cwd())

    assert not result.passed and result.tries == 3 and len(live_service.probes) == 3
    assert "answered 503, not 200" in result.output
    assert "check failed after 3 tries" in result.summary()


def test_the_expected_status_can_be_another_one(live_service: LiveService) -> None:
    live(live_service, "v1")
    live_service.unhealthy.add("v1")

    assert run_check(probe(live_service, status=503), {}, Path.cwd()).passed


def test_a_service_that_recovers_between_tries_passes(live_service: LiveService, tmp_path: Path) -> None:
    live(live_service, "v1")
    live_service.unhealthy.add("v1")
    slept: list[float] = []

    def heal(seconds: float) -> None:  # the time between tries: the service comes up meanwhile
        slept.append(seconds)
        if len(slept) == 2:
            live_service.unhealthy.clear()

    result = run_check(probe(live_service, tries=3, settle=1, interval=2), {}, tmp_path, sleep=heal)

    assert result.passed and result.tries == 2 and slept == [1, 2]


def test_a_command_check_gets_the_delivery_variables_and_its_output_is_kept(tmp_path: Path) -> None:
    check = CheckConfig(
        run='echo "checking $MLCI_VERSION at $MLCI_LOCATION"; test "$MLCI_TRAFFIC" = 50', tries=1
    )
    env = {"MLCI_VERSION": "v0.0.3", "MLCI_LOCATION": "https://svc", "MLCI_TRAFFIC": "50"}

    passed = run_check(check, env, tmp_path)
    failed = run_check(check, {**env, "MLCI_TRAFFIC": "10"}, tmp_path)

    assert passed.passed and passed.output == "checking v0.0.3 at https://svc"
    assert not failed.passed and "exited with 1: checking v0.0.3" in failed.output


def test_a_hanging_command_and_its_children_are_stopped_at_the_deadline(tmp_path: Path) -> None:
    child = tmp_path / "child.pid"
    check = CheckConfig(run=f"sleep 600 & echo $! > {child}; wait", tries=5, timeout=60, deadline=1)

    result = run_check(check, {}, tmp_path)

    assert not result.passed and result.tries == 1
    assert "deadline of 1 s passed" in result.output and "and was stopped" in result.output
    pid = int(child.read_text())
    assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]


def test_a_redirect_is_not_followed(live_service: LiveService) -> None:
    live(live_service, "v1")
    moved = probe(live_service, url=live_service.url.replace("/health", "/elsewhere"))

    result = run_check(moved, {}, Path.cwd())

    assert not result.passed and "answered 404" in result.output
