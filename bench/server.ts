/**
 * One benchmark server variant per process (BENCH_VARIANT), listening on a
 * free loopback port it reports to the parent over IPC. Every variant serves
 * `GET /hello` → a small JSON body, and all but `bare` require a login first
 * (`POST /login`, or `POST /auth/login` for session-guard).
 */
import { createSecretKey } from "node:crypto";
import express, { type NextFunction, type Request, type Response } from "express";
import { expressjwt } from "express-jwt";
import session from "express-session";
import { RedisStore as ConnectRedisStore } from "connect-redis";
import { createClient } from "redis";
import { Redis } from "ioredis";
import { createSessionRouter, MemoryStore, RedisStore, sessionGuard } from "../lib/index.js";
import { VARIANTS, type Variant } from "./common.js";

const variant = process.env.BENCH_VARIANT as Variant;
const secret = process.env.BENCH_SECRET!;
const redisUrl = process.env.REDIS_URL!;
if (!VARIANTS.includes(variant)) throw new Error(`unknown BENCH_VARIANT ${variant}`);
if (!secret) throw new Error("BENCH_SECRET is required");

const app = express();
app.disable("x-powered-by");
const closers: Array<() => Promise<unknown> | void> = [];

switch (variant) {
  case "bare": {
    app.get("/hello", (_req, res) => {
      res.json({ hello: "world" });
    });
    break;
  }
  case "express-jwt":
  case "express-jwt-string": {
    // Tokens are minted by session-guard (same secret, same claims, HS256) so
    // both sides verify the very same JWT; express-jwt checks it statelessly.
    // "express-jwt" gets a KeyObject (its best case); "express-jwt-string" the
    // plain string secret most apps pass, which jsonwebtoken 9 first tries to
    // parse as a public key (a thrown error) on every verification.
    const minter = sessionGuard({ store: new MemoryStore({ sweepInterval: 0 }), secret });
    closers.push(() => minter.close());
    const key = variant === "express-jwt" ? createSecretKey(Buffer.from(secret)) : secret;
    app.post("/login", async (_req, res) => {
      res.json(await minter.sessions.create("user-1", { claims: { role: "user" } }));
    });
    app.get("/hello", expressjwt({ secret: key, algorithms: ["HS256"] }), (req: Request, res: Response) => {
      res.json({ hello: "world", user: (req as Request & { auth?: { sub?: string } }).auth?.sub });
    });
    app.use((err: Error & { status?: number }, _req: Request, res: Response, _next: NextFunction) => {
      res.status(err.status ?? 500).json({ error: err.name });
    });
    break;
  }
  case "express-session": {
    // connect-redis v9 is written for node-redis (its peer dependency); it
    // calls node-redis APIs (`set(key, value, { expiration })`, `scanIterator`).
    const client = createClient({ url: redisUrl });
    client.on("error", () => {});
    await client.connect();
    closers.push(() => client.quit());
    app.use(
      session({
        store: new ConnectRedisStore({ client, prefix: "sess:" }),
        secret,
        resave: false,
        saveUninitialized: false,
        rolling: false,
        cookie: { httpOnly: true, secure: false, sameSite: "strict", maxAge: 24 * 3600 * 1000 },
      }),
    );
    // session-guard's types claim req.session; express-session's handle is typed here.
    type ExpressSession = import("express-session").Session & { userId?: string };
    const sess = (req: Request) => (req as unknown as { session: ExpressSession }).session;
    app.post("/login", (req, res, next) => {
      sess(req).regenerate((err: unknown) => {
        if (err) return next(err);
        sess(req).userId = "user-1";
        sess(req).save((err2: unknown) => (err2 ? next(err2) : res.json({ ok: true })));
      });
    });
    app.get("/hello", (req, res) => {
      const userId = sess(req).userId;
      if (!userId) {
        res.status(401).json({ error: "not_logged_in" });
        return;
      }
      res.json({ hello: "world", user: userId });
    });
    break;
  }
  case "sg-redis":
  case "sg-redis-plain": // what users write: a client with no options (the store batches it)
  case "sg-redis-ioredis-pipelining": // the quickstart's client with ioredis' own auto-pipelining instead
  case "sg-redis-cache": // the tuned client with the local session cache
  case "sg-redis-cold": // the same server; the load signs a new token for every request
  case "sg-memory": {
    let store;
    if (variant !== "sg-memory") {
      const client =
        variant === "sg-redis-plain"
          ? new Redis(redisUrl)
          : // The client the README recommends (with ioredis' auto-pipelining for that variant).
            new Redis(redisUrl, {
              enableOfflineQueue: false,
              commandTimeout: 1000,
              enableAutoPipelining: variant === "sg-redis-ioredis-pipelining",
            });
      await new Promise<void>((resolve, reject) => {
        client.once("ready", resolve);
        client.once("error", reject);
      });
      closers.push(() => client.quit());
      store = new RedisStore({ client });
    } else {
      store = new MemoryStore();
    }
    const guard = sessionGuard({ store, secret, cache: variant === "sg-redis-cache" ? { ttl: "5s", max: 10_000 } : false });
    // Ready once the cache follows revocations (until then it is bypassed).
    while (guard.cache && !guard.cache.subscribed) await new Promise((resolve) => setTimeout(resolve, 5));
    closers.push(() => guard.close());
    app.use("/auth", createSessionRouter(guard, { authenticate: async () => ({ userId: "user-1", claims: { role: "user" } }) }));
    app.get("/hello", guard, (req, res) => {
      res.json({ hello: "world", user: req.session.userId });
    });
    break;
  }
}

const server = app.listen(0, "127.0.0.1", () => {
  const address = server.address();
  process.send!({ type: "ready", port: typeof address === "object" && address ? address.port : 0 });
});

async function stop(): Promise<void> {
  server.closeAllConnections?.();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  for (const close of closers) {
    try {
      await close();
    } catch {
      /* closing anyway */
    }
  }
  process.exit(0);
}
process.on("message", (m: { type?: string }) => {
  if (m?.type === "stop") void stop();
});
process.on("SIGTERM", () => void stop());
process.on("disconnect", () => void stop());
