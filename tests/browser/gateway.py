"""The real wsgw and wsgw-admin binaries for the browser tests: a temp INI and
SQLite file, ephemeral ports (kept across a restart, so pages reconnect to the
same address), readiness from $NOTIFY_SOCKET as systemd sees it. Test support."""

import json
import os
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request

SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer", "ThreadSanitizer", "runtime error:")


def wait_until(predicate, timeout, what, interval=0.05):
    """Polls PREDICATE until it returns something truthy; returns it. Fails after TIMEOUT seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


class Gateway:
    def __init__(self, wsgw, admin, directory, settings=None):
        self.wsgw = wsgw
        self.admin_bin = admin
        self.dir = directory
        self.ini = os.path.join(directory, "wsgw.ini")
        self.db = os.path.join(directory, "wsgw.db")
        self.log_path = os.path.join(directory, "wsgw.log")
        self.settings = {"server.port": "0", "server.stat_port": "0", "server.address": "127.0.0.1",
                         "db.path": self.db, "db.poll_interval_ms": "50", **(settings or {})}
        self.process = None
        self.port = self.stat_port = None
        self.keys = {}
        self.starts = 0

    # ---- process ----

    def start(self):
        """Starts wsgw; after the first start it reuses the same ports. Returns when READY=1 arrived."""
        if self.port:
            self.settings["server.port"] = str(self.port)
            self.settings["server.stat_port"] = str(self.stat_port)
        sections = {}
        for key, value in self.settings.items():
            section, name = key.split(".", 1)
            sections.setdefault(section, {})[name] = value
        with open(self.ini, "w") as f:
            for section, keys in sections.items():
                f.write(f"[{section}]\n" + "".join(f"{k} = {v}\n" for k, v in keys.items()))
        notify_path = os.path.join(self.dir, f"notify-{self.starts}")
        self.starts += 1
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(notify_path)
        notify.settimeout(0.1)
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen([self.wsgw, "--config", self.ini], stdin=subprocess.DEVNULL, stdout=log,
                                        stderr=log, env={**os.environ, "NOTIFY_SOCKET": notify_path})
        log.close()
        deadline = time.monotonic() + 20
        try:
            while True:
                try:
                    if b"READY=1" in notify.recv(512):
                        break
                except socket.timeout:
                    pass
                if self.process.poll() is not None:
                    raise AssertionError(f"wsgw exited with {self.process.returncode} during startup:\n{self.log()}")
                if time.monotonic() > deadline:
                    raise AssertionError(f"wsgw did not report READY=1 within 20 s:\n{self.log()}")
        finally:
            notify.close()
            os.unlink(notify_path)
        with open(self.db + ".gateway.json") as f:
            runtime = json.load(f)
        self.port, self.stat_port = runtime["port"], runtime["stat_port"]
        return self

    def stop(self, sig=signal.SIGTERM, timeout=15):
        """Sends SIG and waits; returns the exit status (negative: killed by a signal)."""
        if not self.process:
            return None
        self.process.send_signal(sig)
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"wsgw did not stop within {timeout} s of signal {sig}")
        self.process = None
        return code

    def close(self):
        """Stops a running gateway cleanly (SPEC §4: exit 0) and fails on any sanitizer report."""
        if self.process:
            code = self.stop()
            if code != 0:
                raise AssertionError(f"wsgw exited with {code} after SIGTERM:\n{self.log()}")
        text = self.log()
        for marker in SANITIZER_MARKERS:
            if marker in text:
                raise AssertionError(f"wsgw reported {marker}:\n{text}")

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    # ---- administration ----

    def admin(self, *args, check=True):
        """wsgw-admin --config <ini> ARGS, then waits until the gateway serves the change."""
        result = subprocess.run([self.admin_bin, "--config", self.ini, *args], capture_output=True, text=True,
                                timeout=30)
        if check and result.returncode != 0:
            raise AssertionError(f"wsgw-admin {' '.join(args)} failed ({result.returncode}): {result.stderr}")
        self.sync()
        return result

    def add_app(self, name, flag=None):
        result = self.admin("--json", "app", "add", name, *([flag] if flag else []))
        self.keys[name] = json.loads(result.stdout)["push_key"]
        return self.keys[name]

    def add_member(self, member_id, token):
        result = subprocess.run([self.admin_bin, "--config", self.ini, "member", "add", str(member_id),
                                 "--token-file", "-"], input=token + "\n", capture_output=True, text=True, timeout=30)
        if result.returncode != 0:
            raise AssertionError(f"member add {member_id} failed: {result.stderr}")
        self.sync()

    def sync(self, timeout=5):
        """Waits until /stat?format=json reports the database's generation (issue 2's contract)."""
        if not self.process:
            return
        with sqlite3.connect(self.db, timeout=5) as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        target = int(row[0]) if row else 0
        wait_until(lambda: self.stat()["generation"] >= target, timeout, f"generation {target}")

    # ---- HTTP ----

    def stat(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.stat_port}/stat?format=json", timeout=5) as r:
            return json.load(r)

    def subscribers(self, app):
        return next((a["subscribers"] for a in self.stat()["apps"] if a["app"] == app), None)

    def push(self, app, text, member_id=None):
        """POST /push with the app's key; returns (status, JSON body)."""
        body = {"app": app, "text": text}
        if member_id is not None:
            body["member_id"] = member_id
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/push", data=json.dumps(body).encode(),
                                         headers={"Authorization": f"Bearer {self.keys[app]}",
                                                  "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=5) as r:
                return r.status, json.load(r)
        except urllib.error.HTTPError as e:
            return e.code, json.load(e)
