/**
 * The middleware alone, in process: µs per call of session-guard's guard
 * (MemoryStore, so the store is a map lookup) and of express-jwt's
 * middleware, over the same HS256 token, with no HTTP around them. Rounds
 * alternate the two so drift cancels out; the median per round is reported.
 * The guard is also measured with a subscriber on its `session-guard:check`
 * tracing channel, for what tracing costs when an APM listens (and, by the
 * plain measurement, that it costs nothing measurable when none does).
 * And a refused request (no token) without and with a subscriber on the
 * rejection channel, the one channel on the refusal path.
 */
import { createSecretKey } from "node:crypto";
import { subscribe, tracingChannel, unsubscribe } from "node:diagnostics_channel";
import type { RequestHandler } from "express";
import { expressjwt } from "express-jwt";
import { MemoryStore, REJECTED_CHANNEL, sessionGuard } from "../lib/index.js";

const CALLS = Number(process.env.BENCH_MIDDLEWARE_CALLS ?? 50_000);
const ROUNDS = 5;

/** µs per call of `middleware` over `calls` sequential requests (each awaited through `next`). */
function perCall(middleware: RequestHandler, authorization: string, calls: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const res = {
      status: () => {
        throw new Error("the middleware refused the token");
      },
      setHeader() {},
      json() {},
    };
    let i = 0;
    const start = process.hrtime.bigint();
    const step = (err?: unknown): void => {
      if (err) return reject(err);
      if (i++ === calls) return resolve(Number(process.hrtime.bigint() - start) / calls / 1000);
      const req = { method: "GET", url: "/hello", headers: { authorization } };
      middleware(req as never, res as never, step);
    };
    step();
  });
}

/** µs per refused call: a request without a token, answered synchronously with a 401. */
function perRefusal(middleware: RequestHandler, calls: number): number {
  let answered = 0;
  const res = {
    headersSent: false,
    setHeader() {},
    status: () => res,
    json: () => void answered++,
  };
  const next = () => {
    throw new Error("the middleware passed a request without a token");
  };
  const req = { method: "GET", url: "/hello", headers: {} };
  const start = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) middleware(req as never, res as never, next);
  const us = Number(process.hrtime.bigint() - start) / calls / 1000;
  if (answered !== calls) throw new Error(`${answered} of ${calls} refusals answered`);
  return us;
}

async function main() {
  const secret = process.env.BENCH_SECRET!;
  const guard = sessionGuard({ store: new MemoryStore({ sweepInterval: 0 }), secret });
  const tokens = await guard.sessions.create("user-1", { claims: { role: "user" } });
  const authorization = `Bearer ${tokens.access_token}`;
  const ej = expressjwt({ secret: createSecretKey(Buffer.from(secret)), algorithms: ["HS256"] });
  await perCall(guard, authorization, 5000);
  await perCall(ej, authorization, 5000);
  const guardUs: number[] = [];
  const tracedUs: number[] = [];
  const expressJwtUs: number[] = [];
  // A subscriber doing what an APM does at least: note the start, read the end.
  const started = new WeakMap<object, bigint>();
  let traced = 0n;
  const subscriber = {
    start: (ctx: object) => void started.set(ctx, process.hrtime.bigint()),
    end: () => {},
    asyncStart: () => {},
    asyncEnd: (ctx: object) => void (traced += process.hrtime.bigint() - (started.get(ctx) ?? 0n)),
    error: () => {},
  };
  const check = tracingChannel("session-guard:check");
  const refusedUs: number[] = [];
  const refusedListenedUs: number[] = [];
  let refusals = 0;
  const onRefusal = () => void refusals++;
  perRefusal(guard, 5000);
  for (let r = 0; r < ROUNDS; r++) {
    refusedUs.push(perRefusal(guard, CALLS));
    subscribe(REJECTED_CHANNEL, onRefusal);
    refusedListenedUs.push(perRefusal(guard, CALLS));
    unsubscribe(REJECTED_CHANNEL, onRefusal);
    guardUs.push(await perCall(guard, authorization, CALLS));
    check.subscribe(subscriber);
    tracedUs.push(await perCall(guard, authorization, CALLS));
    check.unsubscribe(subscriber);
    expressJwtUs.push(await perCall(ej, authorization, CALLS));
  }
  if (traced === 0n) throw new Error("the tracing subscriber saw no check");
  if (refusals !== ROUNDS * CALLS) throw new Error(`the rejection subscriber saw ${refusals} refusals`);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  await guard.close();
  process.send!({
    type: "result",
    result: {
      calls: CALLS,
      rounds: ROUNDS,
      guardUs: median(guardUs),
      guardTracedUs: median(tracedUs),
      expressJwtUs: median(expressJwtUs),
      refusedUs: median(refusedUs),
      refusedListenedUs: median(refusedListenedUs),
    },
  });
}

main().catch((error) => process.send!({ type: "result", error: String(error?.stack ?? error) }));
