"""Start the dashboard's Streamlit server with its outside lookups off: ``python -m dashboard.serve run app.py ...``.

Streamlit asks ``checkip.amazonaws.com`` for the machine's public address when it binds every interface (the
"External URL" banner) and when a browser arrives from an unknown origin (its CORS allowlist). fmaudit never
reaches outside the machine, so that lookup answers "unknown" here; set ``server.corsAllowedOrigins`` for the
names your users reach the server by.
"""

from __future__ import annotations

import sys


def _no_external_ip() -> None:
    return None


def main() -> int:
    """Patch the lookup, then hand over to Streamlit's own command line."""
    from streamlit import net_util

    net_util.get_external_ip = _no_external_ip
    from streamlit.web import cli

    return cli.main()


if __name__ == "__main__":
    sys.exit(main())
