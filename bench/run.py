#!/usr/bin/env python3
"""make bench / make bench-smoke: wsgw against Nchan on the same machine.

Each peer runs pinned to CPU 0 (wsgw with one event loop, Nchan with one
worker), the load generator pinned to CPU 1. Every scenario runs for both
peers, alternating which goes first, REPEATS times; the table shows the median
[min-max] of each figure for both, the wsgw/Nchan ratio, the target and
whether it is met. Results also go to bench/results/latest.json.
Only 127.0.0.1 is used; every server and run has a deadline.
"""
import argparse, json, os, resource, select, shutil, signal, socket, statistics, subprocess, sys, tempfile, threading, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, deadline=20):
    end = time.time() + deadline
    while time.time() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port} after {deadline} s")


def raise_nofile():
    """In the child: soft open-file limit up to the hard one (each client is one fd)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Wsgw:
    name = "wsgw"

    def __init__(self, build, cluster="", cpu="0"):
        self.binary = os.path.join(build, "gateway", "wsgw")
        self.admin = os.path.join(build, "admin-cli", "wsgw-admin")
        self.cluster, self.cpu = cluster, cpu  # cluster: extra INI text ([cluster] section)

    def start(self, workdir, extra="", members=0, setup=()):
        """EXTRA: more INI sections; MEMBERS: members 1000000.. with tokens bench-token-I, imported first;
        SETUP: wsgw-admin argument lists run before the start."""
        ini = os.path.join(workdir, "wsgw.ini")
        db = os.path.join(workdir, "wsgw.db")
        with open(ini, "w") as f:
            f.write(f"""[server]
address = 127.0.0.1
port = 0
stat_address = 127.0.0.1
stat_port = 0
threads = 1
[http]
max_connections_per_ip = 0
max_requests_per_s = 0
[push]
require_key = false
[apps]
unknown = public
[limits]
max_connections_per_ip = 0
max_connections = 0
[db]
path = {db}
{self.cluster}
{extra}""")
        if members:
            csv = os.path.join(workdir, "members.csv")
            with open(csv, "w") as f:
                f.writelines(f"{1000000 + i},bench-token-{i}\n" for i in range(members))
            subprocess.run([self.admin, "--config", ini, "member", "import", csv], check=True,
                           capture_output=True, timeout=300)
        for command in setup:
            subprocess.run([self.admin, "--config", ini] + list(command), check=True, capture_output=True, timeout=60)
        # Ready means READY=1 on $NOTIFY_SOCKET; the ports come from <db>.gateway.json.
        notify_path = os.path.join(workdir, "notify.sock")
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(notify_path)
        self.log = open(os.path.join(workdir, "wsgw.log"), "w")
        env = dict(os.environ, NOTIFY_SOCKET=notify_path)
        self.proc = subprocess.Popen(["taskset", "-c", self.cpu, self.binary, "--config", ini], env=env,
                                     stdout=self.log, stderr=subprocess.STDOUT, preexec_fn=raise_nofile)
        try:
            deadline = time.time() + 30
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"wsgw exited with {self.proc.returncode} while starting "
                                       f"(log: {open(self.log.name).read()[-500:]})")
                if time.time() > deadline:
                    raise RuntimeError("wsgw sent no READY=1 within 30 s")
                notify.settimeout(0.2)
                try:
                    if b"READY=1" in notify.recv(4096):
                        break
                except socket.timeout:
                    pass
        finally:
            notify.close()
        with open(db + ".gateway.json") as f:
            self.port = json.load(f)["port"]
        return self.proc.pid

    pending = []

    def stop(self, defer=False):
        """SIGTERM, then wait up to 20 s for exit code 0. With DEFER (smoke), finish() waits instead:
        after some runs wsgw takes about 9.5 s to exit, which the smoke's 30 s cannot afford."""
        self.proc.send_signal(signal.SIGTERM)
        if defer:
            self.pending.append((self.proc, self.log, time.time()))
            return
        self.log.close()
        self.wait(self.proc, time.time())

    @staticmethod
    def wait(proc, since):
        try:
            proc.wait(timeout=max(1.0, 20 - (time.time() - since)))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise RuntimeError("wsgw did not stop on SIGTERM within 20 s")
        if proc.returncode != 0:
            raise RuntimeError(f"wsgw exited with {proc.returncode}")

    def finish(self):
        """Waits for the deferred stops; returns their failures."""
        failures = []
        for proc, log, since in self.pending:
            try:
                self.wait(proc, since)
            except RuntimeError as e:
                failures.append(str(e))
            log.close()
        self.pending = []
        return failures


class Nchan:
    name = "nchan"

    def __init__(self, redis_port=None, cpu="0"):
        self.redis_port, self.cpu = redis_port, cpu

    def start(self, workdir):
        self.port = free_port()
        conf = os.path.join(workdir, "nginx.conf")
        os.makedirs(os.path.join(workdir, "body"), exist_ok=True)
        with open(conf, "w") as f:
            f.write(f"""load_module /usr/lib/nginx/modules/ngx_nchan_module.so;
worker_processes 1;
worker_rlimit_nofile 19900;
daemon off;
pid {workdir}/nginx.pid;
error_log {workdir}/error.log warn;
events {{ worker_connections 19800; }}
http {{
    access_log off;
    client_body_temp_path {workdir}/body;
    keepalive_requests 1000000000;
    keepalive_timeout 60s;
    # Even unbuffered, Nchan keeps each message in shared memory until nchan_message_timeout
    # (default 1 h): with the 32 MiB default pool the members scenario runs out after about
    # 250,000 messages (HTTP 500, "Out of shared memory"). A larger, lazily touched pool and a
    # short timeout keep it publishing; neither costs it CPU.
    nchan_max_reserved_memory 1024M;
    nchan_message_timeout 5s;
    {f'nchan_redis_url "redis://127.0.0.1:{self.redis_port}";' if self.redis_port else ''}
    server {{
        listen 127.0.0.1:{self.port} backlog=4096;
        location ~ ^/pub/(\\w+)$ {{
            nchan_publisher;
            nchan_channel_id $1;
            nchan_message_buffer_length 0;
            {'nchan_use_redis on;' if self.redis_port else ''}
        }}
        location ~ ^/sub/(\\w+)$ {{
            nchan_subscriber websocket;
            nchan_channel_id $1;
            {'nchan_use_redis on;' if self.redis_port else ''}
        }}
    }}
}}
""")
        self.log = open(os.path.join(workdir, "nginx.out"), "w")
        self.proc = subprocess.Popen(["taskset", "-c", self.cpu, "nginx", "-c", conf],
                                     stdout=self.log, stderr=subprocess.STDOUT, preexec_fn=raise_nofile)
        try:
            wait_port(self.port)
        except RuntimeError:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError("nginx did not start: " + open(os.path.join(workdir, "error.log")).read()[-500:])
        # The master forks the one worker (inheriting the CPU pinning); the worker does all the work,
        # so its /proc figures are Nchan's. (master_process off would do too, but it aborts on exit.)
        children = f"/proc/{self.proc.pid}/task/{self.proc.pid}/children"
        deadline = time.time() + 10
        while time.time() < deadline:
            worker = open(children).read().split()
            if worker:
                return int(worker[0])
            time.sleep(0.05)
        raise RuntimeError("nginx started no worker within 10 s")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)  # fast shutdown: a graceful one (SIGQUIT) waits for the WebSockets
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


class Authorizer:
    """The local authorizer of issue 11's login scenarios: 200 to every login after DELAY_MS.
    Pinned with the generator (CPU 1): its sleeping threads cost little, and none of it runs
    on the gateway's CPU."""

    def __init__(self, build, delay_ms):
        self.binary = os.path.join(build, "bench", "wsgw-bench-authorizer")
        self.delay_ms = delay_ms

    def start(self):
        self.proc = subprocess.Popen(["taskset", "-c", "1", self.binary, "0", str(self.delay_ms)],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.port = int(self.proc.stdout.readline())
        return self.port

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Redis:
    """redis-server on a free loopback port, no persistence, pinned like the peers (issue 12)."""

    def __init__(self, cpu="0"):
        self.cpu, self.proc = cpu, None

    def start(self, workdir, port=None):
        self.workdir, self.port = workdir, port or free_port()
        self.log = open(os.path.join(workdir, "redis.log"), "a")
        self.proc = subprocess.Popen(["taskset", "-c", self.cpu, "redis-server", "--port", str(self.port), "--bind",
                                      "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", workdir],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        wait_port(self.port)

    def stop(self):
        if self.proc:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.log.close()
            self.proc = None

    def restart(self, down_s):
        """Stops Redis, waits DOWN_S, starts it again on the same port, empty."""
        self.stop()
        time.sleep(down_s)
        self.start(self.workdir, self.port)


class Cluster:
    """Two nodes of PEER_CLASS sharing one Redis (issue 12): subscribers on node B (port), pushes to
    node A (pub_port). Nodes and Redis on CPU 0, as a single peer is; the generator on CPU 1."""

    def __init__(self, name, make_node):
        self.name, self.make_node = name, make_node
        self.redis = Redis()

    def start(self, workdir):
        self.redis.start(workdir)
        self.nodes = []
        for role in ("primary", "replica"):
            node_dir = os.path.join(workdir, role)
            os.makedirs(node_dir)
            self.nodes.append(self.make_node(self.redis.port, role))
            pid = self.nodes[-1].start(node_dir)
        self.pub_port, self.port = self.nodes[0].port, self.nodes[1].port
        return pid  # node B's: it does the deliveries

    def stop(self, defer=False):
        try:
            for node in self.nodes:
                node.stop(defer) if isinstance(node, Wsgw) else node.stop()
        finally:
            self.redis.stop()

    def finish(self):
        return [e for node in getattr(self, "nodes", []) if isinstance(node, Wsgw) for e in node.finish()]


def wsgw_node(build):
    return lambda redis_port, role: Wsgw(build, f"[cluster]\nredis = 127.0.0.1:{redis_port}\nrole = {role}\n")


def nchan_node(redis_port, role):
    return Nchan(redis_port)


class Hostile:
    """Holds IDLE sockets that send nothing and SLOW ones that send one header byte a second
    to the server's public port while a scenario runs (issue 10), reopening each one the server
    closes (its request deadline), as an attacker refreshing them would. Unpinned; a few
    milliseconds of CPU a second."""

    REQUEST = b"GET /ws HTTP/1.1\r\nHost: bench\r\nUpgrade: websocket\r\nX-Pad: " + b"a" * 64

    def __init__(self, port, idle, slow):
        self.port, self.idle, self.slow = port, idle, slow
        self.stopping = threading.Event()
        self.reopened = 0
        self.thread = threading.Thread(target=self.run, daemon=True)

    def open(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", self.port))
        return s

    def start(self):
        raise_nofile()  # this process holds the sockets
        self.sockets = [[self.open(), None] for _ in range(self.idle)] + \
                       [[self.open(), 0] for _ in range(self.slow)]
        self.thread.start()

    def run(self):
        poller = select.poll()
        by_fd = {}
        for entry in self.sockets:
            by_fd[entry[0].fileno()] = entry
            poller.register(entry[0], select.POLLIN)
        next_drip = time.time()
        deadline = time.time() + 600
        while not self.stopping.is_set() and time.time() < deadline:
            for fd, _ in poller.poll(100):
                entry = by_fd.pop(fd, None)
                if entry is None:
                    continue
                poller.unregister(fd)
                entry[0].close()
                entry[0] = self.open()
                if entry[1] is not None:
                    entry[1] = 0
                self.reopened += 1
                by_fd[entry[0].fileno()] = entry
                poller.register(entry[0], select.POLLIN)
            if time.time() >= next_drip:
                next_drip += 1.0
                for entry in self.sockets:
                    if entry[1] is not None and entry[1] < len(self.REQUEST):
                        try:
                            entry[0].send(self.REQUEST[entry[1]:entry[1] + 1])
                            entry[1] += 1
                        except OSError:
                            pass

    def stop(self):
        self.stopping.set()
        self.thread.join(timeout=5)
        for entry in self.sockets:
            entry[0].close()


JWT_SECRET = "bench-secret-for-hs256-logins-0123456789"


def scenarios(smoke):
    """(name, generator arguments, peers, repeats it runs in) in the issue's order."""
    if smoke:
        # About 25 s in all: small counts, one repeat; it only proves that nothing is broken.
        big, idle, small, secs, slow_secs, churn = 1000, 500, 200, 0.5, 0.7, dict(clients=200, waves=2)
    else:
        big, idle, small, secs, slow_secs, churn = 10000, 15000, 1000, 10, 30, dict(clients=10000, waves=10)
    both = ("wsgw", "nchan")
    return [
        ("idle", dict(mode="idle", clients=idle), both, None),
        ("fanout-1k", dict(mode="fanout", clients=small, window=4, seconds=secs), both, None),
        ("fanout-10k", dict(mode="fanout", clients=big, window=4, seconds=secs), both, None),
        # Issue 10: the same while 2,000 silent and 1,000 one-byte-a-second sockets are held open.
        ("fanout-10k-hostile", dict(mode="fanout", clients=big, window=4, seconds=secs,
                                    _hostile=(200, 100) if smoke else (2000, 1000)), ("wsgw",), None),
        ("rate-50k", dict(mode="rate", clients=big, rate=5 if not smoke else 20, seconds=secs), both, None),
        ("members", dict(mode="members", clients=big, window=64, seconds=secs), both, None),
        # Nchan has no batch publish: its reference is its single-push "members" rate.
        ("members-batch100", dict(mode="members", clients=big, window=4, batch=100, seconds=secs), ("wsgw",), None),
        ("slow-off", dict(mode="rate", clients=small, rate=50, seconds=slow_secs, **{"text-bytes": 4000}), both, None),
        ("slow-on", dict(mode="rate", clients=small, rate=50, slow=1, seconds=slow_secs, **{"text-bytes": 4000}),
         both, None),
        # Issue 11: logins as members, 15,000 clients each: stored tokens, HS256 JWTs, and an
        # authorizer answering in 5 ms (64 handshakes in flight: auth.webhook_concurrency).
        ("login-stored", dict(mode="idle", clients=idle, login="stored", _members=idle), ("wsgw",), None),
        ("login-jwt", dict(mode="idle", clients=idle, login="jwt", **{"jwt-secret": JWT_SECRET}), ("wsgw",), None),
        ("login-webhook", dict(mode="idle", clients=idle, login="webhook", _authorizer=5,
                               **{"max-connecting": 64}), ("wsgw",), None),
        # A fan-out (1,000 subscribers, 50 pushes/s) with and without 15,000 such logins meanwhile.
        ("rate-logins-off", dict(mode="rate", clients=small, rate=50, seconds=max(secs / 2, 0.5), _authorizer=5,
                                 **{"max-connecting": 64}), ("wsgw",), None),
        ("rate-logins-on", dict(mode="rate", clients=small, rate=50, seconds=max(secs / 2, 0.5), _authorizer=5,
                                login="webhook", storm=idle, **{"max-connecting": 64}), ("wsgw",), None),
        ("rate-logins-stored", dict(mode="rate", clients=small, rate=50, seconds=max(secs / 2, 0.5), _authorizer=5,
                                login="stored", _members=idle, storm=idle, **{"max-connecting": 64}), ("wsgw",), None),
        # Issue 13: client publish (4 subscribers publishing over their WebSockets) against the
        # same fan-out through POST /push (fanout-1k).
        ("publish-1k", dict(mode="publish", clients=small, window=4, seconds=secs,
                            _ini="[limits]\nclient_messages_per_s = 0\n",
                            _setup=[["app", "add", "match"], ["app", "set", "match", "--client-publish", "subscribers"]]),
         ("wsgw",), None),
        # RPCs through a local backend that answers in 5 ms, 256 in flight.
        ("rpc-256", dict(mode="rpc", clients=32 if smoke else 256, window=1, seconds=secs, _backend=5,
                         _ini="[limits]\nclient_messages_per_s = 0\n",
                         _setup=[["app", "add", "match"], ["app", "set", "match", "--webhook", "{backend}"]]),
         ("wsgw",), None),
        # A fan-out with and without 10,000 subscribe/unsubscribe events/s for an app whose backend is down.
        ("rate-events-off", dict(mode="rate", clients=small, rate=50, seconds=max(secs / 2, 0.5),
                                 _setup=[["app", "add", "churn"],
                                         ["app", "set", "churn", "--webhook", "http://127.0.0.1:9/down"]]),
         ("wsgw",), None),
        ("rate-events-on", dict(mode="rate", clients=small, rate=50, seconds=max(secs / 2, 0.5),
                                **{"sub-churn": 2000 if smoke else 10000},
                                _ini="[limits]\nclient_messages_per_s = 0\n",
                                _setup=[["app", "add", "churn"],
                                        ["app", "set", "churn", "--webhook", "http://127.0.0.1:9/down"]]),
         ("wsgw",), None),
        # Leak check (issue 6), wsgw only, first repeat only: it is long and has no Nchan figure.
        ("churn", dict(mode="churn", **churn), ("wsgw",), {0}),
        # Issue 12: two nodes and one Redis; subscribers on node B, pushes to node A.
        ("cluster-fanout-10k", dict(mode="fanout", clients=big, window=4, seconds=secs, **{"settle-ms": 1000}),
         ("wsgw-cluster", "nchan-cluster"), None),
        # 5,000 pushes/s, 1,000 subscribers on B: first published to B itself (local), then to A (cross),
        # on the same two nodes; the figure is the difference of the two p99s.
        # 5 million deliveries/s is far past Nchan's fan-out here: its losses are noted, not failures.
        ("cluster-rate-5k", dict(mode="rate", clients=small, rate=5000 if not smoke else 500, seconds=secs,
                                 _local_and_cross=True, _reference_may_lose=True, **{"settle-ms": 1000}),
         ("wsgw-cluster", "nchan-cluster"), None),
        # The same at 50 pushes/s (50,000 deliveries/s, rate-50k's load), which both clusters sustain
        # here: what crossing nodes costs when neither is saturated.
        ("cluster-rate-50", dict(mode="rate", clients=small, rate=50, seconds=secs, _local_and_cross=True,
                                 **{"settle-ms": 1000}),
         ("wsgw-cluster", "nchan-cluster"), None),
        ("cluster-members", dict(mode="members", clients=big, window=64, seconds=secs, **{"settle-ms": 2000}),
         ("wsgw-cluster", "nchan-cluster"), None),
        # Redis stopped 3 s into the run and started again 1 s later: every push is answered (202 or
        # 503), and none that a 202 said reached node B is lost.
        ("cluster-redis-restart", dict(mode="rate", clients=small, rate=1000, seconds=max(secs, 8),
                                       _redis_restart=(3, 1), **{"settle-ms": 1000, "tolerate-unavailable": 1}),
         ("wsgw-cluster",), None),
    ]


def run_generator(generator, peer, pid, args, timeout):
    cmd = ["taskset", "-c", "1", generator, "--target", peer.name, "--port", str(peer.port), "--pid", str(pid)]
    for key, value in args.items():
        cmd += ["--" + key, str(value)]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"the generator did not finish within {timeout} s")
    if out.returncode != 0:
        raise RuntimeError(f"generator failed: {out.stderr.strip()}")
    return json.loads(out.stdout)


# (scenario, figure, how, factor, label, reference): the wsgw figure against the reference's median,
# where reference is (scenario, peer[, figure]) and defaults to the same scenario on Nchan; how "min"
# compares the figure with FACTOR itself (an absolute floor, no reference).
TARGETS = [
    ("idle", "rss_per_conn_bytes", "le", 0.3, "<= 0.3 x Nchan", None),
    ("idle", "connects_per_s", "ge", 1.0, ">= 1.0 x Nchan", None),
    ("fanout-1k", "deliveries_per_s", "ge", 1.5, ">= 1.5 x Nchan", None),
    ("fanout-1k", "cpu_us_per_delivery", "le", 0.7, "<= 0.7 x Nchan", None),
    ("fanout-10k", "deliveries_per_s", "ge", 1.5, ">= 1.5 x Nchan", None),
    ("fanout-10k", "cpu_us_per_delivery", "le", 0.7, "<= 0.7 x Nchan", None),
    ("rate-50k", "p99_us", "le", 1.0, "<= 1.0 x Nchan", None),
    ("members", "pushes_per_s", "ge", 1.2, ">= 1.2 x Nchan", None),
    ("members-batch100", "pushes_per_s", "ge", 5.0, ">= 5 x Nchan single", ("members", "nchan")),
    ("slow-on", "deliveries_per_s", "within", 0.1, "within 10 % of slow-off", ("slow-off", "wsgw")),
    ("fanout-10k-hostile", "deliveries_per_s", "ge", 0.9, ">= 0.9 x fanout-10k", ("fanout-10k", "wsgw")),
    ("login-jwt", "connects_per_s", "ge", 0.9, ">= 0.9 x stored tokens", ("login-stored", "wsgw")),
    ("login-webhook", "connects_per_s", "min", 5000, ">= 5,000 logins/s", None),
    ("rate-logins-on", "storm_p99_us", "le", 1.1, "<= 1.1 x without logins", ("rate-logins-off", "wsgw", "p99_us")),
    ("publish-1k", "deliveries_per_s", "ge", 0.9, ">= 0.9 x POST /push", ("fanout-1k", "wsgw")),
    ("rpc-256", "rpcs_per_s", "min", 5000, ">= 5,000 RPCs/s", None),
    ("rpc-256", "p99_us", "max", 20000, "p99 <= 20 ms", None),
    ("rate-events-on", "p99_us", "le", 1.1, "<= 1.1 x without events", ("rate-events-off", "wsgw")),
    ("cluster-fanout-10k", "deliveries_per_s", "ge", 1.5, ">= 1.5 x Nchan+Redis", ("cluster-fanout-10k", "nchan-cluster")),
    ("cluster-rate-5k", "p99_cross_minus_local_us", "abs_le", 2000, "<= 2000 µs", None),
    ("cluster-rate-5k", "p99_cross_minus_local_us", "at_most", 1.0, "<= Nchan+Redis's", ("cluster-rate-5k", "nchan-cluster")),
    ("cluster-rate-50", "p99_cross_minus_local_us", "abs_le", 2000, "<= 2000 µs", None),
    ("cluster-rate-50", "p99_cross_minus_local_us", "at_most", 1.0, "<= Nchan+Redis's", ("cluster-rate-50", "nchan-cluster")),
    ("cluster-members", "pushes_per_s", "ge", 1.2, ">= 1.2 x Nchan+Redis", ("cluster-members", "nchan-cluster")),
    ("cluster-redis-restart", "lost", "abs_le", 0, "0 lost after a 202", None),
]

# Figures shown for every scenario and peer in the detail table (median of the repeats).
DETAILS = ["p99_local_us", "p99_cross_minus_local_us", "refused", "connects_per_s", "connect_cpu_us_per_conn",
           "rss_per_conn_bytes", "deliveries_per_s", "pushes_per_s", "cpu_us_per_delivery",
           "cpu_us_per_push", "p50_us", "p99_us", "max_us", "lost", "server_util", "gen_util", "slow_closed",
           "storm_logins_per_s", "storm_p99_us", "storm_failures", "threads", "rpcs_per_s", "rpc_errors",
           "churn_per_s", "rss_kb", "rss_kb_end"]


def check(name, peer_name, run):
    """What makes a run broken (not slow): lost or duplicated messages, errors, unexpected closes."""
    problems = []
    for key, what in (("lost", "messages lost"), ("duplicates", "duplicate deliveries"),
                      ("push_errors", "push requests failed"), ("unparsed", "unparsable frames"),
                      ("subscribers_closed", "subscribers closed by the server"),
                      ("close_frames", "close frames to healthy subscribers")):
        if run.get(key):
            problems.append(f"{name} {peer_name}: {run[key]} {what}")
    # The HTTP pool may still grow towards its max_threads (128 here) between waves; fds must not grow.
    if name == "churn" and (run["fds_end"] > run["fds_first"] + 2 or run["threads_end"] > 128 + 16):
        problems.append(f"churn {peer_name}: fds {run['fds_first']} -> {run['fds_end']}, "
                        f"threads {run['threads_first']} -> {run['threads_end']}")
    return problems


def fmt(values):
    if not values:
        return "-"
    return f"{statistics.median(values):.4g} [{min(values):.4g}–{max(values):.4g}]"


def profile(a):
    """One scenario against wsgw under perf: where the gateway's CPU time goes."""
    chosen = [s for s in scenarios(a.smoke) if s[0] == a.perf]
    if not chosen:
        print(f"no scenario {a.perf}", file=sys.stderr)
        return 2
    name, args, _, _ = chosen[0]
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    data = os.path.join(HERE, "results", f"{name}.perf.data")
    peer = Wsgw(a.build)
    workdir = tempfile.mkdtemp(prefix="wsgw-bench-perf-")
    try:
        # The scenario's own configuration (JWT secret, INI extras, setup); no authorizer process here.
        extra = (f"[auth]\njwt_secret = {JWT_SECRET}\n" if args.get("login") == "jwt" else "") + args.get("_ini", "")
        pid = peer.start(workdir, extra, args.get("_members", 0), args.get("_setup", []))
        args = {k: v for k, v in args.items() if not k.startswith("_")}
        # No hardware counters on most VMs: cpu-clock sampling works everywhere.
        perf = subprocess.Popen(["perf", "record", "-q", "-e", "cpu-clock", "-F", "499", "--call-graph",
                                 "dwarf,8192", "-p", str(pid), "-o", data], stdout=subprocess.DEVNULL)
        time.sleep(0.5)
        run = run_generator(os.path.join(a.build, "bench", "wsgw-bench"), peer, pid, args, 300)
        perf.send_signal(signal.SIGINT)
        perf.wait(timeout=60)
        print(json.dumps(run))
    finally:
        peer.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    for sort, children in (("sym", "--no-children"), ("sym", "--children")):
        print(f"\n== perf report {children} --sort {sort} (top 30)")
        out = subprocess.run(["perf", "report", "-i", data, children, "--sort", sort, "-q", "--no-call-graph"],
                             capture_output=True, text=True, timeout=300)
        print("\n".join(out.stdout.splitlines()[:30]))
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default=os.path.join(ROOT, "build-bench"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="small counts, one repeat (CI)")
    parser.add_argument("--only", help="comma-separated scenario names")
    parser.add_argument("--perf", metavar="SCENARIO",
                        help="run SCENARIO once against wsgw under perf record (cpu-clock, DWARF call graphs) and "
                             "print its top functions; the data goes to bench/results/SCENARIO.perf.data")
    a = parser.parse_args()
    if a.perf:
        return profile(a)
    if a.smoke:
        a.repeats = 1
    began = time.time()
    generator = os.path.join(a.build, "bench", "wsgw-bench")
    for binary in (generator, os.path.join(a.build, "gateway", "wsgw")):
        if not os.access(binary, os.X_OK):
            print(f"missing {binary}: build it first (make bench-build)", file=sys.stderr)
            return 1
    peers = {"wsgw": Wsgw(a.build), "nchan": Nchan(),
             "wsgw-cluster": Cluster("wsgw", wsgw_node(a.build)), "nchan-cluster": Cluster("nchan", nchan_node)}
    results = {}  # scenario -> peer -> list of runs
    failures = []
    chosen = [s for s in scenarios(a.smoke) if not a.only or s[0] in a.only.split(",")]
    for r in range(a.repeats):
        for name, args, who, repeats in chosen:
            if repeats is not None and r not in repeats:
                continue
            # The peers alternate: wsgw first in odd repeats, Nchan first in even ones.
            order = list(who) if r % 2 == 0 else list(reversed(who))
            for peer_name in order:
                peer = peers[peer_name]
                workdir = tempfile.mkdtemp(prefix=f"wsgw-bench-{peer_name}-")
                started = False
                authorizer = None
                try:
                    extra = ""
                    if "_authorizer" in args:
                        authorizer = Authorizer(a.build, args["_authorizer"])
                        extra += f"[auth]\nwebhook_url = http://127.0.0.1:{authorizer.start()}/auth\n"
                    if args.get("login") == "jwt":
                        extra += f"[auth]\njwt_secret = {JWT_SECRET}\n"
                    extra += args.get("_ini", "")
                    setup = args.get("_setup", [])
                    if "_backend" in args:
                        authorizer = Authorizer(a.build, args["_backend"])
                        url = f"http://127.0.0.1:{authorizer.start()}/backend"
                        setup = [[part.replace("{backend}", url) for part in command] for command in setup]
                    pid = peer.start(workdir, extra, args.get("_members", 0), setup) if peer_name == "wsgw" \
                        else peer.start(workdir)
                    started = True
                    timeout = 900 if name == "churn" else 300
                    t0 = time.time()
                    gen_args = {k: v for k, v in args.items() if not k.startswith("_")}
                    if isinstance(peer, Cluster):
                        gen_args["pub-port"] = peer.pub_port
                    hostile = Hostile(peer.port, *args["_hostile"]) if "_hostile" in args else None
                    if hostile:
                        hostile.start()
                    restarter = None
                    if "_redis_restart" in args:
                        at, down = args["_redis_restart"]
                        restarter = threading.Timer(at + args.get("settle-ms", 0) / 1000 + 1,
                                                    peer.redis.restart, (down,))
                        restarter.start()
                    try:
                        if args.get("_local_and_cross"):
                            # The same nodes, the same subscribers' node: a short warm-up (dropped),
                            # then local, then across.
                            run_generator(generator, peer, pid, dict(gen_args, seconds=1, **{"pub-port": peer.port}),
                                          timeout)
                            local = run_generator(generator, peer, pid, dict(gen_args, **{"pub-port": peer.port}),
                                                  timeout)
                            run = run_generator(generator, peer, pid, gen_args, timeout)
                            run["p99_local_us"] = local["p99_us"]
                            run["p99_cross_minus_local_us"] = run["p99_us"] - local["p99_us"]
                            for key in ("lost", "duplicates", "push_errors", "unparsed"):
                                run[key] = run.get(key, 0) + local.get(key, 0)
                        else:
                            run = run_generator(generator, peer, pid, gen_args, timeout)
                    finally:
                        if hostile:
                            hostile.stop()
                        if restarter:
                            restarter.join()
                    if hostile:
                        run["hostile_reopened"] = hostile.reopened
                    run["wall_s"] = round(time.time() - t0, 2)
                    results.setdefault(name, {}).setdefault(peer_name, []).append(run)
                    print(f"[{r + 1}/{a.repeats}] {name:17s} {peer_name:5s} " +
                          " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                   for k, v in run.items() if k in DETAILS + ["wall_s",
                                       "rss_growth_pct", "fds_end", "threads_end", "hostile_reopened"]), flush=True)
                    problems = check(name, peer_name, run)
                    if args.get("_reference_may_lose") and not peer_name.startswith("wsgw"):
                        for problem in problems:
                            print(f"    note (reference overloaded, not a failure): {problem}", flush=True)
                        problems = []
                    failures += problems
                except Exception as e:  # one broken run must not hide the others
                    failures.append(f"{name} {peer_name}: {e}")
                    print(f"[{r + 1}/{a.repeats}] {name:17s} {peer_name:5s} FAILED: {e}", flush=True)
                finally:
                    try:
                        if started:
                            t0 = time.time()
                            peer.stop(defer=a.smoke) if peer_name in ("wsgw", "wsgw-cluster") else peer.stop()
                            if os.environ.get("BENCH_TRACE"):
                                print(f"    {peer_name} stopped in {time.time() - t0:.2f} s", flush=True)
                    except Exception as e:
                        failures.append(f"{name} {peer_name}: {e}")
                    if authorizer:
                        authorizer.stop()
                    shutil.rmtree(workdir, ignore_errors=True)

    failures += [f"stop: {e}" for p in ("wsgw", "wsgw-cluster") for e in peers[p].finish()]

    def figures(scenario, peer, figure):
        return [run[figure] for run in results.get(scenario, {}).get(peer, []) if figure in run]

    table = []
    print()
    print(f"wsgw against Nchan, each on CPU 0, generator on CPU 1; median [min–max] of {a.repeats} "
          f"run(s){' (SMOKE: small counts, not the issue figures)' if a.smoke else ''}")
    head = f"{'scenario':17s} {'figure':20s} {'wsgw':28s} {'reference':28s} {'ratio':>6s}  target"
    print(head)
    print("-" * len(head))
    for scenario, figure, how, factor, label, ref in TARGETS:
        w = figures(scenario, "wsgw-cluster" if scenario.startswith("cluster-") else "wsgw", figure)
        if how in ("min", "max"):
            if not w:
                continue
            mw = statistics.median(w)
            met = mw >= factor if how == "min" else mw <= factor
            table.append(dict(scenario=scenario, figure=figure, wsgw=w, reference=[factor], reference_of="floor",
                              ratio=mw / factor, target=label, met=met))
            print(f"{scenario:17s} {figure:20s} {fmt(w):28s} {'(floor) ' + str(factor):28s} {mw / factor:6.2f}  "
                  f"{label:24s} {'MET' if met else 'MISSED'}")
            continue
        ref_scenario, ref_peer, *ref_figure = ref or (scenario, "nchan")
        n = figures(ref_scenario, ref_peer, ref_figure[0] if ref_figure else figure)
        if how == "abs_le":
            # An absolute bound on wsgw's own figure (issue 12): no reference.
            if not w:
                continue
            mw = statistics.median(w)
            met = mw <= factor
            table.append(dict(scenario=scenario, figure=figure, wsgw=w, reference=[], reference_of="-",
                              ratio=None, target=label, met=met))
            print(f"{scenario:17s} {figure:20s} {fmt(w):28s} {'-':28s} {'':>6s}  {label:24s} "
                  f"{'MET' if met else 'MISSED'}")
            continue
        if not w or not n:
            continue
        mw, mn = statistics.median(w), statistics.median(n)
        ratio = mw / mn if mn else float("inf")
        # "at_most": a difference of latencies (may be 0 or negative) compared as is, not as a ratio.
        met = {"le": ratio <= factor, "ge": ratio >= factor, "within": abs(ratio - 1) <= factor,
               "at_most": mw <= mn}[how]
        reference = f"{ref_peer} {ref_scenario}" + (f" {ref_figure[0]}" if ref_figure else "") if ref else "nchan"
        table.append(dict(scenario=scenario, figure=figure, wsgw=w, reference=n, reference_of=reference,
                          ratio=ratio, target=label, met=met))
        print(f"{scenario:17s} {figure:20s} {fmt(w):28s} {fmt(n):28s} {ratio:6.2f}  {label:24s} "
              f"{'MET' if met else 'MISSED'}" + ("" if not ref else f"  (reference: {reference})"))
    print()
    print("details (medians; latency in µs, util = CPU seconds per second)")
    for scenario, peer_runs in results.items():
        for peer_name, runs in peer_runs.items():
            shown = [f"{k}={statistics.median(figures(scenario, peer_name, k)):.4g}"
                     for k in DETAILS if figures(scenario, peer_name, k)]
            print(f"  {scenario:17s} {peer_name:5s} " + " ".join(shown))
            if any(run.get("connect_gen_util", 0) > 0.9 for run in runs):
                print(f"  {'':17s} {'':5s} note: the generator was near 100 % of its CPU while connecting: "
                      "connects_per_s is a lower bound")
            if any(run.get("gen_util", 0) > 0.9 for run in runs):
                print(f"  {'':17s} {'':5s} note: the generator was near 100 % of its CPU: this figure is a lower bound")
    for run in results.get("churn", {}).get("wsgw", []):
        print(f"churn: {run['cycles']} cycles, RSS {run['rss_kb_after_first_wave']} -> {run['rss_kb_end']} KiB "
              f"({run['rss_growth_pct']:.1f} %), fds {run['fds_first']} -> {run['fds_end']}, "
              f"threads {run['threads_first']} -> {run['threads_end']}")
    lost_total = sum(run.get("lost", 0) for s in results.values() for runs in s.values() for run in runs)
    print(f"messages lost in all scenarios: {lost_total}; took {time.time() - began:.0f} s")
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "latest.json"), "w") as f:
        json.dump(dict(smoke=a.smoke, repeats=a.repeats, seconds=time.time() - began, runs=results, table=table,
                       failures=failures), f, indent=1)
    if failures:
        print("FAILURES (something is broken, not merely slow):\n  " + "\n  ".join(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
