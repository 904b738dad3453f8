#!/usr/bin/env bash
# make deb-test: checks the package the way Debian and an operator would.
# Builds it if needed, lints it, verifies and scores the unit, installs it,
# runs the service the way systemd would (as user wsgw; systemd is not PID 1
# here), pushes a message to a real client, stops it, reinstalls, purges.
# Uses ports 5000 and 6000 (the packaged defaults); refuses to run if they are busy.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "deb-test: FAIL: $*" >&2; exit 1; }
step() { printf '\n== %s\n' "$*"; }
# wait_for DESCRIPTION SECONDS COMMAND...: polls COMMAND until it succeeds.
wait_for() {
    local what=$1 seconds=$2; shift 2
    local deadline=$((SECONDS + seconds))
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $deadline ] || fail "timed out waiting for $what"
        sleep 0.1
    done
}

deb=$(ls build-deb/wsgw_*_amd64.deb 2>/dev/null | head -n1 || true)
[ -n "$deb" ] || { make deb; deb=$(ls build-deb/wsgw_*_amd64.deb | head -n1); }
echo "package: $deb"

for port in 5000 6000; do
    if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then fail "port $port is in use; stop what listens there"; fi
done

step "lintian: no errors, no warnings"
lintian --fail-on error,warning --info "$deb"

step "install"
dpkg --purge wsgw >/dev/null 2>&1 || true
dpkg -i "$deb"
for f in /usr/bin/wsgw /usr/bin/wsgw-admin /etc/wsgw/wsgw.ini /lib/systemd/system/wsgw.service \
         /usr/share/wsgw/schema/0001_init.sql /usr/share/man/man8/wsgw.8.gz /usr/share/man/man1/wsgw-admin.1.gz \
         /usr/share/doc/wsgw/copyright /usr/share/doc/wsgw/changelog.gz; do
    [ -e "$f" ] || fail "missing $f"
done
getent passwd wsgw >/dev/null || fail "no wsgw user"
[ "$(stat -c %U:%a /var/lib/wsgw)" = "wsgw:750" ] || fail "/var/lib/wsgw is $(stat -c %U:%a /var/lib/wsgw)"
dpkg-query -W -f='${Conffiles}\n' wsgw | grep -q ' /etc/wsgw/wsgw.ini ' || fail "/etc/wsgw/wsgw.ini is not a conffile"
grep -qx 'path = /var/lib/wsgw/wsgw.db' /etc/wsgw/wsgw.ini || fail "packaged database path"
[ -f /var/lib/wsgw/wsgw.db ] || fail "the database was not created on install"

step "the unit: systemd-analyze verify prints nothing, security score <= 1.2"
verify=$(systemd-analyze verify /lib/systemd/system/wsgw.service 2>&1 || true)
[ -z "$verify" ] || fail "systemd-analyze verify: $verify"
score_line=$(systemd-analyze security --offline=true /lib/systemd/system/wsgw.service 2>&1 | grep 'Overall exposure level')
echo "$score_line"
score=$(echo "$score_line" | grep -oE '[0-9]+\.[0-9]+' | head -n1)
awk -v s="$score" 'BEGIN { exit !(s <= 1.2) }' || fail "security exposure $score > 1.2"

step "wsgw-admin as root on the service's database"
key=$(wsgw-admin --json app add demo | python3 -c 'import json,sys; print(json.load(sys.stdin)["push_key"])')
for f in /var/lib/wsgw/wsgw.db*; do
    [ "$(stat -c %U "$f")" = wsgw ] || fail "$f belongs to $(stat -c %U "$f"), not wsgw"
done

step "run as the unit would: user wsgw, foreground"
log=$(mktemp)
# setpriv execs the daemon itself (runuser would stay in between and eat SIGTERM).
setpriv --reuid=wsgw --regid=wsgw --init-groups -- /usr/bin/wsgw --config /etc/wsgw/wsgw.ini >"$log" 2>&1 &
gateway=$!
trap 'kill $gateway 2>/dev/null || true' EXIT
wait_for "the gateway to listen" 20 curl -sf http://127.0.0.1:6000/healthz

client_out=$(mktemp)
/usr/bin/python3 - "$client_out" <<'PY' &
import asyncio, json, sys, websockets
async def main():
    async with websockets.connect("ws://127.0.0.1:5000/ws") as ws:
        await ws.send(json.dumps({"member_id": -1, "token": ""}))
        await ws.recv()
        await ws.send(json.dumps({"app": "demo"}))
        await ws.recv()
        open(sys.argv[1] + ".ready", "w").close()
        open(sys.argv[1], "w").write(await ws.recv())
asyncio.run(asyncio.wait_for(main(), 20))
PY
client=$!
wait_for "the client to subscribe" 20 test -e "$client_out.ready"
curl -sf -H "Authorization: Bearer $key" -d '{"app":"demo","member_id":-1,"text":"hello from the package"}' \
    http://127.0.0.1:5000/push
echo
wait "$client" || fail "the WebSocket client failed"
grep -q '"text":"hello from the package"' "$client_out" || fail "the client got: $(cat "$client_out")"
[ "$(curl -s http://127.0.0.1:6000/stat)" = "demo 0" ] || true
curl -s http://127.0.0.1:6000/stat

step "SIGTERM: clean exit 0"
kill -TERM "$gateway"
status=0
wait "$gateway" || status=$?
trap - EXIT
[ "$status" = 0 ] || { cat "$log"; fail "exit status $status after SIGTERM"; }
grep -q 'stopped' "$log" || fail "no clean stop in the log"

step "reinstall keeps a local edit to the conffile and the database"
sed -i 's/^max_subscriptions = 256$/max_subscriptions = 100/' /etc/wsgw/wsgw.ini
dpkg -i --force-confold "$deb"
grep -qx 'max_subscriptions = 100' /etc/wsgw/wsgw.ini || fail "the local edit was lost"
wsgw-admin app show demo >/dev/null || fail "the database was lost"

step "purge leaves nothing behind"
dpkg --purge wsgw
! getent passwd wsgw >/dev/null || fail "the wsgw user is still there"
! getent group wsgw >/dev/null || fail "the wsgw group is still there"
for p in /etc/wsgw /var/lib/wsgw /usr/bin/wsgw /usr/bin/wsgw-admin /lib/systemd/system/wsgw.service; do
    [ ! -e "$p" ] || fail "$p is still there"
done
echo
echo "deb-test: all checks passed"
