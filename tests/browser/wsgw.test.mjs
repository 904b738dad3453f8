// Unit tests of gateway/web/wsgw.js under `node --test`, with a fake WebSocket
// and a fake clock: backoff bounds and jitter, resubscription, token refresh,
// stop codes, refused subscribes. No network, no real timers.
import { test } from "node:test";
import assert from "node:assert/strict";

import { Gateway, backoffDelay, closeAction, jwtExpiry } from "../../gateway/web/wsgw.js";

/** A clock whose timers run only when advance() passes their time. */
class FakeClock {
    constructor() {
        this.time = 1_700_000_000_000;
        this.timers = new Map();
        this.next = 1;
    }
    setTimeout = (f, ms) => {
        const id = this.next++;
        this.timers.set(id, { at: this.time + ms, f });
        return id;
    };
    clearTimeout = (id) => this.timers.delete(id);
    now = () => this.time;
    /** Runs every timer due within MS, in time order, and lets promises settle after each. */
    async advance(ms) {
        const end = this.time + ms;
        for (;;) {
            await settle();
            const due = [...this.timers].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
            if (!due) break;
            this.timers.delete(due[0]);
            this.time = Math.max(this.time, due[1].at);
            due[1].f();
        }
        this.time = end;
        await settle();
    }
    /** Delays of the pending timers, from now. */
    pending() {
        return [...this.timers.values()].map((t) => t.at - this.time);
    }
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

/** A WebSocket that records what the client sends and lets the test play the server. */
function fakeWebSocketClass() {
    class FakeWebSocket {
        static sockets = [];
        constructor(url) {
            this.url = url;
            this.readyState = 0;
            this.sent = [];
            this.closedWith = null;
            FakeWebSocket.sockets.push(this);
        }
        send(text) {
            assert.equal(this.readyState, 1, "send on a socket that is not open");
            this.sent.push(JSON.parse(text));
        }
        close(code, reason) {
            this.closedWith = { code, reason };
            this.readyState = 3;
        }
        // The server's side:
        open() {
            this.readyState = 1;
            this.onopen?.({});
        }
        reply(code, message) {
            this.onmessage?.({ data: JSON.stringify({ app: "gateway", member_id: -1, text: JSON.stringify({ code, message }) }) });
        }
        push(app, text, memberId = -1) {
            this.onmessage?.({ data: JSON.stringify({ app, member_id: memberId, text }) });
        }
        serverClose(code, reason = "") {
            this.readyState = 3;
            this.onclose?.({ code, reason });
        }
    }
    return FakeWebSocket;
}

/** A client on a fake socket and clock; RANDOM defaults to 0.5. */
function setup(options = {}) {
    const clock = new FakeClock();
    const WebSocket = fakeWebSocketClass();
    const events = { state: [], error: [] };
    const gw = new Gateway("ws://gw.test/ws", {
        WebSocket,
        random: () => 0.5,
        setTimeout: clock.setTimeout,
        clearTimeout: clock.clearTimeout,
        now: clock.now,
        ...options,
    });
    gw.on("state", (s) => events.state.push(s));
    gw.on("error", (e) => events.error.push(e));
    const last = () => WebSocket.sockets.at(-1);
    return { gw, clock, WebSocket, events, last };
}

/** Lets the client connect, opens its socket and says hello. */
async function connect(t, hello = "hello stranger") {
    await t.clock.advance(0);
    const ws = t.last();
    ws.open();
    ws.reply(200, hello);
    return ws;
}

const subscribes = (ws) => ws.sent.filter((m) => m.app && !m.action).map((m) => m.app);

test("backoff: attempt n waits within [0, min(max, base * 2^n))", () => {
    const backoff = { base: 1000, max: 30000 };
    for (let attempt = 0; attempt < 64; ++attempt) {
        const cap = Math.min(30000, 1000 * 2 ** attempt);
        assert.equal(backoffDelay(attempt, backoff, () => 0), 0);
        const top = backoffDelay(attempt, backoff, () => 0.9999999);
        assert.ok(top < cap && top >= cap * 0.999, `attempt ${attempt}: ${top} vs cap ${cap}`);
    }
    assert.equal(backoffDelay(1000, backoff, () => 0.5), 15000, "capped at max, no overflow");
    assert.equal(backoffDelay(2, { base: 250, max: 600 }, () => 0.5), 300);
});

test("backoff: full jitter spreads delays uniformly over the window", () => {
    const samples = Array.from({ length: 2000 }, () => backoffDelay(3, { base: 1000, max: 30000 }));
    const cap = 8000;
    assert.ok(samples.every((d) => d >= 0 && d < cap));
    const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
    assert.ok(Math.abs(mean - cap / 2) < cap * 0.05, `mean ${mean}`);
    // Every tenth of the window gets some (uniform: ~200 each), none gets a crowd.
    const buckets = Array(10).fill(0);
    for (const d of samples) buckets[Math.floor((d / cap) * 10)]++;
    assert.ok(buckets.every((n) => n > 120 && n < 280), `buckets ${buckets}`);
});

test("logs in first, subscribes only after the hello, delivers pushes", async () => {
    const t = setup({ memberId: 42, token: "secret" });
    const got = [];
    t.gw.subscribe("match", (text, meta) => got.push([text, meta.memberId, meta.app]));
    t.gw.subscribe("im", () => {});
    await t.clock.advance(0);
    const ws = t.last();
    assert.equal(ws.url, "ws://gw.test/ws");
    ws.open();
    assert.deepEqual(ws.sent, [{ member_id: 42, token: "secret" }]);
    assert.equal(t.gw.state, "connecting");
    ws.reply(200, "hello 42");
    assert.equal(t.gw.state, "open");
    assert.equal(t.gw.memberId, 42);
    assert.deepEqual(subscribes(ws), ["match", "im"]);
    ws.reply(200, "subscribe match success");
    ws.push("match", '{"n":1}');
    ws.push("match", "two", 42);
    ws.push("other", "not ours");
    assert.deepEqual(got, [['{"n":1}', -1, "match"], ["two", 42, "match"]]);
    assert.deepEqual(t.events.state.map((s) => s.state), ["connecting", "open"]);
});

test("anonymous login, and member ids beyond 2^53 are sent exactly", async () => {
    const anon = setup();
    await anon.clock.advance(0);
    anon.last().open();
    assert.deepEqual(anon.last().sent, [{ member_id: -1, token: "" }]);

    const big = setup({ memberId: "9007199254740993", token: "t" });
    await big.clock.advance(0);
    const ws = big.last();
    let raw;
    ws.send = (text) => (raw = text);
    ws.open();
    assert.equal(raw, '{"member_id":9007199254740993,"token":"t"}');
    assert.throws(() => new Gateway("ws://x/", { WebSocket: big.WebSocket, memberId: 0 }), TypeError);
});

test("SPEC §6 URL login: member and token in the query, no auth message", async () => {
    const t = setup({ memberId: 7, token: "a b&c", urlLogin: true });
    await t.clock.advance(0);
    const ws = t.last();
    const url = new URL(ws.url);
    assert.equal(url.searchParams.get("member_id"), "7");
    assert.equal(url.searchParams.get("token"), "a b&c");
    ws.open();
    assert.deepEqual(ws.sent, []);
    ws.reply(200, "hello 7");
    assert.equal(t.gw.state, "open");
});

test("reconnects with backoff and resubscribes every app right after the hello", async () => {
    const t = setup({ random: () => 0.5 });
    t.gw.subscribe("a", () => {});
    t.gw.subscribe("b", () => {});
    const first = await connect(t);
    first.reply(200, "subscribe a success");
    first.reply(200, "subscribe b success");

    first.serverClose(1001, "server shutting down");
    const closed = t.events.state.at(-1);
    assert.deepEqual(closed, { state: "closed", code: 1001, reason: "server shutting down", reconnect: true, delay: 500 });
    await t.clock.advance(499);
    assert.equal(t.WebSocket.sockets.length, 1, "not before the delay");
    await t.clock.advance(1);
    assert.equal(t.WebSocket.sockets.length, 2);

    // The gateway is still down: each failure doubles the window.
    t.last().serverClose(1006);
    assert.equal(t.events.state.at(-1).delay, 1000);
    await t.clock.advance(1000);
    t.last().serverClose(1006);
    assert.equal(t.events.state.at(-1).delay, 2000);
    await t.clock.advance(2000);

    const again = t.last();
    again.open();
    assert.deepEqual(subscribes(again), [], "nothing before the hello");
    again.reply(200, "hello stranger");
    assert.deepEqual(subscribes(again), ["a", "b"]);

    // A hello resets the backoff.
    again.serverClose(1006);
    assert.equal(t.events.state.at(-1).delay, 500);
});

test("backoff is bounded by max however long the gateway stays down", async () => {
    const t = setup({ random: () => 0.999, backoff: { base: 100, max: 5000 } });
    await t.clock.advance(0);
    const delays = [];
    for (let i = 0; i < 20; ++i) {
        t.last().serverClose(1006);
        delays.push(t.events.state.at(-1).delay);
        await t.clock.advance(t.events.state.at(-1).delay);
    }
    assert.ok(delays.every((d) => d < 5000));
    assert.equal(delays.at(-1), 4995);
    assert.deepEqual(delays.slice(0, 4), [99, 199, 399, 799]);
});

test("getToken is called again before every reconnect", async () => {
    let calls = 0;
    const t = setup({ memberId: 5, getToken: async () => `token-${++calls}` });
    const first = await connect(t, "hello 5");
    assert.equal(first.sent[0].token, "token-1");
    first.serverClose(1006);
    await t.clock.advance(t.events.state.at(-1).delay);
    const second = t.last();
    second.open();
    assert.equal(second.sent[0].token, "token-2");
    assert.equal(calls, 2);
});

test("a getToken that fails is reported and retried with backoff", async () => {
    let fail = true;
    const t = setup({ memberId: 5, getToken: async () => (fail ? Promise.reject(new Error("offline")) : "ok") });
    await t.clock.advance(0);
    assert.equal(t.WebSocket.sockets.length, 0);
    assert.equal(t.events.error[0].type, "token");
    assert.equal(t.events.state.at(-1).reconnect, true);
    fail = false;
    await t.clock.advance(t.events.state.at(-1).delay);
    assert.equal(t.WebSocket.sockets.length, 1);
});

test("re-auth with a fresh JWT before it expires, on the same connection", async () => {
    const clock0 = 1_700_000_000; // FakeClock's start, in seconds
    const jwt = (exp) => `e30.${Buffer.from(JSON.stringify({ sub: "9", exp })).toString("base64url")}.sig`;
    const tokens = [jwt(clock0 + 120), jwt(clock0 + 240)];
    let calls = 0;
    const t = setup({ memberId: 9, getToken: async () => tokens[calls++] });
    assert.equal(jwtExpiry(tokens[0]), clock0 + 120);
    assert.equal(jwtExpiry("not.a-jwt"), undefined);
    const ws = await connect(t, "hello 9");
    await t.clock.advance(89_000);
    assert.equal(ws.sent.length, 1, "not yet: 30 s before exp");
    await t.clock.advance(1_000);
    assert.deepEqual(ws.sent.at(-1), { member_id: 9, token: tokens[1] });
    assert.equal(t.WebSocket.sockets.length, 1);
    ws.reply(200, "hello 9");
    assert.equal(t.gw.state, "open");
});

test("stop codes: no reconnect after closes that mean stop", async () => {
    const stops = [
        [1008, "member removed or token replaced"],
        [1008, "missing auth message"],
        [1008, "missing auth message (auth window passed)"],
        [1008, "token expired"], // with a fixed token: the same token would expire again
        [1002, "unmasked client frame"],
        [1007, "invalid UTF-8 in text message"],
    ];
    for (const [code, reason] of stops) {
        const t = setup({ memberId: 1, token: "x" });
        const ws = await connect(t, "hello 1");
        ws.serverClose(code, reason);
        assert.deepEqual(t.events.state.at(-1), { state: "closed", code, reason, reconnect: false }, reason);
        await t.clock.advance(10 * 60_000);
        assert.equal(t.WebSocket.sockets.length, 1, `${code} ${reason}: no reconnect`);
        assert.equal(t.clock.pending().length, 0, "no timer left behind");
    }
});

test("closes that mean try again reconnect", async () => {
    const again = [
        [1001, "server shutting down"],
        [1006, ""],
        [1008, "slow consumer: 70000 bytes queued, limit 65536"],
        [1008, "no answer to ping"],
        [1011, "auth unavailable"],
        [1013, "server busy: partial-message memory exhausted"],
    ];
    for (const [code, reason] of again) {
        const t = setup({ memberId: 1, token: "x" });
        const ws = await connect(t, "hello 1");
        ws.serverClose(code, reason);
        assert.equal(t.events.state.at(-1).reconnect, true, `${code} ${reason}`);
        await t.clock.advance(t.events.state.at(-1).delay);
        assert.equal(t.WebSocket.sockets.length, 2, `${code} ${reason}`);
    }
    assert.equal(closeAction(1008, "token expired", true), "reconnect", "getToken brings a fresh one");
});

test("a wrong token stops the client instead of staying a stranger", async () => {
    const t = setup({ memberId: 3, token: "wrong" });
    await t.clock.advance(0);
    const ws = t.last();
    ws.open();
    ws.reply(401, "unauthorized");
    assert.deepEqual(t.events.error, [{ type: "auth", code: 401, message: "unauthorized" }]);
    assert.equal(ws.closedWith.code, 1000);
    assert.deepEqual(t.events.state.at(-1), { state: "closed", code: 1000, reason: "unauthorized", reconnect: false });
    await t.clock.advance(60_000);
    assert.equal(t.WebSocket.sockets.length, 1);
});

test("403 and 404 subscribes are reported once and never retried", async () => {
    const t = setup();
    const got = [];
    t.gw.subscribe("vip", () => got.push("vip"));
    t.gw.subscribe("nosuch", () => {});
    t.gw.subscribe("match", () => {});
    const ws = await connect(t);
    ws.reply(403, "subscribe vip forbidden");
    ws.reply(404, "subscribe nosuch not found");
    ws.reply(200, "subscribe match success");
    assert.deepEqual(
        t.events.error.map((e) => [e.type, e.app, e.code, e.revoked]),
        [
            ["subscribe", "vip", 403, false],
            ["subscribe", "nosuch", 404, false],
        ],
    );
    assert.deepEqual(t.gw.apps(), ["match"]);
    ws.serverClose(1006);
    await t.clock.advance(t.events.state.at(-1).delay);
    const next = t.last();
    next.open();
    next.reply(200, "hello stranger");
    assert.deepEqual(subscribes(next), ["match"], "refused apps are not resubscribed");
    assert.equal(t.clock.pending().length, 0, "no retry timer for them either");
});

test("a grant revoked while subscribed: reported as revoked, pushes stop", async () => {
    const t = setup({ memberId: 42, token: "x" });
    const got = [];
    t.gw.subscribe("vip", (text) => got.push(text));
    const ws = await connect(t, "hello 42");
    ws.reply(200, "subscribe vip success");
    ws.push("vip", "before");
    ws.reply(403, "subscribe vip forbidden");
    ws.push("vip", "after"); // cannot happen (the gateway stops them), and would be dropped
    assert.deepEqual(got, ["before"]);
    assert.deepEqual(t.events.error.at(-1), {
        type: "subscribe",
        app: "vip",
        code: 403,
        message: "subscribe vip forbidden",
        revoked: true,
    });
    assert.equal(ws.sent.filter((m) => m.app === "vip").length, 1, "one subscribe, no retry");
});

test("unsubscribe goes out when the last handler of an app is removed", async () => {
    const t = setup();
    const off1 = t.gw.subscribe("match", () => {});
    const off2 = t.gw.subscribe("match", () => {});
    const ws = await connect(t);
    assert.deepEqual(subscribes(ws), ["match"], "one subscribe for two handlers");
    off1();
    off1(); // idempotent
    assert.equal(ws.sent.filter((m) => m.action === "unsubscribe").length, 0);
    off2();
    assert.deepEqual(ws.sent.at(-1), { app: "match", action: "unsubscribe" });
    assert.deepEqual(t.gw.apps(), []);
    assert.throws(() => t.gw.subscribe("bad name", () => {}), TypeError);
});

test("close() closes with 1000 and never reconnects", async () => {
    const t = setup();
    const ws = await connect(t);
    t.gw.close();
    assert.equal(ws.closedWith.code, 1000);
    assert.deepEqual(t.events.state.at(-1), { state: "closed", code: 1000, reason: "closed by client", reconnect: false });
    ws.serverClose(1000);
    t.gw.close();
    await t.clock.advance(60_000);
    assert.equal(t.WebSocket.sockets.length, 1);
    assert.equal(t.events.state.filter((s) => s.state === "closed").length, 1);
});

test("close() during the backoff cancels the reconnect", async () => {
    const t = setup();
    const ws = await connect(t);
    ws.serverClose(1006);
    t.gw.close();
    await t.clock.advance(60_000);
    assert.equal(t.WebSocket.sockets.length, 1);
});

test("no hello within the timeout: the attempt counts as failed and is retried", async () => {
    const t = setup({ helloTimeout: 5000 });
    await t.clock.advance(0);
    t.last().open();
    await t.clock.advance(5000);
    assert.deepEqual(t.events.state.at(-1), {
        state: "closed",
        code: 1006,
        reason: "no hello within the timeout",
        reconnect: true,
        delay: 500,
    });
    await t.clock.advance(500);
    assert.equal(t.WebSocket.sockets.length, 2);
});

test("a handler that throws is reported and does not stop the others", async () => {
    const t = setup();
    const got = [];
    t.gw.subscribe("match", () => {
        throw new Error("boom");
    });
    t.gw.subscribe("match", (text) => got.push(text));
    const ws = await connect(t);
    ws.push("match", "x");
    assert.deepEqual(got, ["x"]);
    assert.equal(t.events.error[0].type, "handler");
});

test("publish resolves with the gateway's replies in order; rpc pairs answers by seqno", async () => {
    const t = setup();
    const ws = await connect(t);
    const first = t.gw.publish("chat", "one");
    const second = t.gw.publish("chat", "two");
    assert.deepEqual(ws.sent.slice(-2), [
        { app: "chat", action: "publish", text: "one" },
        { app: "chat", action: "publish", text: "two" },
    ]);
    ws.reply(200, "publish chat success");
    ws.reply(429, "publish chat refused: too many messages");
    assert.deepEqual(await first, { code: 200, message: "publish chat success" });
    assert.deepEqual(await second, { code: 429, message: "publish chat refused: too many messages" });

    const a = t.gw.rpc("chat", "q1");
    const b = t.gw.rpc("chat", "q2");
    const [ra, rb] = ws.sent.slice(-2);
    assert.equal(ra.action, "rpc");
    assert.notEqual(ra.seqno, rb.seqno);
    // Answers out of order: each goes to its own call.
    ws.onmessage({ data: JSON.stringify({ app: "chat", member_id: -1, text: "", seqno: rb.seqno, code: 504 }) });
    ws.onmessage({ data: JSON.stringify({ app: "chat", member_id: -1, text: "a1", seqno: ra.seqno, code: 200 }) });
    assert.deepEqual(await a, { code: 200, text: "a1", memberId: -1 });
    assert.deepEqual(await b, { code: 504, text: "", memberId: -1 });
});

test("publish and rpc fail when not open, when the connection drops, and rpc after its timeout", async () => {
    const t = setup({ rpcTimeout: 5000 });
    await assert.rejects(t.gw.publish("chat", "early"), /not open/);
    const ws = await connect(t);
    const late = assert.rejects(t.gw.rpc("chat", "slow"), /no answer within 5000 ms/);
    await t.clock.advance(5000);
    await late;
    const pending = assert.rejects(t.gw.publish("chat", "lost"), /connection closed/);
    const rpc = assert.rejects(t.gw.rpc("chat", "lost"), /connection closed/);
    ws.serverClose(1001, "going away");
    await pending;
    await rpc;
    await assert.rejects(t.gw.rpc("bad name!", "x"), /invalid app name/);
});
