"""A small Chrome DevTools Protocol client over Debian's python3-websockets, for
the browser tests: launches the system's headless Chromium with a fresh profile
and no network beyond loopback, opens pages, evaluates script in them, takes
screenshots. Test support; one asyncio loop."""

import asyncio
import base64
import itertools
import json
import os
import shutil
import subprocess
import tempfile
import time

import websockets

CHROMIUM = os.environ.get("WSGW_CHROMIUM", "/usr/bin/chromium")


class CdpError(Exception):
    pass


class Browser:
    """A headless Chromium and one DevTools connection to it (flat sessions)."""

    def __init__(self, process, profile, connection, log_path):
        self.process = process
        self.profile = profile
        self.connection = connection
        self.log_path = log_path
        self._ids = itertools.count(1)
        self._pending = {}
        self._listeners = []  # (session_id, method, callback)
        self._reader = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    async def launch(cls, log_path, timeout=30):
        profile = tempfile.mkdtemp(prefix="wsgw-chromium-")
        args = [
            CHROMIUM,
            "--headless",
            "--no-sandbox",  # the tests run as root, where Chromium's sandbox refuses to start
            "--disable-gpu",
            f"--user-data-dir={profile}",
            "--remote-debugging-port=0",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            # Nothing but the pages' own loopback traffic: no updates, sync, pings or lookups.
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-default-apps",
            "--disable-domain-reliability",
            "--disable-client-side-phishing-detection",
            "--no-pings",
            "--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            # Timers in every tab run on time, whether the tab is in front or not.
            "--disable-background-timer-throttling",
            "--disable-renderer-backgrounding",
            "--disable-backgrounding-occluded-windows",
            "--window-size=1100,800",
            "about:blank",
        ]
        log = open(log_path, "wb")
        process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        log.close()
        # --remote-debugging-port=0: Chromium picks a port and writes it, with the
        # browser target's path, to DevToolsActivePort in the profile.
        active = os.path.join(profile, "DevToolsActivePort")
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise CdpError(f"chromium exited with {process.returncode}; see {log_path}")
            try:
                with open(active) as f:
                    lines = f.read().split()
                if len(lines) >= 2:
                    break
            except FileNotFoundError:
                pass
            if time.monotonic() > deadline:
                process.kill()
                raise CdpError(f"chromium wrote no DevToolsActivePort within {timeout} s; see {log_path}")
            await asyncio.sleep(0.05)
        url = f"ws://127.0.0.1:{lines[0]}{lines[1]}"
        connection = await websockets.connect(url, max_size=None, ping_interval=None, open_timeout=timeout)
        return cls(process, profile, connection, log_path)

    async def _read(self):
        try:
            async for raw in self.connection:
                message = json.loads(raw)
                if "id" in message:
                    future = self._pending.pop(message["id"], None)
                    if future and not future.done():
                        future.set_result(message)
                    continue
                for session, method, callback in list(self._listeners):
                    if method == message.get("method") and session == message.get("sessionId"):
                        callback(message.get("params", {}))
        except websockets.ConnectionClosed:
            pass
        finally:
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(CdpError("the DevTools connection closed"))

    async def send(self, method, params=None, session=None, timeout=30):
        message_id = next(self._ids)
        message = {"id": message_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        future = asyncio.get_running_loop().create_future()
        self._pending[message_id] = future
        await self.connection.send(json.dumps(message))
        reply = await asyncio.wait_for(future, timeout)
        if "error" in reply:
            raise CdpError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def listen(self, session, method, callback):
        entry = (session, method, callback)
        self._listeners.append(entry)
        return lambda: self._listeners.remove(entry)

    async def new_page(self, width=1100, height=800):
        target = await self.send("Target.createTarget", {"url": "about:blank"})
        attached = await self.send("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True})
        page = Page(self, target["targetId"], attached["sessionId"])
        await page.start(width, height)
        return page

    async def close(self):
        try:
            await self.send("Browser.close", timeout=5)
        except (CdpError, asyncio.TimeoutError, websockets.ConnectionClosed):
            pass
        try:
            await asyncio.wait_for(self.connection.close(), 5)
        except asyncio.TimeoutError:
            pass
        self._reader.cancel()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


class JsError(Exception):
    pass


class Page:
    """One tab: navigation, script evaluation, polling, screenshots; keeps its console."""

    def __init__(self, browser, target_id, session):
        self.browser = browser
        self.target_id = target_id
        self.session = session
        self.console = []
        self.requests = []  # URLs the page asked for

    async def start(self, width, height):
        def on_console(params):
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
            self.console.append(f"{params.get('type')}: {text}")

        def on_exception(params):
            details = params.get("exceptionDetails", {})
            self.console.append(f"exception: {details.get('exception', {}).get('description', details.get('text'))}")

        self.browser.listen(self.session, "Runtime.consoleAPICalled", on_console)
        self.browser.listen(self.session, "Runtime.exceptionThrown", on_exception)
        self.browser.listen(self.session, "Network.requestWillBeSent",
                            lambda p: self.requests.append(p["request"]["url"]))
        for method in ("Page.enable", "Runtime.enable", "Network.enable"):
            await self.send(method)
        await self.send("Emulation.setDeviceMetricsOverride",
                        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})

    async def send(self, method, params=None, timeout=30):
        return await self.browser.send(method, params, self.session, timeout)

    async def navigate(self, url, timeout=20):
        loaded = asyncio.get_running_loop().create_future()
        stop = self.browser.listen(self.session, "Page.loadEventFired",
                                   lambda p: loaded.done() or loaded.set_result(True))
        try:
            result = await self.send("Page.navigate", {"url": url})
            if result.get("errorText"):
                raise CdpError(f"navigating to {url}: {result['errorText']}")
            await asyncio.wait_for(loaded, timeout)
        finally:
            stop()

    async def evaluate(self, expression, timeout=20):
        """The value of EXPRESSION (awaited if a promise), as JSON."""
        result = await self.send("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                                      "returnByValue": True}, timeout)
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise JsError(details.get("exception", {}).get("description", details.get("text")))
        return result["result"].get("value")

    async def wait_for(self, expression, timeout, what=None, interval=0.05):
        """Polls EXPRESSION until it is truthy; returns its value. Fails after TIMEOUT seconds."""
        deadline = time.monotonic() + timeout
        value = None
        while time.monotonic() < deadline:
            try:
                value = await self.evaluate(expression)
            except JsError:
                value = None  # e.g. the page's module has not run yet
            if value:
                return value
            await asyncio.sleep(interval)
        raise AssertionError(f"timed out after {timeout} s waiting for {what or expression} "
                             f"(last value {value!r}); console: {self.console[-20:]}")

    async def screenshot(self, path):
        await self.send("Page.bringToFront")
        # The page's content, not the empty rest of the window: a smaller PNG.
        width, height = await self.evaluate("[document.documentElement.scrollWidth, document.body.scrollHeight]")
        data = await self.send("Page.captureScreenshot", {
            "format": "png", "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}})
        png = base64.b64decode(data["data"])
        with open(path, "wb") as f:
            f.write(png)
        return png
