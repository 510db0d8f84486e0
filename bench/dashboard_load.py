"""Many sessions at once: p95 page load with 1, 5, 10 and 20 sessions on different pages while training runs.

Each session is a light client: a WebSocket speaking Streamlit's own protocol (protobuf BackMsg / ForwardMsg), as the
browser does, without drawing anything. A session asks for its page (a script run), waits for the run to finish,
pauses briefly as a reader would, and asks again. "Page load" is the time from the request to the end of the script
run (every element sent). Errors are runs that show an exception box or never finish. The sessions share the
machine's cores with the server and with one CLI training run (the MNIST CNN) started before the first count.

    python bench/dashboard_load.py [--sessions 1,5,10,20] [--loads 4] [--no-job] [--browsers]

Prints, for each count, p50 / p95 / max page load, errors, and p95 as a ratio to one session's p95. With
``--browsers`` each session is a chromium page instead (navigation to the page heading with the run finished), as
people see it; the browsers then share the same 2 cores, so those figures measure the machine as much as the server.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.dashboard.test_browser import Server  # noqa: E402

PAGES = ["", "models", "jobs", "data", "train", "fairness", "robustness", "privacy", "compare", "report", "review",
         "explain", "ood", "compression", "safety", "language", "finetune", "generate"]
FINISHED = {0, 1}  # FINISHED_SUCCESSFULLY, FINISHED_WITH_COMPILE_ERROR (a fragment's run or a rerun is not the end)


def fmaudit(home: Path, *args: str) -> None:
    env = {**os.environ, "FMAUDIT_HOME": str(home), "FMAUDIT_THREADS": "1"}
    subprocess.run([sys.executable, "-m", "fmaudit", *args], check=True, env=env, capture_output=True)


def prepare(home: Path) -> None:
    """A store with two models, their audits and a filed report: what reviewers would open."""
    import json

    out = subprocess.run([sys.executable, "-m", "fmaudit", "train", "--dataset", "german_credit", "--model", "logreg",
                          "--epochs", "3", "--json"], check=True, capture_output=True, text=True,
                         env={**os.environ, "FMAUDIT_HOME": str(home), "FMAUDIT_THREADS": "1"})
    model = json.loads(out.stdout)["model_id"]
    fmaudit(home, "train", "--dataset", "digits", "--model", "seed_cnn", "--epochs", "2")
    for audit in ("performance", "fairness"):
        fmaudit(home, "audit", audit, "--model", model)
    fmaudit(home, "report", "--model", model, "--out", str(home / "reports"))


class Session:
    """One light client on one page."""

    def __init__(self, url: str, page: str):
        from websockets.sync.client import connect

        self.page = page
        self.ws = connect(url.replace("http", "ws") + "/_stcore/stream", subprotocols=["streamlit"],
                          max_size=2**26, open_timeout=60)

    def load(self, timeout: float = 120) -> tuple[float, bool]:
        """(seconds, ok) for one script run of the page."""
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        msg = BackMsg()
        msg.rerun_script.page_name = self.page
        msg.rerun_script.query_string = ""
        start = time.perf_counter()
        self.ws.send(msg.SerializeToString())
        ok = True
        while True:
            raw = self.ws.recv(timeout=max(1.0, timeout - (time.perf_counter() - start)))
            fwd = ForwardMsg()
            fwd.ParseFromString(raw)
            kind = fwd.WhichOneof("type")
            if kind == "page_not_found":
                raise RuntimeError(f"no page {self.page!r}")
            if kind == "delta" and fwd.delta.WhichOneof("type") == "new_element" \
                    and fwd.delta.new_element.WhichOneof("type") == "exception":
                ok = False
            if kind == "script_finished" and fwd.script_finished in FINISHED:
                return time.perf_counter() - start, ok

    def close(self) -> None:
        self.ws.close()


def run_count(url: str, count: int, loads: int, think: float) -> dict:
    """``count`` sessions, each on its own page (cycling through PAGES), each loading it ``loads`` times."""
    times, errors, lock = [], [], threading.Lock()

    def one(i: int) -> None:
        try:
            session = Session(url, PAGES[i % len(PAGES)])
        except Exception as exc:  # noqa: BLE001 - a refused connection is an error to count, not a crash
            with lock:
                errors.append(f"connect: {exc}")
            return
        try:
            for _ in range(loads):
                try:
                    seconds, ok = session.load()
                except Exception as exc:  # noqa: BLE001 - a timeout or a dropped connection
                    with lock:
                        errors.append(f"{session.page or 'home'}: {type(exc).__name__}")
                    break
                with lock:
                    times.append(seconds)
                    if not ok:
                        errors.append(f"{session.page or 'home'}: exception shown")
                time.sleep(think)
        finally:
            session.close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
        time.sleep(0.05)  # people do not arrive in the same millisecond
    for t in threads:
        t.join()
    return _summary(count, times, errors)


IDLE_JS = ("() => document.querySelector('[data-testid=\"stMain\"] h1') && (!document.querySelector("
           "'[data-testid=\"stStatusWidget\"]') || !document.querySelector('[data-testid=\"stStatusWidget\"]')"
           ".innerText.includes('Running'))")


def run_browsers(url: str, count: int, loads: int, think: float) -> dict:
    """Like ``run_count`` with ``count`` chromium pages (one browser, a context each), driven concurrently."""
    import asyncio

    from playwright.async_api import async_playwright

    from tests.dashboard.test_browser import CHROMIUM, CHROMIUM_ARGS

    times, errors = [], []

    async def one(browser, i: int) -> None:
        context = await browser.new_context(viewport={"width": 1400, "height": 1000})
        page = await context.new_page()
        name = PAGES[i % len(PAGES)]
        try:
            for _ in range(loads):
                start = time.perf_counter()
                try:
                    await page.goto(f"{url}/{name}")
                    await page.wait_for_function(IDLE_JS, timeout=120_000)
                except Exception as exc:  # noqa: BLE001 - a timeout is an error to count
                    errors.append(f"{name or 'home'}: {type(exc).__name__}")
                    break
                times.append(time.perf_counter() - start)
                if await page.locator('[data-testid="stException"]').count():
                    errors.append(f"{name or 'home'}: exception shown")
                await asyncio.sleep(think)
        finally:
            await context.close()

    async def drive() -> None:
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            await asyncio.gather(*(one(browser, i) for i in range(count)))
            await browser.close()

    asyncio.run(drive())
    return _summary(count, times, errors)


def _summary(count: int, times: list[float], errors: list[str]) -> dict:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))] if ordered else float("nan")
    return {"sessions": count, "loads": len(times), "p50": statistics.median(ordered) if ordered else float("nan"),
            "p95": p95, "max": ordered[-1] if ordered else float("nan"), "errors": errors}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", default="1,5,10,20")
    parser.add_argument("--loads", type=int, default=4, help="page loads per session")
    parser.add_argument("--think", type=float, default=0.5, help="seconds a reader pauses between loads")
    parser.add_argument("--no-job", action="store_true", help="no training in the background")
    parser.add_argument("--browsers", action="store_true", help="chromium pages instead of light clients")
    args = parser.parse_args()
    counts = [int(c) for c in args.sessions.split(",")]
    with tempfile.TemporaryDirectory(prefix="fmaudit-load-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        t = time.perf_counter()
        prepare(home)
        print(f"store prepared in {time.perf_counter() - t:.0f} s", flush=True)
        server = Server(home).start()
        job = None
        if not args.no_job:
            job = subprocess.Popen([sys.executable, "-m", "fmaudit", "train", "--dataset", "mnist", "--model",
                                    "seed_cnn", "--epochs", "50"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   env={**os.environ, "FMAUDIT_HOME": str(home), "FMAUDIT_THREADS": "1"})
        try:
            run_count(server.url, len(PAGES), 1, 0)  # warm the server's caches (every process pays this once)
            runner = run_browsers if args.browsers else run_count
            rows = [runner(server.url, n, args.loads, args.think) for n in counts]
        finally:
            if job:
                job.kill()
            server.stop()
    base = rows[0]["p95"]
    print(f"\n{'sessions':>8} {'loads':>6} {'p50 s':>7} {'p95 s':>7} {'max s':>7} {'p95 / 1 session':>16} errors")
    for r in rows:
        print(f"{r['sessions']:>8} {r['loads']:>6} {r['p50']:>7.2f} {r['p95']:>7.2f} {r['max']:>7.2f} "
              f"{r['p95'] / base:>16.2f} {len(r['errors'])} {sorted(set(r['errors']))[:4]}")
    worst = next((r for r in rows if r["sessions"] == 20), rows[-1])
    print(f"\ngoal: p95 < 3 s at 20 sessions; measured {worst['p95']:.2f} s at {worst['sessions']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
