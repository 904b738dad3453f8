#!/usr/bin/env python3
"""Issue 14 in a real browser: Debian's headless Chromium, driven over the
DevTools protocol (cdp.py), loads a page from its own origin that imports
/wsgw.js from a real gateway on ephemeral ports (gateway.py), and the tests
read what happens from the page's DOM and records, and from /stat.

    browser_test.py TEST_NAME...   (ctest runs one test per process)

Needs WSGW_BIN and WSGW_ADMIN_BIN; writes logs and the dashboard screenshot to
WSGW_TEST_OUT. Exits 77 (ctest's SKIP_RETURN_CODE) when chromium, or for the
Node test node and node-ws, is not installed. No sleeps: every wait polls a
condition until a deadline."""

import asyncio
import functools
import http.server
import json
import logging
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from gateway import Gateway  # noqa: E402

WSGW = os.environ.get("WSGW_BIN", "")
ADMIN = os.environ.get("WSGW_ADMIN_BIN", "")
OUT = os.environ.get("WSGW_TEST_OUT") or tempfile.gettempdir()
NODE = shutil.which("node")
NODE_WS = "/usr/share/nodejs/ws"
CHROMIUM = os.environ.get("WSGW_CHROMIUM", "/usr/bin/chromium")  # cdp.py launches the same

# IsolatedAsyncioTestCase runs its loop in debug mode, which logs every step
# that blocks for 0.1 s (our synchronous gateway calls): not a problem here.
logging.getLogger("asyncio").setLevel(logging.ERROR)


def now_ms():
    return time.time() * 1000  # the same clock as the page's Date.now()


async def until(predicate, timeout, what, interval=0.05):
    """Polls PREDICATE (a plain function) until it returns something truthy; returns it."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(interval)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class PageServer:
    """tests/browser/pages/ on a loopback port of its own: another origin than the gateway's."""

    def __init__(self):
        handler = functools.partial(QuietHandler, directory=os.path.join(HERE, "pages"))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def texts_js(selector):
    return f"[...document.querySelectorAll({json.dumps(selector)})].map((e) => e.textContent)"


class BrowserTest(unittest.IsolatedAsyncioTestCase):
    async def asyncSetUp(self):
        self.out = os.path.join(OUT, self._testMethodName)
        shutil.rmtree(self.out, ignore_errors=True)
        os.makedirs(self.out)
        self.tmp = tempfile.mkdtemp(prefix="wsgw-browser-")  # short: it holds the notify socket
        self.gateway = Gateway(WSGW, ADMIN, self.tmp)
        self.pages = PageServer()
        self.browser = None
        self.opened = []

    async def asyncTearDown(self):
        for page in self.opened:
            with open(os.path.join(self.out, f"console-{page.target_id[:8]}.log"), "w") as f:
                f.write("\n".join(page.console))
        if self.browser:
            await self.browser.close()
        self.pages.close()
        try:
            self.gateway.close()
        finally:
            if os.path.exists(self.gateway.log_path):
                shutil.copy(self.gateway.log_path, self.out)
            shutil.rmtree(self.tmp, ignore_errors=True)

    async def page(self, path="client.html", **query):
        import cdp

        if not self.browser:
            self.browser = await cdp.Browser.launch(os.path.join(self.out, "chromium.log"))
        page = await self.browser.new_page()
        self.opened.append(page)
        if path is not None:
            from urllib.parse import urlencode

            await page.navigate(f"{self.pages.url}/{path}?{urlencode({'gw': self.gateway.port, **query})}")
            await page.wait_for("window.T && T.ready", 10, "the page's module to load wsgw.js")
        return page

    # ---- the tests ----

    async def test_pushes_in_order(self):
        """A page on another origin imports /wsgw.js, logs in as a member, subscribes and shows pushes."""
        gw = self.gateway.start()
        gw.add_app("match")
        gw.add_member(42, "token-of-42-abcdef")
        page = await self.page(app="match", member=42, token="token-of-42-abcdef")
        await page.wait_for("document.getElementById('state').textContent === 'open'", 10, "the hello")
        await until(lambda: gw.subscribers("match") == 1, 10, "the page's subscription")

        texts = ['first <b>not bold</b> & "quoted"', "второй — ✓ 😀", '{"third":3}']
        self.assertEqual(gw.push("match", texts[0])[0], 202)
        status, body = gw.push("match", texts[1], member_id=42)  # to this member only
        self.assertEqual((status, body["recipients"]), (202, 1))
        status, body = gw.push("match", "for member 43", member_id=43)
        self.assertEqual((status, body["recipients"]), (202, 0))
        self.assertEqual(gw.push("match", texts[2])[0], 202)
        # Pushes arrive in order on one connection: the third one's arrival means
        # nothing else is on its way.
        shown = await page.wait_for(f"(() => {{ const l = {texts_js('#pushes li')}; return l.length >= 3 && l; }})()",
                                    10, "three pushes in the DOM")
        self.assertEqual(shown, texts)
        record = await page.evaluate("T.clients[0]")
        self.assertEqual([p["memberId"] for p in record["pushes"]], [-1, 42, -1])
        self.assertEqual(record["errors"], [])
        self.assertEqual([e["state"] for e in record["events"]], ["connecting", "open"])
        self.assertIn(f"http://127.0.0.1:{gw.port}/wsgw.js", page.requests, "imported across origins (CORS)")

    async def test_reconnect_after_restart(self):
        """The gateway is killed and restarted on the same port: the page reconnects within its
        backoff, asks for a fresh token, resubscribes, and a push after the restart arrives."""
        gw = self.gateway.start()
        gw.add_app("match")
        gw.add_member(42, "token-of-42-abcdef")
        page = await self.page()
        await page.evaluate("T.create({memberId: 42, tokens: ['token-of-42-abcdef'], apps: ['match'], render: true})")
        await until(lambda: gw.subscribers("match") == 1, 10, "the page's subscription")
        self.assertEqual(gw.push("match", "before")[0], 202)
        await page.wait_for(f"{texts_js('#pushes li')}.length === 1", 10, "the push before the restart")

        killed_at = now_ms()
        self.assertEqual(await asyncio.to_thread(gw.stop, signal.SIGKILL), -signal.SIGKILL)
        await page.wait_for("T.clients[0].events.some((e) => e.state === 'closed')", 10, "the page to see the loss")
        await asyncio.to_thread(gw.start)
        ready_at = now_ms()
        await page.wait_for("T.clients[0].events.filter((e) => e.state === 'open').length === 2", 20, "the reconnect")
        await until(lambda: gw.subscribers("match") == 1, 10, "the resubscription")
        self.assertEqual(gw.push("match", "after restart")[0], 202)
        shown = await page.wait_for(f"(() => {{ const l = {texts_js('#pushes li')}; return l.length >= 2 && l; }})()",
                                    10, "the push after the restart")
        self.assertEqual(shown, ["before", "after restart"])

        record = await page.evaluate("T.clients[0]")
        events = [e for e in record["events"] if e["t"] >= killed_at]
        closes = [e for e in events if e["state"] == "closed"]
        attempts = [e for e in events if e["state"] == "connecting"]
        opened = [e for e in events if e["state"] == "open"][0]
        self.assertGreaterEqual(len(closes), 1)
        self.assertEqual(len(attempts), len(closes))
        for k, (close, attempt) in enumerate(zip(closes, attempts)):
            self.assertEqual(close["code"], 1006)  # killed: no close frame
            self.assertTrue(close["reconnect"])
            self.assertLess(close["delay"], min(30000, 1000 * 2 ** k), f"attempt {k} waits within its window")
            # Each attempt starts when its delay ends (timers are not throttled).
            self.assertGreaterEqual(attempt["t"] - close["t"], close["delay"] - 5)
            self.assertLess(attempt["t"] - close["t"], close["delay"] + 1000)
        last = closes[-1]
        self.assertLess(opened["t"] - max(ready_at, last["t"] + last["delay"]), 1000,
                        "connected as soon as its backoff allowed once the gateway was back")
        self.assertEqual(record["tokenCalls"], 1 + len(attempts), "getToken before every connection")
        sockets = await page.evaluate("T.sockets()")
        self.assertEqual([json.loads(m) for m in sockets[-1]["sent"]],
                         [{"member_id": 42, "token": "token-of-42-abcdef"}, {"app": "match"}])
        print(f"reconnect after kill: {len(attempts)} attempt(s), delays {[c['delay'] for c in closes]} ms, "
              f"open {opened['t'] - ready_at:.0f} ms after the gateway was ready")

    async def test_reconnect_spread(self):
        """200 clients in 10 tabs lose the gateway at one instant (a restart: close 1001) and spread
        their reconnects over the backoff window instead of storming back at once."""
        count, tabs = 200, 10  # tabs: Chromium throttles many pending WebSockets per renderer
        gw = self.gateway.start()
        gw.add_app("match")
        pages = [await self.page() for _ in range(tabs)]
        for page in pages:
            await page.evaluate(f"for (let i = 0; i < {count // tabs}; ++i) T.create({{apps: ['match']}}); true")
        await until(lambda: gw.subscribers("match") == count, 30, f"{count} subscriptions")

        stopped_at = now_ms()
        self.assertEqual(await asyncio.to_thread(gw.stop), 0)
        await asyncio.to_thread(gw.start)
        ready_at = now_ms()
        await until(lambda: gw.subscribers("match") == count, 40, f"{count} resubscriptions")

        clients = [events for page in pages for events in await page.evaluate("T.clients.map((c) => c.events)")]
        closes, attempts, opens, tries, handshakes = [], [], [], [], []
        for events in clients:
            later = [e for e in events if e["t"] >= stopped_at - 20]  # Date.now() has ms steps
            i = next(i for i, e in enumerate(later) if e["state"] == "closed")
            self.assertEqual((later[i]["code"], later[i]["reconnect"]), (1001, True), later[i])
            closes.append(later[i])
            attempts.append(next(e for e in later[i:] if e["state"] == "connecting"))
            j = next(j for j in range(i, len(later)) if later[j]["state"] == "open")
            opens.append(later[j])
            tried = [e for e in later[i:j] if e["state"] == "connecting"]
            tries.append(len(tried))
            handshakes.append(later[j]["t"] - tried[-1]["t"])  # from new WebSocket() to the hello
        delays = [c["delay"] for c in closes]
        t0 = min(c["t"] for c in closes)
        starts = [a["t"] - t0 for a in attempts]
        reopened = [o["t"] - t0 for o in opens]
        buckets = [0] * 10
        for d in delays:
            buckets[int(d // 100)] += 1
        summary = {
            "clients": count,
            "close_spread_ms": max(c["t"] for c in closes) - t0,
            "gateway_down_ms": round(ready_at - stopped_at),
            "first_delay_ms": {"min": min(delays), "median": statistics.median(delays), "max": max(delays),
                               "stdev": round(statistics.pstdev(delays))},
            "delay_buckets_100ms": buckets,
            "first_attempt_spread_ms": max(starts) - min(starts),
            "reconnected_ms": {"first": min(reopened), "median": statistics.median(reopened), "last": max(reopened)},
            # Attempts before the gateway was back fail and back off again; Chromium also
            # holds new WebSockets of a renderer that saw many fail (its own throttle).
            "clients_needing_retries": sum(1 for n in tries if n > 1),
            "attempts": {"max": max(tries), "total": sum(tries)},
            "successful_attempt_to_hello_ms": {"median": statistics.median(handshakes), "max": max(handshakes)},
        }
        with open(os.path.join(self.out, "reconnect_spread.json"), "w") as f:
            json.dump(summary, f, indent=2)
        print("reconnect spread:", json.dumps(summary))
        # The trigger was one instant; the answers are spread over [0, 1000 ms), uniformly.
        self.assertLess(summary["close_spread_ms"], 1000)
        self.assertTrue(all(0 <= d < 1000 for d in delays), delays)
        self.assertGreater(max(delays) - min(delays), 800)
        self.assertGreater(summary["first_delay_ms"]["stdev"], 200)  # uniform: 289
        self.assertLessEqual(max(buckets), count * 0.2, f"no tenth of the window holds a crowd: {buckets}")
        self.assertGreater(summary["first_attempt_spread_ms"], 700, "the attempts themselves are spread")
        self.assertGreater(summary["reconnected_ms"]["last"] - summary["reconnected_ms"]["first"], 500)

    async def test_revoked_grant(self):
        """A revoked grant ends the subscription; the page is told 403 and does not retry it."""
        gw = self.gateway.start()
        gw.add_app("vip", "--private")
        gw.add_app("match")
        gw.add_member(42, "token-of-42-abcdef")
        gw.admin("app", "grant", "vip", "42")
        page = await self.page()
        await page.evaluate("T.create({memberId: 42, token: 'token-of-42-abcdef', apps: ['vip', 'match'], "
                            "render: true})")
        await until(lambda: gw.subscribers("vip") == 1 and gw.subscribers("match") == 1, 10, "both subscriptions")
        self.assertEqual(gw.push("vip", "vip before")[0], 202)
        await page.wait_for("T.clients[0].pushes.length === 1", 10, "the vip push")

        gw.admin("app", "revoke", "vip", "42")
        await page.wait_for(f"{texts_js('#errors li')}.includes('403 subscribe vip forbidden')", 10,
                            "the 403 in the page")
        status, body = gw.push("vip", "vip after")
        self.assertEqual((status, body["recipients"]), (202, 0))
        self.assertEqual(gw.push("match", "match after")[0], 202)
        await page.wait_for("T.clients[0].pushes.length === 2", 10, "the match push")
        record = await page.evaluate("T.clients[0]")
        self.assertEqual([p["text"] for p in record["pushes"]], ["vip before", "match after"])
        self.assertEqual([(e["type"], e["app"], e["code"], e["revoked"]) for e in record["errors"]],
                         [("subscribe", "vip", 403, True)])
        self.assertEqual(await page.evaluate("T.gateways[0].apps()"), ["match"])

        # No retry: not now, and not on the next connection either. Drop the socket
        # under the client (as a network failure would) and let it reconnect.
        await page.evaluate("T.raw.at(-1).close(4000, 'test drops the connection')")
        await page.wait_for("T.clients[0].events.filter((e) => e.state === 'open').length === 2", 10, "the reconnect")
        await until(lambda: gw.subscribers("match") == 1, 10, "the resubscription")
        sent = [json.loads(m) for s in await page.evaluate("T.sockets()") for m in s["sent"]]
        self.assertEqual(sent.count({"app": "vip"}), 1, sent)
        self.assertEqual(sent.count({"app": "match"}), 2, sent)
        record = await page.evaluate("T.clients[0]")
        self.assertEqual(len(record["errors"]), 1)
        self.assertEqual(gw.subscribers("vip"), 0)

    async def test_dashboard(self):
        """The dashboard at / on the stat port shows the right numbers as clients connect and pushes flow."""
        gw = self.gateway.start()
        gw.add_app("match")
        gw.add_app("im", "--members")
        gw.add_app("vip", "--private")
        gw.add_member(42, "token-of-42-abcdef")
        gw.add_member(43, "token-of-43-abcdef")
        clients = await self.page()
        await clients.evaluate("""
            T.create({apps: ['match']});
            T.create({apps: ['match']});
            T.create({memberId: 42, token: 'token-of-42-abcdef', apps: ['match', 'im']});
            T.create({memberId: 43, token: 'token-of-43-abcdef', apps: ['im']});
            T.create({memberId: 44, token: 'wrong', apps: ['im']});  // 401: one auth failure, then it stops
            true""")
        await until(lambda: gw.subscribers("match") == 3 and gw.subscribers("im") == 2, 10, "the subscriptions")
        await clients.wait_for("T.clients[4].events.some((e) => e.state === 'closed')", 10, "the refused login")

        dashboard = await self.page(path=None)
        await dashboard.navigate(f"http://127.0.0.1:{gw.stat_port}/")
        text = lambda element_id: f"document.getElementById({json.dumps(element_id)}).textContent"  # noqa: E731
        await dashboard.wait_for(f"{text('connections')} === '4'", 10, "4 connections on the dashboard")

        async def cell(app, column):
            return await dashboard.evaluate(f"document.querySelector('tr[data-app=\"{app}\"] td.{column}')"
                                            f"?.textContent")

        await dashboard.wait_for(f"document.querySelector('tr[data-app=\"match\"] td.subscribers')?.textContent "
                                 f"=== '3'", 10, "match's subscribers")
        self.assertEqual(await cell("im", "subscribers"), "2")
        self.assertEqual(await cell("im", "members"), "2")
        self.assertEqual(await cell("vip", "subscribers"), "0")
        self.assertEqual(await cell("vip", "visibility"), "private")
        self.assertEqual(await dashboard.evaluate(text("authenticated")), "2")
        self.assertEqual(await dashboard.evaluate(text("anonymous")), "2")
        self.assertEqual(await dashboard.evaluate(text("auth-failures")), "1")
        self.assertEqual(await dashboard.evaluate(text("slow-consumers")), "0")
        self.assertEqual(await dashboard.evaluate(text("generation")), str(gw.stat()["generation"]))

        # Pushes flow at 20/s for 4 s to match (3 subscribers each): the rates show it.
        pushes = 80
        stop = threading.Event()

        def flow():
            try:
                start = time.monotonic()
                for i in range(pushes):
                    time.sleep(max(0.0, start + i / 20 - time.monotonic()))  # pacing the sender, not waiting
                    status, _ = gw.push("match", f"tick {i}")
                    assert status == 202, status
            finally:
                stop.set()

        sender = asyncio.create_task(asyncio.to_thread(flow))
        rates = []
        while not stop.is_set():
            rates.append(await dashboard.evaluate(f"[{text('pushes-rate')}, {text('deliveries-rate')}]"))
            await asyncio.sleep(0.25)
        await sender
        steady = [(float(p), float(d)) for p, d in rates if p not in ("–", "") and 10 <= float(p) <= 30]
        self.assertTrue(steady, f"pushes/s near 20 at some point while pushing: {rates}")
        self.assertTrue(any(abs(d - 3 * p) <= 0.35 * 3 * p for p, d in steady), f"deliveries/s = 3 x pushes/s: {rates}")
        await dashboard.wait_for(f"{text('pushes-total')} === '{pushes}' && {text('deliveries-total')} === "
                                 f"'{3 * pushes}'", 10, "the totals")
        await clients.wait_for(f"T.clients[0].pushes.length === {pushes}", 10, "every push delivered")
        points = await dashboard.evaluate("document.getElementById('line-pushes').getAttribute('points')")
        self.assertGreater(len(points.split()), 3, "the chart has a line")

        png = await dashboard.screenshot(os.path.join(self.out, "dashboard.png"))
        self.assertEqual(png[:8], b"\x89PNG\r\n\x1a\n")
        self.assertGreater(len(png), 10_000)
        # Air-gapped: the page asked its own port for everything.
        self.assertTrue(dashboard.requests)
        self.assertTrue(all(u.startswith(f"http://127.0.0.1:{gw.stat_port}/") for u in dashboard.requests),
                        dashboard.requests)

    async def test_node_client(self):
        """wsgw.js under Node with Debian's node-ws as its WebSocket, against the real gateway."""
        gw = self.gateway.start()
        gw.add_app("match")
        script = f"""
import {{ createRequire }} from "node:module";
import {{ Gateway }} from {json.dumps(os.path.join(os.path.dirname(os.path.dirname(HERE)), "gateway/web/wsgw.js"))};
const WebSocket = createRequire(import.meta.url)({json.dumps(NODE_WS)});
const gw = new Gateway("ws://127.0.0.1:{gw.port}/ws", {{ WebSocket }});
gw.on("state", (s) => console.log("state " + s.state));
let n = 0;
gw.subscribe("match", (text) => {{ console.log("push " + text); if (++n === 2) gw.close(); }});
setTimeout(() => process.exit(2), 15000).unref();
"""
        path = os.path.join(self.tmp, "client.mjs")
        with open(path, "w") as f:
            f.write(script)
        node = subprocess.Popen([NODE, path], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            await until(lambda: gw.subscribers("match") == 1 or node.poll() is not None, 10, "node's subscription")
            self.assertEqual(gw.push("match", "one")[0], 202)
            self.assertEqual(gw.push("match", "two ✓")[0], 202)
            out, err = await asyncio.to_thread(node.communicate, timeout=15)
        finally:
            if node.poll() is None:
                node.kill()
        self.assertEqual(node.returncode, 0, err)
        self.assertEqual(out.splitlines(), ["state connecting", "state open", "push one", "push two ✓", "state closed"])


def missing_for(name):
    if name == "test_node_client":
        if not NODE:
            return "node is not installed (apt-get install nodejs)"
        if not os.path.exists(NODE_WS):
            return "node-ws is not installed (apt-get install node-ws)"
        return None
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} is not installed (apt-get install chromium)"
    return None


def main():
    names = sys.argv[1:] or [n for n in unittest.TestLoader().getTestCaseNames(BrowserTest)]
    if not WSGW or not ADMIN:
        print("WSGW_BIN and WSGW_ADMIN_BIN must name the built binaries", file=sys.stderr)
        return 2
    runnable = []
    for name in names:
        reason = missing_for(name)
        if reason:
            print(f"SKIPPED {name}: {reason}")
        else:
            runnable.append(name)
    if not runnable:
        return 77
    os.makedirs(OUT, exist_ok=True)
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(
        unittest.TestSuite(BrowserTest(n) for n in runnable))
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
