// Store calls are published on diagnostics_channel tracing channels, with
// who they are about and their result or error; nothing is published to a
// channel without subscribers.
import { tracingChannel } from "node:diagnostics_channel";
import { expect } from "chai";
import { MemoryStore, TRACED_OPERATIONS, type StoreCallContext } from "../../lib/index.js";
import { buildApp, login, me, refresh } from "../http/app.js";

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
