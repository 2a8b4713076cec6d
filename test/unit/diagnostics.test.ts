// Store calls are published on diagnostics_channel tracing channels, with
// who they are about, the guard that made them and their result or error;
// every refused request on the rejection channel; nothing is published to a
// channel without subscribers.
import { subscribe as subscribeChannel, tracingChannel, unsubscribe as unsubscribeChannel } from "node:diagnostics_channel";
import { expect } from "chai";
import request from "supertest";
import {
  MemoryStore,
  REJECTED_CHANNEL,
  SessionError,
  TRACED_OPERATIONS,
  type RejectedRequest,
  type StoreCallContext,
} from "../../lib/index.js";
import { buildApp, expectError, login, me, MOUNT, refresh } from "../http/app.js";

type Seen = Array<{ phase: string; operation: string; userId?: string; sessionId?: string; result?: unknown; error?: string }>;

function subscribe(names: readonly string[], seen: Seen): () => void {
  const handlers = names.map((name) => {
    const record = (phase: string) => (message: object) => {
      const ctx = message as StoreCallContext;
      return void seen.push({
        phase,
        operation: ctx.operation,
        userId: ctx.userId,
        sessionId: ctx.sessionId,
        ...(phase === "asyncEnd" && "result" in ctx ? { result: ctx.result === null ? null : typeof ctx.result } : {}),
        ...(phase === "error" ? { error: (ctx.error as { code?: string }).code } : {}),
      });
    };
    const h = { start: record("start"), end: () => {}, asyncStart: () => {}, asyncEnd: record("asyncEnd"), error: record("error") };
    tracingChannel(`session-guard:${name}`).subscribe(h);
    return () => tracingChannel(`session-guard:${name}`).unsubscribe(h);
  });
  return () => handlers.forEach((off) => off());
}

describe("diagnostics_channel tracing", () => {
  it("publishes each store call with its operation, user, session and result", async () => {
    const t = buildApp();
    const seen: Seen = [];
    const off = subscribe(TRACED_OPERATIONS, seen);
    try {
      const tokens = await login(t, "ada");
      expect((await me(t, tokens.access_token)).status).to.equal(200);
      expect((await refresh(t, tokens.refresh_token)).status).to.equal(200);
      const sid = tokens.session.id;
      expect(seen).to.deep.equal([
        { phase: "start", operation: "create", userId: "ada", sessionId: sid },
        { phase: "asyncEnd", operation: "create", userId: "ada", sessionId: sid, result: "object" },
        { phase: "start", operation: "check", userId: "ada", sessionId: sid },
        { phase: "asyncEnd", operation: "check", userId: "ada", sessionId: sid, result: "object" },
        { phase: "start", operation: "rotate", userId: "ada", sessionId: sid },
        { phase: "asyncEnd", operation: "rotate", userId: "ada", sessionId: sid, result: "object" },
      ]);
    } finally {
      off();
      await t.guard.close();
    }
  });

  it("publishes a failed store call as an error with the store_unavailable code", async () => {
    class Broken extends MemoryStore {
      override check(): never {
        throw new Error("disk on fire");
      }
    }
    const t = buildApp({ guard: { store: new Broken({ sweepInterval: 0 }) } });
    const seen: Seen = [];
    const off = subscribe(["check"], seen);
    try {
      const tokens = await login(t, "bo");
      expect((await me(t, tokens.access_token)).status).to.equal(503);
      expect(seen.map((s) => [s.phase, s.error])).to.deep.equal([
        ["start", undefined],
        ["error", "store_unavailable"],
        ["asyncEnd", undefined],
      ]);
    } finally {
      off();
      await t.guard.close();
    }
  });
});

describe("diagnostics_channel tracing: whose call", () => {
  it("names the guard that made each store call, also for guard.sessions", async () => {
    const first = buildApp();
    const second = buildApp();
    const guards: unknown[] = [];
    const start = (message: unknown) => void guards.push((message as StoreCallContext).guard);
    tracingChannel("session-guard:create").start.subscribe(start);
    try {
      await login(first, "ada");
      await second.guard.sessions.create("bo");
      expect(guards).to.have.length(2);
      expect(guards[0]).to.equal(first.guard);
      expect(guards[1]).to.equal(second.guard);
    } finally {
      tracingChannel("session-guard:create").start.unsubscribe(start);
      await first.guard.close();
      await second.guard.close();
    }
  });
});

describe("the rejection channel", () => {
  function record(): { seen: Array<Omit<RejectedRequest, "guard"> & { guard: unknown }>; off(): void } {
    const seen: Array<Omit<RejectedRequest, "guard"> & { guard: unknown }> = [];
    const onMessage = (message: unknown) => void seen.push({ ...(message as RejectedRequest) });
    subscribeChannel(REJECTED_CHANNEL, onMessage);
    return { seen, off: () => unsubscribeChannel(REJECTED_CHANNEL, onMessage) };
  }

  it("is named session-guard:rejected", () => {
    expect(REJECTED_CHANNEL).to.equal("session-guard:rejected");
  });

  it("publishes every refusal of the guard, guard.optional, the routes and errorHandler with its code, status and source", async () => {
    const t = buildApp({
      routes: (app, guard) => {
        app.get("/gone", guard, (_req, _res, next) => next(new SessionError("not_found")));
      },
    });
    const { seen, off } = record();
    try {
      const tokens = await login(t, "ada");
      expectError(await request(t.app).post(`${MOUNT}/login`).send({ user: "ada", password: "no" }), 401, "invalid_credentials");
      expectError(await request(t.app).get("/me"), 401, "token_missing");
      expectError(await request(t.app).get("/maybe").set("Authorization", "Bearer a.b.c"), 401, "token_invalid", { tokenPresented: true });
      expect((await request(t.app).get("/maybe")).status).to.equal(200);
      expectError(await refresh(t, "not-a-token"), 401, "refresh_token_invalid");
      expectError(await request(t.app).get("/gone").set("Authorization", `Bearer ${tokens.access_token}`), 404, "not_found");
      expect((await me(t, tokens.access_token)).status).to.equal(200);
      expect(seen).to.deep.equal([
        { code: "invalid_credentials", status: 401, source: "login", guard: t.guard },
        { code: "token_missing", status: 401, source: "guard", guard: t.guard },
        { code: "token_invalid", status: 401, source: "guard.optional", guard: t.guard },
        { code: "refresh_token_invalid", status: 401, source: "refresh", guard: t.guard },
        { code: "not_found", status: 404, source: "errorHandler", guard: t.guard },
      ]);
    } finally {
      off();
      await t.guard.close();
    }
  });

  it("publishes a refusal once when the app's onError hands it on to errorHandler", async () => {
    // An onError that leaves the guard's own refusals to the app's error
    // middleware (here guard.errorHandler, which calls it again).
    const t = buildApp({
      guard: {
        onError: (err, _req, res, next) => {
          if (res.locals.handedOn) return void res.status(err.status).json({ error: err.code });
          res.locals.handedOn = true;
          next(err);
        },
      },
    });
    const { seen, off } = record();
    try {
      expect((await request(t.app).get("/me")).status).to.equal(401);
      expect(seen.map((m) => [m.code, m.source])).to.deep.equal([["token_missing", "guard"]]);
    } finally {
      off();
      await t.guard.close();
    }
  });

  it("publishes a refusal the app's onError answers", async () => {
    const t = buildApp({ guard: { onError: (err, _req, res) => void res.status(err.status).send(`no: ${err.code}`) } });
    const { seen, off } = record();
    try {
      const res = await request(t.app).get("/me");
      expect([res.status, res.text]).to.deep.equal([401, "no: token_missing"]);
      expect(seen.map((m) => [m.code, m.source])).to.deep.equal([["token_missing", "guard"]]);
    } finally {
      off();
      await t.guard.close();
    }
  });
});
