"""``python -m dashboard.serve``: what it changes in Streamlit's server before handing over to it."""

import sys


def test_the_server_hands_the_gil_to_its_event_loop_quickly(monkeypatch):
    """The thread that sends a page's elements to the browser waits at most 0.5 ms for the GIL held by the thread
    running the page's script (Python's default is 5 ms per element sent)."""
    from streamlit.web import cli

    from dashboard import serve

    seen = []
    monkeypatch.setattr(serve, "_harden", lambda: None)
    monkeypatch.setattr(cli, "main", lambda: seen.append(sys.getswitchinterval()) or 0)
    before = sys.getswitchinterval()
    try:
        assert serve.main() == 0
    finally:
        sys.setswitchinterval(before)
    assert seen == [serve.SWITCH_INTERVAL]
    assert serve.SWITCH_INTERVAL <= 0.0005 < before
