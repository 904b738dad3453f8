#!/usr/bin/env python3
"""make bench / make bench-smoke: wsgw against Nchan on the same machine.

Each peer runs pinned to CPU 0 (wsgw with one event loop, Nchan with one
worker), the load generator pinned to CPU 1. Every scenario runs for both
peers, alternating which goes first, REPEATS times; the table shows the median
[min-max] of each figure for both, the wsgw/Nchan ratio, the target and
whether it is met. Results also go to bench/results/latest.json.
Only 127.0.0.1 is used; every server and run has a deadline.
"""
import argparse, json, os, shutil, signal, socket, statistics, subprocess, sys, tempfile, time

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


class Wsgw:
    name = "wsgw"

    def __init__(self, build):
        self.binary = os.path.join(build, "gateway", "wsgw")

    def start(self, workdir):
        self.port, stat = free_port(), free_port()
        ini = os.path.join(workdir, "wsgw.ini")
        with open(ini, "w") as f:
            f.write(f"""[server]
address = 127.0.0.1
port = {self.port}
stat_port = {stat}
threads = 1
[http]
max_threads = 128
[push]
require_key = false
[apps]
unknown = public
[limits]
max_connections_per_ip = 0
max_connections = 0
[db]
path = {workdir}/wsgw.db
""")
        self.log = open(os.path.join(workdir, "wsgw.log"), "w")
        self.proc = subprocess.Popen(["taskset", "-c", "0", self.binary, "--config", ini],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        wait_port(self.port)
        return self.proc.pid

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError("wsgw did not stop on SIGTERM")
        self.log.close()
        if self.proc.returncode != 0:
            raise RuntimeError(f"wsgw exited with {self.proc.returncode}")


class Nchan:
    name = "nchan"

    def start(self, workdir):
        self.port = free_port()
        conf = os.path.join(workdir, "nginx.conf")
        os.makedirs(os.path.join(workdir, "body"), exist_ok=True)
        with open(conf, "w") as f:
            f.write(f"""load_module /usr/lib/nginx/modules/ngx_nchan_module.so;
worker_processes 1;
worker_rlimit_nofile 40000;
daemon off;
master_process off;
pid {workdir}/nginx.pid;
error_log {workdir}/error.log warn;
events {{ worker_connections 40000; }}
http {{
    access_log off;
    client_body_temp_path {workdir}/body;
    keepalive_requests 1000000000;
    keepalive_timeout 60s;
    server {{
        listen 127.0.0.1:{self.port} backlog=4096;
        location ~ ^/pub/(\\w+)$ {{
            nchan_publisher;
            nchan_channel_id $1;
            nchan_message_buffer_length 0;
        }}
        location ~ ^/sub/(\\w+)$ {{
            nchan_subscriber websocket;
            nchan_channel_id $1;
        }}
    }}
}}
""")
        self.log = open(os.path.join(workdir, "nginx.out"), "w")
        self.proc = subprocess.Popen(["taskset", "-c", "0", "nginx", "-c", conf],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        wait_port(self.port)
        return self.proc.pid

    def stop(self):
        self.proc.send_signal(signal.SIGQUIT)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def scenarios(smoke):
    n_big = 1000 if smoke else 10000
    n_idle = 1000 if smoke else 15000
    secs = 2 if smoke else 10
    # name, generator arguments, peers that run it
    return [
        ("idle", dict(mode="idle", clients=n_idle), ("wsgw", "nchan")),
        ("fanout-1k", dict(mode="fanout", clients=200 if smoke else 1000, window=4, seconds=secs), ("wsgw", "nchan")),
        ("fanout-10k", dict(mode="fanout", clients=n_big, window=4, seconds=secs), ("wsgw", "nchan")),
        ("rate-50k", dict(mode="rate", clients=n_big, rate=5, seconds=secs), ("wsgw", "nchan")),
        ("members", dict(mode="members", clients=n_big, window=64, seconds=secs), ("wsgw", "nchan")),
        ("members-batch100", dict(mode="members", clients=n_big, window=4, batch=100, seconds=secs), ("wsgw",)),
        ("slow-off", dict(mode="rate", clients=200 if smoke else 1000, rate=50, **{"text-bytes": 4000},
                          seconds=5 if smoke else 30), ("wsgw", "nchan")),
        ("slow-on", dict(mode="rate", clients=200 if smoke else 1000, rate=50, slow=1, **{"text-bytes": 4000},
                         seconds=5 if smoke else 30), ("wsgw", "nchan")),
        ("churn", dict(mode="churn", clients=500 if smoke else 10000, waves=3 if smoke else 20), ("wsgw",)),
    ]


def run_generator(generator, peer, pid, args, timeout):
    cmd = ["taskset", "-c", "1", generator, "--target", peer.name, "--port", str(peer.port), "--pid", str(pid)]
    for key, value in args.items():
        cmd += ["--" + key, str(value)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"{peer.name} {args}: {out.stderr.strip()}")
    return json.loads(out.stdout)


TARGETS = [
    # (scenario, figure, how, factor, label): wsgw figure vs nchan figure (or vs another scenario)
    ("idle", "rss_per_conn_bytes", "le", 0.3, "RSS per connection <= 0.3 x Nchan"),
    ("idle", "connects_per_s", "ge", 1.0, "connections ready/s >= 1.0 x Nchan"),
    ("fanout-1k", "deliveries_per_s", "ge", 1.5, "deliveries/s >= 1.5 x Nchan"),
    ("fanout-1k", "cpu_us_per_delivery", "le", 0.7, "CPU us/delivery <= 0.7 x Nchan"),
    ("fanout-10k", "deliveries_per_s", "ge", 1.5, "deliveries/s >= 1.5 x Nchan"),
    ("fanout-10k", "cpu_us_per_delivery", "le", 0.7, "CPU us/delivery <= 0.7 x Nchan"),
    ("rate-50k", "p99_us", "le", 1.0, "p99 latency <= 1.0 x Nchan"),
    ("members", "pushes_per_s", "ge", 1.2, "pushes/s >= 1.2 x Nchan"),
    ("members-batch100", "pushes_per_s", "ge", 5.0, "pushes/s >= 5 x Nchan single (members)"),
    ("slow-on", "deliveries_per_s", "ge", 0.9, "rate with a slow consumer >= 0.9 x without (wsgw)"),
]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default=os.path.join(ROOT, "build-bench"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--only", help="comma-separated scenario names")
    a = parser.parse_args()
    if a.smoke:
        a.repeats = 1
    generator = os.path.join(a.build, "bench", "wsgw-bench")
    peers = {"wsgw": Wsgw(a.build), "nchan": Nchan()}
    results = {}  # scenario -> peer -> list of runs
    failures = []
    chosen = [s for s in scenarios(a.smoke) if not a.only or s[0] in a.only.split(",")]
    for r in range(a.repeats):
        for name, args, who in chosen:
            order = list(who) if r % 2 == 0 else list(reversed(who))
            for peer_name in order:
                peer = peers[peer_name]
                workdir = tempfile.mkdtemp(prefix=f"wsgw-bench-{peer_name}-")
                try:
                    pid = peer.start(workdir)
                    timeout = 600 if name == "churn" else 300
                    run = run_generator(generator, peer, pid, args, timeout)
                    results.setdefault(name, {}).setdefault(peer_name, []).append(run)
                    lost = run.get("lost", 0)
                    print(f"[{r + 1}/{a.repeats}] {name:17s} {peer_name:5s} " +
                          " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                   for k, v in run.items() if k in (
                                       "connects_per_s", "rss_per_conn_bytes", "deliveries_per_s",
                                       "cpu_us_per_delivery", "p99_us", "pushes_per_s", "lost",
                                       "rss_growth_pct", "fds_end", "threads_end")), flush=True)
                    if lost:
                        failures.append(f"{name} {peer_name}: {lost} messages lost")
                    if run.get("push_errors"):
                        failures.append(f"{name} {peer_name}: {run['push_errors']} push errors")
                finally:
                    try:
                        peer.stop()
                    finally:
                        shutil.rmtree(workdir, ignore_errors=True)

    def figures(scenario, peer, figure):
        return [run[figure] for run in results.get(scenario, {}).get(peer, []) if figure in run]

    def fmt(values):
        if not values:
            return "-"
        return f"{statistics.median(values):.4g} [{min(values):.4g}-{max(values):.4g}]"

    table = []
    print()
    print(f"{'scenario':17s} {'figure':22s} {'wsgw':30s} {'nchan':30s} {'ratio':>7s}  target")
    for scenario, figure, how, factor, label in TARGETS:
        w = figures(scenario, "wsgw", figure)
        if scenario == "members-batch100":
            n = figures("members", "nchan", "pushes_per_s")
        elif scenario == "slow-on":
            n = figures("slow-off", "wsgw", figure)
        else:
            n = figures(scenario, "nchan", figure)
        if not w or not n:
            continue
        ratio = statistics.median(w) / statistics.median(n) if statistics.median(n) else float("inf")
        met = ratio <= factor if how == "le" else ratio >= factor
        table.append(dict(scenario=scenario, figure=figure, wsgw=w, reference=n, ratio=ratio, target=label, met=met))
        print(f"{scenario:17s} {figure:22s} {fmt(w):30s} {fmt(n):30s} {ratio:7.2f}  {label} {'MET' if met else 'MISSED'}")
    churn = results.get("churn", {}).get("wsgw", [])
    for run in churn:
        print(f"churn: {run['cycles']} cycles, RSS {run['rss_kb_after_first_wave']} -> {run['rss_kb_end']} KiB "
              f"({run['rss_growth_pct']:.1f} %), fds {run['fds_first']} -> {run['fds_end']}, "
              f"threads {run['threads_first']} -> {run['threads_end']}")
        if run["fds_end"] > run["fds_first"] or run["threads_end"] > run["threads_first"]:
            failures.append("churn: fds or threads grew")
    lost_total = sum(run.get("lost", 0) for s in results.values() for runs in s.values() for run in runs)
    print(f"messages lost in all scenarios: {lost_total}")
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "latest.json"), "w") as f:
        json.dump(dict(smoke=a.smoke, repeats=a.repeats, runs=results, table=table, failures=failures), f, indent=1)
    if failures:
        print("FAILURES:\n  " + "\n  ".join(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
