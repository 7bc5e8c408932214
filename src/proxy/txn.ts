// One HTTP transaction (HAProxy's http_txn): its log record and counters, the answer of
// wtproxy's own when it cannot be forwarded, and the forwarding proper: connect (attempt
// loop), send the request, relay the server's answer, log once, free the maxconn slot. One
// object per request whose steps are methods: no closure nor context per step, the per-request
// garbage (and what the young generation promotes) stays small.

import type { RequestLog } from "../log/record.ts";
import type { Counters } from "../state.ts";
import type { ClientExchange } from "../downstream/types.ts";
import { newRequestLog } from "../log/record.ts";
import { UpstreamError } from "../upstream/errors.ts";
import { Exchange } from "../upstream/exchange.ts";
import type { UpstreamConn } from "../upstream/conn.ts";
import { framingLine, headerLines, requestHead } from "../upstream/request.ts";
import type { ResponseHead } from "../upstream/response.ts";
import { BodySource } from "../upstream/upload.ts";
import { firstUrlParam } from "../acl/fetches/url.ts";
import { ClientGone, connectAttempts, type Connected, ProxyFailure } from "./attempt.ts";
import type { BackendRt, FrontendRt } from "./compile.ts";
import type { RequestInfo } from "./request.ts";
import { interimTo, type Relayed, relayResponse, TERMINATION } from "./respond.ts";
import { responseRules, sendReply } from "./rules.ts";
import { type ExchangeCut, exchangeCut } from "./sessions.ts";
import type { ProxyCore } from "./forward.ts";
import { cookieEdited, forwardedText } from "./headers.ts";

export class HttpTxn {
  readonly t0 = performance.now();
  readonly rec: RequestLog;
  /** Bytes in: the request head as received (as HAProxy counts it); the body is added apart. */
  private readonly headIn: number;
  private readonly feC: Counters;
  /** The backend's and server's counters, once a server is chosen. */
  private beC: Counters | null = null;
  private srvC: Counters | null = null;
  private finished = false;
  /** The server exchange in progress (aborted when the client goes away). */
  private upx: Exchange | null = null;
  /** Cancels the connect in progress (the client went away). */
  private cancelConnect: (() => void) | null = null;
  private abortHook: ((cancel: (() => void) | null) => void) | null = null;
  /** A retry goes to a fresh connection, not to the pool. */
  private fresh = false;
  private body: BodySource | null = null;
  // The attempt whose answer is being relayed (settle()).
  private uc: UpstreamConn | null = null;
  private keep = false;
  private cut: ExchangeCut | null = null;
  private status = 0;

  constructor(
    readonly core: ProxyCore,
    readonly fe: FrontendRt,
    readonly ex: ClientExchange,
    readonly info: RequestInfo,
    /** Frees the request's maxconn slot: called once, by end(). */
    private readonly release: () => void,
  ) {
    const rec = newRequestLog(fe.config.name, info, Date.now());
    this.rec = rec;
    const feC = fe.state.counters;
    this.feC = feC;
    feC.requests++;
    rec.actconn = core.store.activeConnections;
    rec.feconn = feC.current;
    this.headIn = ex.head.size;
  }

  /** Logs the request and moves the counters, once; frees the maxconn slot. */
  end(status: number, termination: string, bytes: number): void {
    if (this.finished) return;
    this.finished = true;
    const rec = this.rec;
    rec.status = status;
    // With cookie persistence the last two characters are the cookie's (request, response).
    rec.termination = rec.persistence ? termination.slice(0, 2) + rec.persistence : termination;
    rec.bytesRead = bytes;
    const ta = rec.ta = Math.round(performance.now() - this.t0);
    this.count(this.feC, status, bytes, ta);
    if (this.beC !== null) {
      this.count(this.beC, status, bytes, ta);
      this.count(this.srvC!, status, bytes, ta);
    }
    try {
      this.core.logger.request(this.fe.config.name, rec);
    } catch { /* a logger must not break the proxy */ }
    this.release();
  }

  private count(c: Counters, status: number, bytes: number, ta: number): void {
    if (status > 0) c.countStatus(status);
    c.bytesIn += this.headIn;
    c.bytesOut += bytes;
    c.observeTime(ta);
  }

  /** end() as a function, for the rule and stats rooms (rare paths). */
  get ender(): (status: number, termination: string, bytes: number) => void {
    return (status, termination, bytes) => this.end(status, termination, bytes);
  }

  /** Answers with wtproxy's own error (`errorfile`: the backend's page, else the frontend's). */
  async fail(status: number, termination: string): Promise<void> {
    const page = this.core.snapshot.backends.get(this.rec.backend)?.config.errorPages?.[status] ??
      this.fe.config.errorPages?.[status];
    const ex = this.ex;
    this.end(status, termination, ex.errorBytes(status, page));
    try {
      await ex.sendError(status, page);
    } catch { /* client gone */ }
  }

  // AttemptOptions (the attempt loop asks these of the request).
  usePool(be: BackendRt): boolean {
    return !this.fresh && !this.fe.plans.get(be.config.name)!.closeMode;
  }
  gone(): boolean {
    return this.ex.gone;
  }
  get signal(): AbortSignal {
    return this.ex.signal;
  }
  get connectAbort(): (cancel: (() => void) | null) => void {
    return this.abortHook ??= (cancel) => {
      this.cancelConnect = cancel;
    };
  }

  /** The client went away before the answer: stop connecting or waiting for the server. */
  clientGone(): void {
    this.cancelConnect?.();
    this.upx?.abort();
  }

  /** Forwards the request to `backendName` (routed, its rules run) and relays the answer. */
  async forward(backendName: string): Promise<void> {
    const { core, fe, ex, info, rec } = this;
    // A callback, not ex.signal: no AbortController nor event listener per request; the signal
    // is made only when a connect or a retry pause needs one.
    ex.onGone(() => this.clientGone());
    const head = ex.head;
    const chunked = head.bodyKind === "chunked";
    const body = ex.body ? (this.body = new BodySource(ex.body)) : null;
    // The framing sent up is ours, from what the parser decided (a chunked body is re-chunked).
    const framing = framingLine(head.bodyKind, head.contentLength);
    const clientLines = headerLines(head.lines, head.connectionTokens, framing);
    let sentAt = 0;
    let answered = false;
    try {
      for (let tries = 0;; tries++) {
        const pending = connectAttempts(core, fe, info, rec, backendName, this);
        const c = pending instanceof Promise ? await pending : pending;
        const be = c.backend;
        const srvC = c.server.state.counters;
        const beC = be.state.counters;
        if (this.beC === null) {
          beC.requests++;
          srvC.requests++;
        }
        this.beC = beC;
        this.srvC = srvC;
        rec.beconn = beC.current;
        rec.srvConn = srvC.current;
        const plan = fe.plans.get(be.config.name)!;
        if (plan.clientClose) ex.closeAfterAnswer();
        let lines = clientLines;
        if (c.cookie) {
          rec.persistence = c.cookie.req.flag + "N";
          if (be.cookie!.editsRequest && info.headers.has("cookie")) {
            lines = headerLines(
              cookieEdited(head.lines, be.cookie!),
              head.connectionTokens,
              framing,
            );
          }
        }
        const headBytes = requestHead(
          info.method,
          info.target,
          lines + plan.connectionLine + forwardedText(plan, info),
        );
        beC.open();
        srvC.open();
        const upx = this.upx = new Exchange(
          c.uc,
          { method: info.method, head: headBytes, body, chunked, onInterim: interimTo(ex) },
          be.serverTimeout,
        );
        core.inflight.add(upx);
        // on-marked-down shutdown-sessions: registered only for a server that has it.
        const cut = this.cut = c.server.config.onMarkedDown
          ? exchangeCut(core, c.server.state, upx)
          : null;
        sentAt = performance.now();
        let h: ResponseHead;
        try {
          h = await upx.send(sentAt);
        } catch (err) {
          core.inflight.delete(upx);
          cut?.done();
          c.uc.close();
          beC.close();
          srvC.close();
          const retry = await this.sendFailed(err, upx, tries, cut);
          if (retry) {
            this.fresh = true;
            this.upx = null;
            continue;
          }
          return;
        }
        answered = true;
        rec.tres = Math.round(performance.now() - sentAt);
        this.uc = c.uc;
        this.keep = !plan.closeMode;
        return await this.answer(c, h);
      }
    } catch (err) {
      body?.cancel();
      if (err instanceof ProxyFailure) return await this.fail(err.status, err.termination);
      if (err instanceof ClientGone) {
        this.end(-1, answered ? "CD--" : rec.tc === -1 && sentAt === 0 ? "CC--" : "CH--", 0);
        ex.abort();
        return;
      }
      console.error(`wtproxy: internal error: ${err instanceof Error ? err.stack : err}`);
      return await this.fail(502, "PH--");
    } finally {
      ex.onGone(null);
    }
  }

  /**
   * The request could not be sent or no answer came: true when it is retried on a fresh
   * connection (nothing reached the server and the body can be replayed), else answered here
   * (or ClientGone thrown).
   */
  private async sendFailed(
    err: unknown,
    upx: Exchange,
    tries: number,
    cut: ExchangeCut | null,
  ): Promise<boolean> {
    const { rec, body } = this;
    if (this.ex.gone) throw new ClientGone();
    if (upx.clientFailure === "timeout") {
      rec.tres = -1;
      await this.fail(408, "cD--");
      return false;
    }
    if (upx.clientFailure === "abort") throw new ClientGone();
    if (upx.clientFailure === "malformed") {
      rec.tres = -1;
      await this.fail(400, "PD--");
      return false;
    }
    const e = err instanceof UpstreamError ? err : new UpstreamError("closed-after-send", `${err}`);
    // A pooled connection closed under us, or the first write failed: nothing reached the
    // server, so try once more on a fresh connection if the body can be replayed (once the
    // old upload has stopped reading it).
    const retryable = (e.kind === "stale-reused" || e.kind === "reset-before-send") &&
      tries < 2 && !cut?.killed;
    if (retryable && body) await upx.detachUpload();
    if (retryable && (body === null || body.rewind())) return true;
    rec.tres = -1;
    this.beC!.responseErrors++;
    this.srvC!.responseErrors++;
    body?.cancel(); // no retry: stop reading what is left of the client's body
    if (cut?.killed) await this.fail(502, "DH--"); // HAProxy's answer too
    else if (e.kind === "server-timeout") await this.fail(504, "sH--");
    else if (e.kind === "invalid-response") await this.fail(502, "PH--");
    else await this.fail(502, "SH--");
    return false;
  }

  /** The server answered with `h`: session, cookie and response rules, then the relay. */
  private async answer(c: Connected, h: ResponseHead): Promise<void> {
    const { core, fe, info, rec } = this;
    const exchange = this.upx!;
    const be = c.backend;
    if (h.status === 101 || h.status > 599) {
      exchange.abort();
      this.settle(false);
      this.beC!.responseErrors++;
      this.srvC!.responseErrors++;
      return await this.fail(502, "PH--");
    }
    // A Wt session is live from the first request carrying its id that a server answered.
    const wt = core.snapshot.wtParam;
    if (wt !== null && h.status < 400 && core.sessions) {
      const id = firstUrlParam(info.query, wt);
      if (id) core.sessions.answered(c.server.state.key, id);
    }
    if (c.cookie) {
      rec.persistence = c.cookie.req.flag + be.cookie!.response(
        h.headers,
        h.status,
        info.method,
        c.server,
        c.cookie.req,
        c.cookie.direct,
        Math.floor(Date.now() / 1000),
      );
    }
    // http-response rules: the backend's, then the frontend's (HAProxy's order).
    if (be.rules.response !== null || fe.rules.response !== null) {
      for (const rules of [be.rules.response, fe.rules.response]) {
        if (rules === null) continue;
        const denied = responseRules(rules, fe.ctx, info, h.headers);
        if (denied) {
          exchange.abort();
          this.settle(false);
          this.end(denied.reply.status, denied.termination, denied.reply.body.length);
          return await sendReply(this.ex, denied.reply);
        }
      }
    }
    this.status = h.status;
    await relayResponse(this.ex, exchange, h, (r) => this.relayed(r));
  }

  /** How the relay ended: the server connection is settled, the request logged. */
  private relayed(r: Relayed): void {
    this.settle(r.reusable);
    this.end(
      this.status,
      this.cut?.killed && r.end !== "done" ? "DD--" : TERMINATION[r.end],
      r.bytes,
    );
  }

  /**
   * The server connection once the answer is known: back to the pool, or closed in close mode
   * (server-close, httpclose: it ends with the response, even when the server offered
   * keep-alive, told of the close or not: pretend-keepalive).
   */
  private settle(reusable: boolean): void {
    const core = this.core;
    core.inflight.delete(this.upx!);
    this.cut?.done();
    const uc = this.uc!;
    if (reusable && this.keep) core.pool.release(uc);
    else uc.close();
    this.beC!.close();
    this.srvC!.close();
    const body = this.body;
    if (body) {
      if (!body.ended) body.cancel();
      this.feC.bytesIn += body.bytes;
      this.beC!.bytesIn += body.bytes;
      this.srvC!.bytesIn += body.bytes;
    }
  }
}
