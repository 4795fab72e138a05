"""Which credentials each remote scheme needs: the variables DVC's plugins read, and the repository
secrets the workflows pass (one list, `SECRETS`, read by .ci/install_steps.py and `mlci init`)."""

from __future__ import annotations

from collections.abc import Mapping

from mlci.repo.remote.config import Remote

# The env vars DVC's cloud plugins read, and the repository secrets the train workflow maps to them.
CREDENTIALS: dict[str, tuple[tuple[str, ...], str]] = {
    "s3": (
        (
            "AWS_ACCESS_KEY_ID",
            "AWS_PROFILE",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        ),
        "set the secrets AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
        "(or use aws-actions/configure-aws-credentials)",
    ),
    "gs": (
        ("GOOGLE_APPLICATION_CREDENTIALS", "CLOUDSDK_AUTH_ACCESS_TOKEN"),
        "set the secret GCP_CREDENTIALS_JSON (a service-account key; the workflow writes it to a file "
        "and sets GOOGLE_APPLICATION_CREDENTIALS)",
    ),
    "azure": (
        (
            "AZURE_STORAGE_CONNECTION_STRING",
            "AZURE_STORAGE_KEY",
            "AZURE_CLIENT_SECRET",
            "AZURE_STORAGE_SAS_TOKEN",
        ),
        "set the secret AZURE_STORAGE_CONNECTION_STRING",
    ),
}


# The repository secrets every reusable workflow that touches the DVC remote accepts (train, report,
# deploy, rollback, monitor), per URL scheme, with what each holds. One list: .ci/install_steps.py writes
# them into the workflows, `mlci init` writes into each caller the ones the project's remotes need.
SECRETS: dict[str, tuple[tuple[str, str], ...]] = {
    "s3": (
        ("AWS_ACCESS_KEY_ID", "an AWS access key id, for s3:// remotes"),
        ("AWS_SECRET_ACCESS_KEY", "the secret access key of AWS_ACCESS_KEY_ID"),
        ("AWS_SESSION_TOKEN", "the session token of temporary AWS credentials (optional)"),
    ),
    "gs": (
        (
            "GCP_CREDENTIALS_JSON",
            "a service-account key (JSON) for gs:// remotes: written to a file (mode 600) under "
            "runner.temp that GOOGLE_APPLICATION_CREDENTIALS names for the job, removed after",
        ),
    ),
    "azure": (
        ("AZURE_STORAGE_CONNECTION_STRING", "an Azure storage connection string, for azure:// remotes"),
        ("AZURE_STORAGE_SAS_TOKEN", "or a SAS token (with the remote's account_name in .dvc/config)"),
    ),
    "gdrive": (("GDRIVE_CREDENTIALS_DATA", "a service account's JSON key, for gdrive:// remotes"),),
}


# Variables that only work together: one set without the other fails in the SDK (botocore's
# PartialCredentialsError), often a misspelt or unpassed secret.
PAIRS: dict[str, tuple[tuple[str, str], ...]] = {"s3": (("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"),)}


def half_pairs(scheme: str, env: Mapping[str, str]) -> list[tuple[str, str]]:
    """(set, missing) for each PAIRS pair of which only one variable is set (names only)."""
    found = []
    for first, second in PAIRS.get(scheme, ()):
        if bool(env.get(first)) != bool(env.get(second)):
            found.append((first, second) if env.get(first) else (second, first))
    return found


def secrets_needed(remotes: list[Remote]) -> list[str]:
    """The repository secrets the remotes' schemes need (SECRETS), in SECRETS' order; none for local,
    SSH, HTTP or other remotes."""
    schemes = {remote.scheme for remote in remotes}
    return [name for scheme, pairs in SECRETS.items() if scheme in schemes for name, _ in pairs]


CONFIG_CREDENTIALS = (
    "credentialpath",
    "profile",
    "access_key_id",
    "connection_string",
    "account_key",
    "sas_token",
    "client_secret",
    "allow_anonymous_login",
    "use_ssl_anonymous",
)


def credentials_present(remote: Remote, env: dict[str, str]) -> tuple[list[str], list[str], str]:
    """(variables DVC's plugin reads that are set — names only, options in the remote's config that
    hold credentials, the fix when neither is there)."""
    expected, fix = CREDENTIALS.get(remote.scheme, ((), ""))
    return (
        [v for v in expected if env.get(v)],
        [k for k in CONFIG_CREDENTIALS if remote.options.get(k)],  # DVC fills some with False
        fix,
    )
