"""The official Kubernetes client, with every request bounded in time.

The client waits forever by default: an API server that accepts a connection and
never answers (overloaded, half-dead, behind a stalled proxy) would hang whatever
asked it, a rollout mid-step or ``cluster up`` checking a user's kubeconfig. Every
client charthouse makes comes from here, so every call through it, generated or
dynamic, has a deadline unless the call sets its own. The client retries an
idempotent request three times, so a read gives up after four silent answers.

The ``kubernetes`` package is slow to import: it is imported only when a client is
made.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from charthouse.errors import CharthouseError

Timeout = tuple[float, float]
# Seconds to connect, and to wait for an answer, per request.
REQUEST_TIMEOUT: Timeout = (10.0, 30.0)


def connect(kubeconfig: Path | None = None, *, request_timeout: Timeout | None = None) -> Any:
    """An ``ApiClient`` for ``kubeconfig`` (the client's default lookup when None), with
    every authentication the kubeconfig may use (exec plugins, OIDC, tokens)."""
    from kubernetes import client, config

    configuration = type.__call__(client.Configuration)  # not the process-wide default
    try:
        config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=str(kubeconfig) if kubeconfig else None,
            client_configuration=configuration,
        )
    except (config.ConfigException, OSError) as exc:
        where = kubeconfig or "kubeconfig"
        raise CharthouseError(f"{where}: {exc}") from exc
    return bounded(configuration, request_timeout=request_timeout)


def bounded(configuration: Any, *, request_timeout: Timeout | None = None) -> Any:
    """An ``ApiClient`` for ``configuration`` whose requests time out after ``request_timeout``
    (connect, read; None: :data:`REQUEST_TIMEOUT`) unless a call passes its own."""
    api_client = _bounded_client_class()(configuration)
    api_client.request_timeout = request_timeout
    return api_client


@functools.cache
def _bounded_client_class() -> Any:
    from kubernetes import client

    class BoundedApiClient(client.ApiClient):
        """Every request goes through ``call_api``: the generated APIs, the dynamic client
        and raw ``param_serialize`` + ``call_api`` alike."""

        request_timeout: Timeout | None = None

        def call_api(
            self,
            method: Any,
            url: Any,
            header_params: Any = None,
            body: Any = None,
            post_params: Any = None,
            _request_timeout: Any = None,
        ) -> Any:
            return super().call_api(
                method,
                url,
                header_params=header_params,
                body=body,
                post_params=post_params,
                _request_timeout=_request_timeout or self.request_timeout or REQUEST_TIMEOUT,
            )

    return BoundedApiClient
