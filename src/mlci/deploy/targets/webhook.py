"""`type: webhook`: a signed JSON POST describing the model to the user's receiver."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from mlci.deploy.targets.base import Delivery, DeliveryFailed, Target
from mlci.errors import MlciError
from mlci.safety import one_line

SIGNATURE_HEADER = "X-Mlci-Signature-256"
TIMESTAMP_HEADER = "X-Mlci-Timestamp"  # unix seconds when the delivery was signed
DELIVERY_HEADER = "X-Mlci-Delivery"  # a uuid4, the same on every retry of one delivery


@dataclass(frozen=True)
class WebhookConfig:
    """`deploy.targets.<name>` of `type: webhook`."""

    url: str = ""  # where the JSON description is POSTed
    secret_env: str = "MLCI_WEBHOOK_SECRET"  # env var holding the HMAC key
    timeout: float = 10.0  # seconds per request, answer included (a total, not per read)
    retries: int = 3  # retries on 5xx and connection errors, with backoff
    allow_insecure: bool = False  # accept an http:// url (a loopback or trusted-network receiver)

    def open(self, name: str, root: Path) -> Target:
        where = f"deploy.targets.{name}"
        if not self.url.startswith(("http://", "https://")):
            raise MlciError(f"{where}: a webhook target needs an http(s) `url`, got {self.url!r}")
        if self.url.startswith("http://") and not self.allow_insecure:
            raise MlciError(
                f"{where}: the webhook url {one_line(self.url, 120)} is plain http: anyone on the way can read "
                "the delivery and send it again, and the receiver cannot tell who it talks to",
                f"use an https:// url; for a receiver on this machine or a network you trust, allow it in "
                f"mlci.yaml:\n    deploy:\n      targets:\n        {name}:\n          allow_insecure: true",
            )
        secret = os.environ.get(self.secret_env, "")
        if not secret:
            raise MlciError(
                f"{where}: the environment variable {self.secret_env} (the webhook's signing key) is empty",
                f"pass it from a secret: env: {self.secret_env}: ${{{{ secrets.{self.secret_env} }}}}",
            )
        return WebhookTarget(self.url, secret.encode(), self.timeout, self.retries)


def signed_bytes(timestamp: str, delivery: str, body: bytes) -> bytes:
    """What the signature covers: `<timestamp>.<delivery id>.` then the raw body, so a receiver can
    trust the time and the id it uses to refuse stale and repeated deliveries."""
    return f"{timestamp}.{delivery}.".encode() + body


def sign(secret: bytes, timestamp: str, delivery: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, signed_bytes(timestamp, delivery, body), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class WebhookTarget:
    url: str
    secret: bytes = field(repr=False)
    timeout: float = 10.0
    retries: int = 3
    backoff: float = 1.0  # seconds before the first retry, doubled each time
    splits_traffic: bool = True  # the body's `traffic` says the canary step's percent

    def deliver(self, delivery: Delivery) -> str:
        import requests

        from mlci.github.http import send_within

        body = json.dumps({"event": "deploy", **delivery.metadata()}, sort_keys=True).encode()
        # one timestamp and id for all attempts: a receiver that acted on an attempt whose answer was
        # lost sees the retry as the delivery it already handled
        stamp, delivery_id = str(int(time.time())), str(uuid.uuid4())
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: stamp,
            DELIVERY_HEADER: delivery_id,
            SIGNATURE_HEADER: sign(self.secret, stamp, delivery_id, body),
        }
        problem = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                # never follow a redirect: a 301/302 would become a body-less GET that "succeeds"
                # elsewhere, a 307/308 would replay the signed delivery to whatever host it names
                response = send_within(
                    self.timeout,
                    lambda: requests.post(
                        self.url,
                        data=body,
                        headers=headers,
                        timeout=self.timeout,
                        allow_redirects=False,
                        stream=True,
                    ),
                )
            except requests.RequestException as exc:
                problem = f"{type(exc).__name__}: {one_line(exc, 160)}"
                continue
            if response.status_code < 300:
                return self.url
            problem = f"HTTP {response.status_code}: {one_line(response.text, 160)}"
            if 300 <= response.status_code < 400:
                where = response.headers.get("Location", "(no Location)")
                problem = f"HTTP {response.status_code}: a redirect to {one_line(where, 160)}, not followed"
            if response.status_code < 500:  # the receiver said no: asking again will not change that
                break
        raise DeliveryFailed(
            f"the webhook {self.url} did not accept the model: {problem}",
            f"the receiver must answer 2xx and verify the {SIGNATURE_HEADER} header over "
            f"'<{TIMESTAMP_HEADER}>.<{DELIVERY_HEADER}>.<body>' (docs/deploy.md)",
        )

    def activate(self, delivery: Delivery) -> None:
        """Nothing to switch: the receiver acted on the delivery."""
