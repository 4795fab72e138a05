"""The DVC remote `mlci train` uses as its cache: found, checked before the pipeline runs, and its
failures turned into errors that name the remote and the fix.

One module per concern: `config` (the remotes `.dvc/config` names), `secrets` (the credentials each
scheme needs), `plugins` (DVC's plugin per scheme), `probe` (is the server there), `diagnosis` (why a
remote failed). Their public names are importable from here as well.
"""

from __future__ import annotations

from mlci.repo.remote.config import Remote, RemoteError, all_remotes, as_default, find, from_config
from mlci.repo.remote.diagnosis import (
    diagnose,
    explain_exception,
    explain_failure,
    fix_hint,
    lacks,
    preflight,
    read_failure,
)
from mlci.repo.remote.plugins import plugin_installed, plugin_requirement
from mlci.repo.remote.probe import (
    PROBE_SECONDS,
    ensure_reachable,
    offline_config,
    unreachable,
    unreachable_at,
)
from mlci.repo.remote.secrets import (
    CREDENTIALS,
    PAIRS,
    SECRETS,
    credentials_present,
    half_pairs,
    secrets_needed,
)

__all__ = [
    "CREDENTIALS",
    "PAIRS",
    "PROBE_SECONDS",
    "SECRETS",
    "Remote",
    "RemoteError",
    "all_remotes",
    "as_default",
    "credentials_present",
    "diagnose",
    "ensure_reachable",
    "explain_exception",
    "explain_failure",
    "find",
    "fix_hint",
    "from_config",
    "half_pairs",
    "lacks",
    "offline_config",
    "plugin_installed",
    "plugin_requirement",
    "preflight",
    "read_failure",
    "secrets_needed",
    "unreachable",
    "unreachable_at",
]
