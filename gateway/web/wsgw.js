// wsgw.js — the browser (and Node) client of the wsgw push gateway.
//
// An ES module with no dependencies and no build step, served by the gateway
// at GET /wsgw.js. It speaks SPEC §1 (auth message, subscribe/unsubscribe,
// gateway replies, pushes) and §6 (login in the upgrade URL, re-auth with a
// fresh token before a JWT expires), and hides what every hand-written client
// gets wrong: reconnecting with exponential backoff and full jitter,
// resubscribing every app after the hello, stopping on closes that mean
// "stop", asking for a fresh token before each reconnect.
//
//   import { Gateway } from "http://127.0.0.1:5000/wsgw.js";
//   const gw = new Gateway("ws://127.0.0.1:5000/ws", { memberId: 42, getToken: async () => "…" });
//   gw.on("state", (s) => console.log(s.state, s.code ?? "", s.reason ?? ""));
//   const off = gw.subscribe("match", (text, { memberId }) => console.log(text, memberId));
//
//   await gw.publish("chat", "hi all");            // SPEC §7 client publish: {code, message}
//   const { code, text } = await gw.rpc("chat", "cmd"); // SPEC §7 RPC, paired by seqno

/** App names the gateway accepts (SPEC §2); others are refused before sending. */
const APP_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

const DEFAULTS = {
    backoff: { base: 1000, max: 30000 }, // ms: attempt n waits random() * min(max, base * 2^n)
    helloTimeout: 10000, // ms: the gateway's default auth window
    rpcTimeout: 30000, // ms: an RPC without an answer by then is rejected
    reauthMargin: 30000, // ms before a JWT's exp to log in again with a fresh token
    urlLogin: false, // SPEC §6: log in in the upgrade URL instead of the first message
};

/**
 * Full-jitter exponential backoff: a delay drawn uniformly from
 * [0, min(max, base * 2^attempt)), attempt counted from 0.
 */
export function backoffDelay(attempt, { base, max }, random = Math.random) {
    const cap = Math.min(max, base * 2 ** Math.min(attempt, 52));
    return Math.floor(random() * cap);
}

/**
 * What a close means for the client: "reconnect" or "stop". CODE and REASON
 * are the close frame's (1006 when there was none); CAN_REFRESH is true when
 * the client can fetch a fresh token (a getToken option). The table is the
 * README's "Close codes" section.
 */
export function closeAction(code, reason = "", canRefresh = false) {
    switch (code) {
        case 1002: // protocol error
        case 1003: // unsupported data
        case 1007: // invalid UTF-8
        case 1009: // message too big
        case 1010: // extension required
            return "stop"; // the server refused what this client sends: it would again
        case 1008:
            if (reason.startsWith("slow consumer") || reason === "no answer to ping") return "reconnect";
            if (reason === "token expired") return canRefresh ? "reconnect" : "stop";
            return "stop"; // missing/bad auth, member removed or token replaced, anything else
        default:
            return "reconnect"; // 1001 restart, 1006 no close frame, 1011, 1013, …
    }
}

/** The `exp` claim (seconds) of a compact JWT, or undefined when TOKEN is not one. */
export function jwtExpiry(token) {
    const parts = typeof token === "string" ? token.split(".") : [];
    if (parts.length !== 3) return undefined;
    try {
        const b64 = parts[1].replace(/-/g, "+").replace(/_/g, "/");
        const claims = JSON.parse(atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4)));
        return typeof claims.exp === "number" ? claims.exp : undefined;
    } catch {
        return undefined;
    }
}

/**
 * A member id as exact JSON digits (numbers, digit strings and BigInts, so ids
 * past 2^53 stay exact), or null for a stranger (absent, or negative as in SPEC §1).
 */
function memberIdJson(id) {
    if (id === undefined || id === null) return null;
    const text = String(id);
    if (!/^-?[1-9][0-9]*$/.test(text)) throw new TypeError(`memberId must be a non-zero integer, not ${id}`);
    return text.startsWith("-") ? null : text;
}

export class Gateway {
    /**
     * URL: the gateway's WebSocket endpoint, e.g. "ws://host:5000/ws".
     * OPTIONS: memberId (absent = anonymous) with token or getToken (an async
     * function called before every connection); backoff {base, max} in ms;
     * helloTimeout; reauthMargin; urlLogin; WebSocket (a constructor, for Node:
     * require("ws")). For tests: random, setTimeout, clearTimeout, now.
     */
    constructor(url, options = {}) {
        this.url = url;
        this.options = { ...DEFAULTS, ...options, backoff: { ...DEFAULTS.backoff, ...options.backoff } };
        this._WebSocket = options.WebSocket ?? globalThis.WebSocket;
        if (typeof this._WebSocket !== "function")
            throw new TypeError("no WebSocket: pass {WebSocket} (in Node: require('ws'))");
        this._member = memberIdJson(options.memberId);
        this._random = options.random ?? Math.random;
        this._setTimeout = options.setTimeout ?? ((f, ms) => setTimeout(f, ms));
        this._clearTimeout = options.clearTimeout ?? ((t) => clearTimeout(t));
        this._now = options.now ?? Date.now;
        this._listeners = new Map(); // event -> Set of listeners
        this._apps = new Map(); // app -> {handlers: Set, status: "idle" | "pending" | "active"}
        this._ws = null;
        this._state = "connecting";
        this._attempt = 0; // failed connections since the last hello
        this._timers = new Set();
        this._closed = false; // close() called, or a close that means stop
        this._publishes = []; // SPEC §7: {app, resolve, reject} waiting for their reply, in order sent
        this._rpcs = new Map(); // seqno -> {resolve, reject, timer}
        this._seqno = 0;
        this.memberId = null; // what the gateway said hello to: a number, or -1 for a stranger
        Promise.resolve().then(() => this._connect()); // after the caller's on()/subscribe()
    }

    /** "connecting", "open" (hello received) or "closed". */
    get state() {
        return this._state;
    }

    /**
     * Listens to EVENT: "state" ({state: "connecting", attempt} | {state: "open",
     * memberId} | {state: "closed", code, reason, reconnect, delay}) or "error"
     * ({type: "subscribe" | "auth" | "token" | "handler" | "protocol", …}).
     * Returns a function that stops listening.
     */
    on(event, listener) {
        if (!this._listeners.has(event)) this._listeners.set(event, new Set());
        this._listeners.get(event).add(listener);
        return () => this._listeners.get(event)?.delete(listener);
    }

    /**
     * Calls HANDLER(text, {memberId, app}) for every push to APP, from now on and
     * across reconnects. Returns a function that removes HANDLER (the app is
     * unsubscribed when its last handler goes). A subscribe the gateway refuses
     * (403, 404, 429) is reported as an "error" event {type: "subscribe", app,
     * code, message, revoked} and its handlers are dropped: it is not retried.
     */
    subscribe(app, handler) {
        if (typeof app !== "string" || !APP_NAME.test(app)) throw new TypeError(`invalid app name: ${app}`);
        if (typeof handler !== "function") throw new TypeError("subscribe(app, handler): handler must be a function");
        let entry = this._apps.get(app);
        if (!entry) {
            entry = { handlers: new Set(), status: "idle" };
            this._apps.set(app, entry);
            if (this._state === "open") this._sendSubscribe(app, entry);
        }
        const token = { handler }; // one per call, so the same function may be added twice
        entry.handlers.add(token);
        return () => {
            if (this._apps.get(app) !== entry || !entry.handlers.delete(token) || entry.handlers.size > 0) return;
            this._apps.delete(app);
            if (this._state === "open") this._send(JSON.stringify({ app, action: "unsubscribe" }));
        };
    }

    /**
     * SPEC §7 client publish: TEXT to every subscriber of APP (this connection
     * must be subscribed to it, and the app must allow client publish). Resolves
     * with the gateway's reply {code, message}: 200 success, 403 forbidden, 429
     * too many messages, 503 unavailable. Rejects when not open, or when the
     * connection closes before the reply. Replies come in the order sent.
     */
    publish(app, text) {
        if (typeof app !== "string" || !APP_NAME.test(app)) return Promise.reject(new TypeError(`invalid app name: ${app}`));
        if (this._state !== "open") return Promise.reject(new Error(`not open (${this._state})`));
        return new Promise((resolve, reject) => {
            this._publishes.push({ app, resolve, reject });
            this._send(JSON.stringify({ app, action: "publish", text: String(text) }));
        });
    }

    /**
     * SPEC §7 RPC: asks APP's backend. Resolves with {code, text, memberId}: 200
     * and the backend's body, or 403 (not allowed, no backend), 429, 502, 504
     * with text "". Answers are paired by seqno and may come in any order.
     * Rejects when not open, when the connection closes first, or after
     * options.rpcTimeout ms.
     */
    rpc(app, text) {
        if (typeof app !== "string" || !APP_NAME.test(app)) return Promise.reject(new TypeError(`invalid app name: ${app}`));
        if (this._state !== "open") return Promise.reject(new Error(`not open (${this._state})`));
        const seqno = String(++this._seqno);
        return new Promise((resolve, reject) => {
            const timer = this._later(() => {
                this._rpcs.delete(seqno);
                reject(new Error(`rpc ${seqno} to ${app}: no answer within ${this.options.rpcTimeout} ms`));
            }, this.options.rpcTimeout);
            this._rpcs.set(seqno, { resolve, reject, timer });
            this._send(JSON.stringify({ app, action: "rpc", seqno, text: String(text) }));
        });
    }

    /** Apps currently wanted (subscribed, or to be subscribed after the next hello). */
    apps() {
        return [...this._apps.keys()];
    }

    /** Closes the connection for good (close code 1000); no reconnect follows. Idempotent. */
    close() {
        if (!this._closed) this._finish(1000, "closed by client");
    }

    // ---- connection lifecycle ----

    async _connect() {
        if (this._closed) return;
        this._setState({ state: "connecting", attempt: this._attempt });
        let token = this.options.token ?? "";
        if (this._member !== null && this.options.getToken) {
            try {
                token = await this.options.getToken();
            } catch (error) {
                this._emit("error", { type: "token", error });
                return this._retry(null, `getToken failed: ${error?.message ?? error}`);
            }
            if (this._closed) return;
        }
        this._token = String(token ?? "");
        let url = this.url;
        if (this.options.urlLogin) {
            const u = new URL(url);
            u.searchParams.set("member_id", this._member ?? "-1");
            if (this._member !== null) u.searchParams.set("token", this._token);
            url = u.toString();
        }
        let ws;
        try {
            ws = new this._WebSocket(url);
        } catch (error) {
            this._emit("error", { type: "protocol", error });
            return this._finish(null, `cannot connect: ${error?.message ?? error}`);
        }
        this._ws = ws;
        this._helloTimer = this._later(() => this._drop(ws, 1006, "no hello within the timeout"), this.options.helloTimeout);
        ws.onopen = () => {
            if (!this.options.urlLogin) this._send(this._authMessage(), ws);
        };
        ws.onmessage = (event) => this._onFrame(typeof event.data === "string" ? event.data : String(event.data));
        ws.onclose = (event) => this._onClose(ws, event.code, event.reason ?? "");
        ws.onerror = () => {}; // a close event follows and says what happened
    }

    _authMessage() {
        if (this._member === null) return '{"member_id":-1,"token":""}';
        return `{"member_id":${this._member},"token":${JSON.stringify(this._token)}}`;
    }

    /** Publishes and RPCs still waiting cannot be answered on a new connection. */
    _failPending(reason) {
        const error = new Error(`connection closed: ${reason || "no reason"}`);
        for (const p of this._publishes.splice(0)) p.reject(error);
        for (const r of this._rpcs.values()) r.reject(error);
        this._rpcs.clear();
    }

    _onClose(ws, code, reason) {
        if (ws !== this._ws) return; // an old socket, already dealt with
        this._ws = null;
        this._cancelTimers();
        this._failPending(reason);
        for (const entry of this._apps.values()) entry.status = "idle";
        if (closeAction(code, reason, Boolean(this.options.getToken)) === "stop") return this._finish(code, reason);
        this._retry(code, reason);
    }

    /** Schedules the next connection after a failed or lost one. */
    _retry(code, reason) {
        const delay = backoffDelay(this._attempt++, this.options.backoff, this._random);
        this._setState({ state: "closed", code, reason, reconnect: true, delay });
        this._later(() => this._connect(), delay);
    }

    /** Ends for good: no reconnect. */
    _finish(code, reason) {
        this._closed = true;
        this._cancelTimers();
        this._failPending(reason);
        const ws = this._ws;
        this._ws = null;
        if (ws) {
            ws.onclose = ws.onmessage = ws.onopen = null;
            try {
                ws.close(1000, reason && reason.length <= 120 ? reason : undefined);
            } catch {
                // already closing
            }
        }
        for (const entry of this._apps.values()) entry.status = "idle";
        this._setState({ state: "closed", code, reason, reconnect: false });
    }

    /** Gives up on WS (timeout) as if it had closed with CODE and REASON. */
    _drop(ws, code, reason) {
        ws.onclose = ws.onmessage = ws.onopen = null;
        try {
            ws.close();
        } catch {
            // already closing
        }
        this._onClose(ws, code, reason);
    }

    // ---- frames ----

    _onFrame(data) {
        let frame;
        try {
            frame = JSON.parse(data);
        } catch {
            return this._emit("error", { type: "protocol", message: "a frame that is not JSON", data });
        }
        if (frame.app === "gateway" && frame.member_id === -1) {
            let reply;
            try {
                reply = JSON.parse(frame.text);
            } catch {
                return this._emit("error", { type: "protocol", message: "a gateway reply that is not JSON", data });
            }
            return this._onReply(reply.code, String(reply.message ?? ""));
        }
        if (typeof frame.seqno === "string" && typeof frame.code === "number") {
            // SPEC §7: an RPC answer, paired by its seqno.
            const pending = this._rpcs.get(frame.seqno);
            if (!pending) return; // timed out meanwhile
            this._rpcs.delete(frame.seqno);
            this._clearTimer(pending.timer);
            return pending.resolve({ code: frame.code, text: frame.text, memberId: frame.member_id });
        }
        const entry = this._apps.get(frame.app);
        if (!entry) return; // a push that raced an unsubscribe
        for (const { handler } of [...entry.handlers]) {
            try {
                handler(frame.text, { memberId: frame.member_id, app: frame.app });
            } catch (error) {
                this._emit("error", { type: "handler", app: frame.app, error });
            }
        }
    }

    _onReply(code, message) {
        const hello = /^hello (stranger|[0-9]+)$/.exec(message);
        if (code === 200 && hello) return this._onHello(hello[1] === "stranger" ? -1 : Number(hello[1]));
        const sub = /^subscribe (\S+) (success|forbidden|not found|refused.*)$/.exec(message);
        if (sub) {
            const entry = this._apps.get(sub[1]);
            if (!entry) return; // unsubscribed meanwhile
            if (code === 200) {
                entry.status = "active";
                return;
            }
            // 403 (not allowed, or a grant revoked while subscribed), 404, 429: reported, never retried.
            this._apps.delete(sub[1]);
            return this._emit("error", { type: "subscribe", app: sub[1], code, message, revoked: entry.status === "active" });
        }
        if (/^unsubscribe \S+ success$/.test(message)) return;
        const pub = /^publish (\S+) (success|forbidden|unavailable|refused.*)$/.exec(message);
        if (pub) {
            const at = this._publishes.findIndex((p) => p.app === pub[1]);
            if (at >= 0) this._publishes.splice(at, 1)[0].resolve({ code, message });
            return;
        }
        if (code === 401 && this._state === "connecting") {
            // A wrong token: the gateway would keep us as a stranger, which is not what was asked.
            this._emit("error", { type: "auth", code, message });
            return this._finish(1000, message);
        }
        if (code >= 400) {
            // 401 token expired (the close follows), 401 on a re-auth, 400 missing/bad auth message, …
            const type = /auth|unauthorized|expired/.test(message) ? "auth" : "protocol";
            this._emit("error", { type, code, message });
        }
    }

    _onHello(memberId) {
        if (this._state === "open") return this._scheduleReauth(); // the answer to a re-auth
        this._clearTimer(this._helloTimer);
        this._attempt = 0;
        this.memberId = memberId;
        this._setState({ state: "open", memberId });
        for (const [app, entry] of this._apps) this._sendSubscribe(app, entry);
        this._scheduleReauth();
    }

    _sendSubscribe(app, entry) {
        entry.status = "pending";
        this._send(JSON.stringify({ app }));
    }

    /** SPEC §6: log in again with a fresh token before a JWT's exp, on the same connection. */
    _scheduleReauth() {
        this._clearTimer(this._reauthTimer);
        const exp = jwtExpiry(this._token);
        if (!this.options.getToken || this._member === null || exp === undefined) return;
        const left = exp * 1000 - this._now();
        const delay = Math.max(1000, left - Math.min(this.options.reauthMargin, left / 2));
        const ws = this._ws;
        this._reauthTimer = this._later(async () => {
            let token;
            try {
                token = String(await this.options.getToken());
            } catch (error) {
                return this._emit("error", { type: "token", error }); // the session ends at exp; reconnect then
            }
            if (ws !== this._ws || this._state !== "open") return;
            this._token = token;
            this._send(this._authMessage());
        }, Math.min(delay, 2 ** 31 - 1));
    }

    _send(text, ws = this._ws) {
        if (ws && ws.readyState === 1) ws.send(text);
    }

    // ---- helpers ----

    _setState(event) {
        this._state = event.state;
        this._emit("state", event);
    }

    _emit(event, value) {
        const listeners = this._listeners.get(event);
        if (event === "error" && !listeners?.size) console.error("wsgw:", value);
        for (const listener of [...(listeners ?? [])]) {
            try {
                listener(value);
            } catch (error) {
                console.error("wsgw: a listener threw", error);
            }
        }
    }

    _later(f, ms) {
        const timer = this._setTimeout(() => {
            this._timers.delete(timer);
            f();
        }, ms);
        this._timers.add(timer);
        return timer;
    }

    _clearTimer(timer) {
        if (timer === undefined || !this._timers.delete(timer)) return;
        this._clearTimeout(timer);
    }

    _cancelTimers() {
        for (const timer of this._timers) this._clearTimeout(timer);
        this._timers.clear();
    }
}
