"""Security defaults shared by the CLI and the dashboard."""

from __future__ import annotations

import os

from .errors import FmauditError

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def check_bind(host: str) -> None:
    """Refuse to serve beyond localhost unless authentication is configured.

    Authentication (issue 10) is configured by ``FMAUDIT_AUTH=1`` together with Streamlit
    secrets; until then binding to another address is refused with a message saying why.
    """
    if host in LOCAL_HOSTS:
        return
    if os.environ.get("FMAUDIT_AUTH") != "1":
        raise FmauditError(
            f"Refusing to serve on {host}: the dashboard has no sign-in configured, so anyone who can reach "
            "that address could read and change your models. Use --host 127.0.0.1 (the default), or configure "
            "authentication and set FMAUDIT_AUTH=1.")
