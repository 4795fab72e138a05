"""URL forms and the storage SDKs' own exceptions, as mlci.repo.objectstore names them (the servers'
answers are covered end to end in tests/monitor/test_object_storage.py)."""

from __future__ import annotations

import pytest

from mlci.errors import MlciError
from mlci.repo.objectstore import Location, Store, explain, is_table, is_url


@pytest.mark.parametrize(
    ("url", "scheme", "bucket", "key", "base"),
    [
        ("s3://b/events/", "s3", "b", "events/", "s3://b/events"),
        ("S3://b/events/date=2026-12-*/", "s3", "b", "events/date=2026-12-*/", "s3://b/events"),
        ("az://c/x/y.parquet", "azure", "c", "x/y.parquet", "az://c/x/y.parquet"),
        ("azure://c", "azure", "c", "", "azure://c"),
        ("gs://b/a/[0-9]*/", "gs", "b", "a/[0-9]*/", "gs://b/a"),
        ("https://h:8443/d/f.csv", "https", "h:8443", "d/f.csv", "https://h:8443/d/f.csv"),
    ],
)
def test_url_forms(url: str, scheme: str, bucket: str, key: str, base: str) -> None:
    location = Location.parse(url)
    assert (location.scheme, location.bucket, location.key, location.base()) == (scheme, bucket, key, base)
    assert is_url(url)


@pytest.mark.parametrize(
    "spec", ["data/x.csv", "/abs/x.parquet", "ftp://h/x.csv", "s3:/b/x", "file:///x.csv"]
)
def test_other_specs_are_not_storage_urls(spec: str) -> None:
    assert not is_url(spec)


def test_a_url_without_a_bucket_is_a_usage_error() -> None:
    with pytest.raises(MlciError, match="names no bucket"):
        Location.parse("s3:///events/")


def test_a_query_is_neither_a_glob_nor_the_type() -> None:
    signed = "https://h/d/today.parquet?X-Amz-Signature=abc&X-Amz-Expires=60"
    assert not Location.parse(signed).glob and is_table(signed)
    assert Location.parse("https://h/d/*.parquet").glob
    assert not is_table("https://h/d/readme.txt?x=.csv")


def _botocore(code: str, status: int) -> Exception:
    from botocore.exceptions import ClientError

    return ClientError(
        {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "ListObjectsV2",
    )


def _azure_auth() -> Exception:
    from azure.core.exceptions import ClientAuthenticationError

    return ClientAuthenticationError(
        "Server failed to authenticate the request. ErrorCode:AuthenticationFailed"
    )


@pytest.mark.parametrize(
    ("url", "make", "says", "fix"),
    [
        ("s3://b/x/", lambda: _botocore("InvalidAccessKeyId", 403), "access refused", "AWS_ACCESS_KEY_ID"),
        (
            "s3://b/x/",
            lambda: _botocore("SignatureDoesNotMatch", 403),
            "access refused",
            "AWS_SECRET_ACCESS_KEY",
        ),
        ("s3://b/x/", lambda: PermissionError("Access Denied"), "access refused", "AWS_ACCESS_KEY_ID"),
        ("az://c/x/", _azure_auth, "access refused", "AZURE_STORAGE_CONNECTION_STRING"),
        (
            "gs://b/x/",
            lambda: OSError("401 Anonymous caller does not have storage.objects.list"),
            "access refused",
            "GOOGLE_APPLICATION_CREDENTIALS",
        ),
        (
            "s3://b/x/",
            lambda: OSError("Could not connect to the endpoint URL: EndpointConnectionError"),
            "unreachable",
            "endpoint",
        ),
        ("az://c/x/", lambda: OSError("Cannot connect to host 10.0.0.1:10000"), "unreachable", "endpoint"),
        ("https://h/x.csv", lambda: FileNotFoundError("https://h/x.csv"), "no such file", "URL"),
    ],
)
def test_sdk_failures_name_the_url_the_cause_and_the_fix(url: str, make, says: str, fix: str) -> None:  # type: ignore[no-untyped-def]
    error = explain(Store(Location.parse(url), fs=None, source="the environment"), url, make())
    assert url in error.message and says in error.message, error.message
    assert fix in f"{error.message} {error.hint}"
