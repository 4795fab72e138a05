"""The registry on real git repos: GTO's grammar, version bumps, atomic pushes under a race, shallow clones."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from mlci.deploy import promote, registry
from mlci.errors import MlciError
from mlci.repo.git import git
from tests.testing.deploy import clone, git_project, gto_show, local_only_tags, remote_tags
from tests.testing.fixtures import run_cli


def test_versions_bump_and_are_never_reused() -> None:
    assert registry.bump_version(set()) == "v0.0.1"
    used = {"v0.0.1", "v0.0.9", "v0.0.10"}
    assert registry.bump_version(used) == "v0.0.11"  # numeric, not text order
    assert registry.bump_version(used, "minor") == "v0.1.0"
    assert registry.bump_version(used, "major") == "v1.0.0"


def test_register_and_assign_write_gto_tags_that_gto_reads(tmp_path: Path) -> None:
    root, origin, shas = git_project(tmp_path)
    first = promote.register(root, "clf", shas[0])
    promote.assign(root, "clf", shas[0], "prod")
    second = promote.register(root, "clf", shas[1], bump="minor")
    promote.assign(root, "clf", shas[1], "prod")
    promote.assign(root, "clf", shas[0], "staging")

    assert (first.version.version, second.version.version) == ("v0.0.1", "v0.1.0")
    assert set(remote_tags(origin)) == {
        "clf@v0.0.1",
        "clf@v0.1.0",
        "clf#prod#1",
        "clf#prod#2",
        "clf#staging#3",
    }
    shown = gto_show(root)
    assert shown["clf"]["version"] == "v0.1.0"
    assert shown["clf"]["stage"] == {"prod": "v0.1.0", "staging": "v0.0.1"}
    in_prod, v010 = registry.find_stage(root, "clf", "prod"), registry.list_versions(root, "clf")[1]
    assert in_prod and (in_prod.version, in_prod.commit) == (v010.version, v010.commit) == ("v0.1.0", shas[1])
    assert in_prod.tag == "clf#prod#2" and in_prod.created_at >= v010.created_at  # when it entered prod
    annotated = git(root, "cat-file", "-t", "clf@v0.0.1")
    assert annotated == "tag"  # GTO ignores lightweight tags


def test_registering_a_commit_again_reuses_its_version(tmp_path: Path) -> None:
    root, origin, shas = git_project(tmp_path)
    promote.register(root, "clf", shas[0])
    promote.assign(root, "clf", shas[0], "prod")
    before = remote_tags(origin)

    again = promote.register(root, "clf", shas[0])
    assert promote.assign(root, "clf", shas[0], "prod").tags == ()
    assert again.reused and again.version.version == "v0.0.1" and again.tags == ()
    assert remote_tags(origin) == before


def test_a_deploy_never_moves_the_stage_back_to_an_older_commit(tmp_path: Path) -> None:
    root, origin, shas = git_project(tmp_path)
    for sha in shas[:2]:
        promote.register(root, "clf", sha)
    promote.assign(root, "clf", shas[1], "prod")
    before = remote_tags(origin)

    stale = promote.assign(root, "clf", shas[0], "prod", forward_only=True)

    assert stale.tags == () and stale.superseded_by and stale.superseded_by.version == "v0.0.2"
    assert remote_tags(origin) == before
    assert promote.assign(root, "clf", shas[0], "prod").tags == ("clf#prod#2",)  # a rollback may


def test_rollback_reassignment_is_read_the_same_by_gto_and_mlci(tmp_path: Path) -> None:
    root, _, shas = git_project(tmp_path)
    for sha in shas:
        promote.register(root, "clf", sha)
        promote.assign(root, "clf", sha, "prod")
    promote.assign(root, "clf", shas[0], "prod")  # back to v0.0.1: a new clf#prod#N on the old commit

    proc = run_cli("registry", "clf", "--format", "json", cwd=root)
    assert proc.returncode == 0, proc.stderr
    ours = json.loads(proc.stdout)["models"][0]
    theirs = gto_show(root, "clf")
    assert ours["stages"] == {"prod": "v0.0.1"} == gto_show(root)["clf"]["stage"]
    assert [v["version"] for v in ours["versions"]] == sorted(v["version"] for v in theirs)
    assert {v["version"]: v["commit"] for v in ours["versions"]} == {
        v["version"]: v["commit_hexsha"] for v in theirs
    }
    history = registry.model(root, "clf").stage_history("prod")
    assert [h.version for h in history] == ["v0.0.1", "v0.0.3", "v0.0.2", "v0.0.1"]


def test_stage_matrix_for_monitoring(tmp_path: Path) -> None:
    root, _, shas = git_project(tmp_path)
    for name, sha in (("clf", shas[0]), ("reg", shas[1]), ("other", shas[2])):
        promote.register(root, name, sha)
    promote.assign(root, "clf", shas[0], "prod")
    promote.assign(root, "reg", shas[1], "prod")
    promote.assign(root, "other", shas[2], "staging")

    proc = run_cli("registry", "--stage", "prod", "--format", "json", cwd=root)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == [
        {"model": "clf", "version": "v0.0.1", "commit": shas[0], "stage": "prod"},
        {"model": "reg", "version": "v0.0.1", "commit": shas[1], "stage": "prod"},
    ]


def test_concurrent_registrations_from_two_clones_stay_consistent(tmp_path: Path) -> None:
    root, origin, shas = git_project(tmp_path, commits=6)
    clones = [clone(origin, tmp_path / f"clone{i}") for i in range(2)]
    results: dict[str, str] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def deploy(where: Path, commits: list[str]) -> None:
        try:
            start.wait()
            for sha in commits:
                results[sha] = promote.register(where, "clf", sha).version.version
                promote.assign(where, "clf", sha, "prod")
        except BaseException as exc:  # reported below, with the thread's error
            errors.append(exc)

    threads = [
        threading.Thread(target=deploy, args=(clones[0], shas[0::2])),
        threading.Thread(target=deploy, args=(clones[1], shas[1::2])),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors, errors
    tags = remote_tags(origin)
    versions = {t: c for t, c in tags.items() if "@" in t}
    assert sorted(results.values()) == sorted(t.split("@")[1] for t in versions)  # each pushed once
    assert len(set(results.values())) == 6  # distinct versions, none reused
    assert sorted(versions.values()) == sorted(shas)  # one version per commit
    counters = [int(t.rsplit("#", 1)[1]) for t in tags if "#prod#" in t]
    assert len(counters) == len(set(counters)) == 6
    for where in clones:
        assert local_only_tags(where) == set()  # nothing half-tagged
    git(root, "fetch", "-q", "--tags", "origin")
    assert gto_show(root)["clf"]["stage"]["prod"] == registry.find_stage(root, "clf", "prod").version  # type: ignore[union-attr]


def test_a_refused_push_deletes_the_local_tags_and_says_why(tmp_path: Path) -> None:
    root, origin, shas = git_project(tmp_path)
    hook = origin / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'tags are frozen' >&2\nexit 1\n")
    hook.chmod(0o755)

    with pytest.raises(MlciError, match=r"could not push the registry tags clf@v0\.0\.1"):
        promote.register(root, "clf", shas[0])
    assert git(root, "tag") == ""
    assert remote_tags(origin) == {}


def test_a_shallow_clone_fetches_the_whole_registry_first(tmp_path: Path) -> None:
    root, origin, shas = git_project(tmp_path)
    for sha in shas:
        promote.register(root, "clf", sha)
    promote.assign(root, "clf", shas[1], "prod")
    shallow = clone(origin, tmp_path / "shallow", "--depth", "1", "--no-tags")
    assert git(shallow, "tag") == ""

    proc = run_cli("registry", "--format", "json", cwd=shallow)
    assert proc.returncode == 0, proc.stderr
    (shown,) = json.loads(proc.stdout)["models"]
    assert [v["version"] for v in shown["versions"]] == ["v0.0.1", "v0.0.2", "v0.0.3"]
    assert shown["stages"] == {"prod": "v0.0.2"}


def test_a_shallow_clone_that_cannot_fetch_is_an_error_not_a_partial_registry(tmp_path: Path) -> None:
    root, origin, shas = git_project(tmp_path)
    promote.register(root, "clf", shas[0])
    shallow = clone(origin, tmp_path / "shallow", "--depth", "1", "--no-tags")
    git(shallow, "remote", "set-url", "origin", str(tmp_path / "gone.git"))

    proc = run_cli("registry", cwd=shallow)
    assert proc.returncode == 2
    assert "could not fetch the registry tags from 'origin'" in proc.stderr
    assert "fetch-depth" in proc.stderr or "partial registry" in proc.stderr


def _gto(root: Path, *args: str) -> None:
    gto = Path(sys.executable).parent / "gto"
    subprocess.run([str(gto), *args], cwd=root, check=True, capture_output=True, text=True)


def test_tags_written_by_gto_are_read_as_gto_reads_them(tmp_path: Path) -> None:
    root, _, shas = git_project(tmp_path, commits=4)
    for sha in shas[:3]:
        _gto(root, "register", "clf", sha)
    _gto(root, "assign", "clf", "--version", "v0.0.1", "--stage", "prod")
    time.sleep(1.1)  # GTO orders assignments by tag time, in whole seconds
    _gto(root, "assign", "clf", "--version", "v0.0.2", "--stage", "prod")
    _gto(root, "deprecate", "clf", "v0.0.3")  # deregisters v0.0.3: tag clf@v0.0.3!

    proc = run_cli("registry", "clf", "--format", "json", cwd=root)

    assert proc.returncode == 0, proc.stderr
    ours = json.loads(proc.stdout)["models"][0]
    theirs = gto_show(root, "clf")
    assert [v["version"] for v in ours["versions"]] == ["v0.0.1", "v0.0.2"]
    assert sorted(v["version"] for v in ours["versions"]) == sorted(v["version"] for v in theirs)
    assert ours["stages"] == gto_show(root)["clf"]["stage"] == {"prod": "v0.0.2"}
    assert promote.register(root, "clf", shas[3]).version.version == "v0.0.4"  # v0.0.3 is never reused


def test_stages_outside_the_gto_config_are_refused(tmp_path: Path) -> None:
    root, _, _ = git_project(tmp_path, commits=1)
    (root / ".gto").write_text("stages: [dev, staging, prod]\n")

    registry.check_stage(root, "prod")
    with pytest.raises(MlciError, match=r"stage 'production' is not one of the stages \.gto allows"):
        registry.check_stage(root, "production")


def test_a_runner_without_a_git_identity_tags_as_the_actions_bot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, _, shas = git_project(tmp_path)
    empty = tmp_path / "empty.gitconfig"
    empty.write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(empty))  # like a fresh runner: no user.name/email

    promote.register(root, "clf", shas[0])

    tagger = git(root, "for-each-ref", "refs/tags/clf@v0.0.1", "--format=%(taggername) %(taggeremail)")
    assert tagger == f"{registry.BOT_NAME} <{registry.BOT_EMAIL}>"


def test_versions_are_listed_in_semver_precedence(tmp_path: Path) -> None:
    root, _, shas = git_project(tmp_path, commits=5)
    for sha, version in zip(
        shas, ["v1.0.0-rc.9", "v1.0.0-rc.10", "v1.0.0", "v1.0.0-alpha", "v0.9.0"], strict=True
    ):
        git(root, "tag", "-a", f"clf@{version}", sha, "-m", f"register {version}")

    proc = run_cli("registry", "clf", "--format", "json", cwd=root)

    assert proc.returncode == 0, proc.stderr
    shown = json.loads(proc.stdout)["models"][0]
    listed = [v["version"] for v in shown["versions"]]
    assert listed == ["v0.9.0", "v1.0.0-alpha", "v1.0.0-rc.9", "v1.0.0-rc.10", "v1.0.0"]
    assert shown["latest"] == "v1.0.0"
    assert registry.bump_version(set(listed)) == "v1.0.1"
    assert registry.bump_version({"v1.0.0-rc.9", "v1.0.0-rc.10"}, "minor") == "v1.1.0"


@pytest.mark.parametrize("dropped", ["v0.0.2", "v0.0.1"])
def test_a_deregistered_versions_stages_go_with_it_as_in_gto(tmp_path: Path, dropped: str) -> None:
    root, _, shas = git_project(tmp_path, commits=3)
    for sha in shas[:2]:
        _gto(root, "register", "clf", sha)
    for version, stage in (("v0.0.1", "prod"), ("v0.0.2", "prod"), ("v0.0.2", "dev"), ("v0.0.1", "dev")):
        _gto(root, "assign", "clf", "--version", version, "--stage", stage)
        time.sleep(1.1)  # GTO orders assignments by tag time, in whole seconds
    _gto(root, "deprecate", "clf", dropped)

    proc = run_cli("registry", "clf", "--format", "json", cwd=root)

    assert proc.returncode == 0, proc.stderr
    ours = json.loads(proc.stdout)["models"][0]
    theirs = gto_show(root)["clf"]["stage"]
    assert ours["stages"] == theirs  # no stage names a bare commit of the dropped version
    for version in ours["versions"]:
        assert version["stages"] == sorted(s for s, v in theirs.items() if v == version["version"])
    table = run_cli("registry", "clf", cwd=root).stdout
    assert all(stage in table for stage in theirs)


def test_the_history_lists_each_event_with_what_mlci_noted_and_asks_whose_among_several(
    tmp_path: Path,
) -> None:
    from mlci.deploy.promote import assign, register
    from tests.testing.fixtures import run_cli

    root, _, shas = git_project(tmp_path)
    register(root, "clf", shas[0])
    assign(
        root, "clf", shas[0], "staging", note="mlci: delivered; check passed after 1 try by https://ci/runs/7"
    )
    register(root, "other", shas[1])

    several = run_cli("registry", "--history", cwd=root)
    shown = run_cli("registry", "clf", "--history", "--format", "json", cwd=root)

    assert (
        several.returncode == 2 and "say whose history" in several.stderr and "clf, other" in several.stderr
    )
    assert shown.returncode == 0, shown.stderr
    events = json.loads(shown.stdout)["history"]
    assert [(e["event"], e["version"], e["stage"]) for e in events] == [
        ("register", "v0.0.1", ""),
        ("assign", "v0.0.1", "staging"),
    ]
    assert events[1]["note"] == "mlci: delivered; check passed after 1 try by https://ci/runs/7"
    table = run_cli("registry", "clf", "--history", cwd=root).stdout
    assert "check passed after 1 try by https://ci/runs/7" in table
