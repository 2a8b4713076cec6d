/**
 * One app process of the revocation-propagation measurement (a child of
 * `propagation.ts`): a guard with the local session cache over the bench's
 * Redis, driven over IPC. Process A logs users in and revokes their
 * sessions; process B holds a session in its cache and runs the guard on it
 * in process, one check per event-loop turn, until the guard refuses it,
 * then says so. Both answer `ready` once their cache follows revocations.
 */
import type { RequestHandler } from "express";
import { Redis } from "ioredis";
import { RedisStore, sessionGuard } from "../lib/index.js";

type Message =
  | { type: "login"; id: number; userId: string }
  | { type: "watch"; id: number; authorization: string }
  | { type: "revoke"; id: number; sessionId: string; userId: string }
  | { type: "ping"; id: number }
  | { type: "stop" };

const client = new Redis(process.env.REDIS_URL!, { enableOfflineQueue: false, commandTimeout: 1000 });
await new Promise<void>((resolve, reject) => {
  client.once("ready", resolve);
  client.once("error", reject);
});
const guard = sessionGuard({ store: new RedisStore({ client }), secret: process.env.BENCH_SECRET!, cache: { ttl: "5s", max: 10_000 } });
while (!guard.cache!.subscribed) await new Promise((resolve) => setTimeout(resolve, 5));

/** Runs the guard once on `authorization`, in process: resolves to `null` when it let the request through, else the refusal's status and code. */
function check(middleware: RequestHandler, authorization: string): Promise<{ status: number; code: string } | null> {
  return new Promise((resolve, reject) => {
    const res = {
      statusCode: 200,
      headersSent: false,
      status(code: number) {
        this.statusCode = code;
        return this;
      },
      setHeader() {},
      json(body: { error: string }) {
        resolve({ status: this.statusCode, code: body.error });
      },
    };
    const req = { method: "GET", url: "/hello", headers: { authorization } };
    middleware(req as never, res as never, (err?: unknown) => (err ? reject(err) : resolve(null)));
  });
}

/** Checks `authorization` once per event-loop turn until the guard refuses it; every check before is answered from the cache. */
async function watch(id: number, authorization: string): Promise<void> {
  const first = await check(guard, authorization);
  if (first !== null) throw new Error(`the session was refused before its revocation (${first.status} ${first.code})`);
  const hits = guard.cache!.hits;
  if ((await check(guard, authorization)) !== null || guard.cache!.hits !== hits + 1) {
    throw new Error("the second check of a session was not answered from the cache");
  }
  process.send!({ type: "watching", id });
  for (;;) {
    await new Promise((resolve) => setImmediate(resolve));
    const refusal = await check(guard, authorization);
    if (refusal === null) continue;
    if (refusal.status !== 401 || refusal.code !== "session_inactive") {
      throw new Error(`the revoked session was refused with ${refusal.status} ${refusal.code}, not 401 session_inactive`);
    }
    process.send!({ type: "refused", id });
    return;
  }
}

async function handle(message: Message): Promise<void> {
  switch (message.type) {
    case "ping":
      process.send!({ type: "pong", id: message.id });
      return;
    case "login": {
      const tokens = await guard.sessions.create(message.userId);
      process.send!({ type: "session", id: message.id, authorization: `Bearer ${tokens.access_token}`, sessionId: tokens.session.id });
      return;
    }
    case "watch":
      return watch(message.id, message.authorization);
    case "revoke": {
      const revoked = await guard.sessions.revoke(message.sessionId, message.userId);
      process.send!({ type: "revoked", id: message.id, revoked });
      return;
    }
    case "stop":
      await guard.close();
      client.disconnect();
      process.exit(0);
  }
}

process.on("message", (message: Message) => {
  handle(message).catch((error: unknown) => process.send!({ type: "failed", error: String((error as Error)?.stack ?? error) }));
});
process.on("disconnect", () => process.exit(0));
process.send!({ type: "ready" });
