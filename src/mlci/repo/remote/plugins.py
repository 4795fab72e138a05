"""DVC's plugin per remote scheme: the requirement the installed DVC declares for it, and whether it is here."""

from __future__ import annotations

import re

PLUGIN_EXTRAS = {
    "s3": "s3",
    "gs": "gs",
    "azure": "azure",
    "ssh": "ssh",
    "gdrive": "gdrive",
    "oss": "oss",
    "hdfs": "hdfs",
    "webdav": "webdav",
    "webdavs": "webdav",
}


def plugin_requirement(scheme: str) -> str:
    """The pip requirement of DVC's plugin for this scheme, as the installed DVC's own extra declares it
    (`dvc-s3<4,>=3.2.1` for `dvc[s3]`: the plugin versions this DVC release works with); "" when DVC
    needs no plugin. A plugin requirement, not `dvc[s3]==X`, so that installing it next to mlci can
    never move DVC itself."""
    extra = PLUGIN_EXTRAS.get(scheme)
    if extra is None:
        return ""
    from importlib.metadata import PackageNotFoundError, requires

    try:
        declared = requires("dvc") or []
    except PackageNotFoundError:  # pragma: no cover - mlci depends on dvc
        declared = []
    name = re.escape(extra)
    wanted = re.compile(rf"^(dvc-{name})\s*([^;\[]*?)\s*;\s*extra\s*==\s*[\"']{name}[\"']\s*$")
    for line in declared:
        match = wanted.match(line)
        if match:
            return match.group(1) + match.group(2).replace(" ", "")
    return f"dvc-{extra}"


def plugin_installed(scheme: str) -> bool:
    return _plugin_installed(scheme)


def _plugin_installed(scheme: str) -> bool:
    import importlib.util

    module = {
        "s3": "dvc_s3",
        "gs": "dvc_gs",
        "azure": "dvc_azure",
        "ssh": "dvc_ssh",
        "gdrive": "dvc_gdrive",
        "oss": "dvc_oss",
        "hdfs": "dvc_hdfs",
        "webdav": "dvc_webdav",
        "webdavs": "dvc_webdav",
    }.get(scheme)
    return module is None or importlib.util.find_spec(module) is not None
