/**
 * The example app: a devices page on cookie transport. Log in, see who you
 * are and when your tokens expire, list your sessions (browser, OS, device,
 * IP, last use), revoke one, log out other devices or everywhere.
 * {@link serveExample} serves it on the store a server gives it:
 * `server.ts` (memory, or Redis at REDIS_URL) and `../cluster/server.ts`
 * (a Redis Cluster).
 *
 * Environment: PORT (3000; 0 picks a free port, printed at start),
 * SESSION_SECRET (random per start otherwise), ACCESS_TOKEN_TTL
 * ("15m"), JWT_CLOCK_TOLERANCE (seconds, 30), COOKIE_SECURE ("true" behind
 * HTTPS), METRICS ("true" serves Prometheus metrics at GET /metrics).
 *
 * The same routes from a terminal (cookie transport: a cookie jar, and the
 * CSRF header on every POST):
 *
 *   curl -s -c jar -b jar -XPOST localhost:3000/auth/login -H 'x-requested-with: curl' \
 *        -H 'content-type: application/json' -d '{"email":"ada@example.com","password":"correct horse"}'
 *   curl -s -b jar localhost:3000/api/me
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import { fileURLToPath } from "node:url";
import cookieParser from "cookie-parser";
import express, { type NextFunction, type Request, type RequestHandler, type Response } from "express";
import { createSessionRouter, sessionGuard, type Store } from "../../lib/index.js";
import { sessionGuardMetrics } from "../../lib/metrics/index.js";

/** Demo users; the login form shows the first one's credentials. */
const users = new Map([
  ["ada@example.com", { id: "user-1", name: "Ada Lovelace", password: "correct horse", role: "admin" }],
  ["grace@example.com", { id: "user-2", name: "Grace Hopper", password: "battery staple", role: "member" }],
]);

function checkPassword(given: unknown, expected: string): boolean {
  if (typeof given !== "string") return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** What differs between the example's servers: the store, and how to name it at start. */
export interface ExampleStore {
  store: Store;
  /** Printed at start, e.g. `"MemoryStore"`. */
  name: string;
  /** Called after the guard closed on SIGINT/SIGTERM (say, to quit a Redis client given to the store). */
  close?: () => Promise<unknown>;
}

/** Builds the example app on `store` and serves it on PORT (default 3000) until SIGINT or SIGTERM. */
export function serveExample({ store, name, close }: ExampleStore): void {
  const secret = process.env.SESSION_SECRET ?? randomBytes(48).toString("base64");
  const guard = sessionGuard({
    store,
    secret,
    ...(process.env.JWT_CLOCK_TOLERANCE === undefined ? {} : { jwt: { clockTolerance: Number(process.env.JWT_CLOCK_TOLERANCE) * 1000 } }),
    accessTokenTtl: process.env.ACCESS_TOKEN_TTL ?? "15m",
    idleTimeout: "1d",
    absoluteLifetime: "30d",
    rememberMe: { idleTimeout: "30d", absoluteLifetime: null },
    transport: "cookie",
    // The page sends `X-Requested-With` on every call (the default CSRF header).
    cookie: {
      // `npm run example` serves plain http on loopback. A `Secure` cookie (and
      // so the `__Host-`/`__Secure-` names, which require it) is refused over
      // http by some browsers even on localhost, so the example turns it off
      // unless told it sits behind HTTPS. Never run a real app like this.
      secure: process.env.COOKIE_SECURE === "true",
    },
  });
  guard.on("reuse_detected", ({ sessionId, userId }) => console.warn(`refresh token reuse: session ${sessionId} of ${userId} revoked`));

  /** An async route whose rejection reaches the error handlers, on Express 4 as on 5. */
  const route =
    (handler: (req: Request, res: Response) => Promise<void> | void): RequestHandler =>
    (req: Request, res: Response, next: NextFunction) => {
      Promise.resolve()
        .then(() => handler(req, res))
        .catch(next);
    };

  const app = express();
  app.set("trust proxy", "loopback");
  app.disable("x-powered-by");

  // Prometheus metrics of the guard. A real app serves them where only the
  // scraper reaches (another port, or behind the proxy's access rules).
  const metrics = process.env.METRICS === "true" ? sessionGuardMetrics(guard) : undefined;
  if (metrics) {
    const { registry } = metrics;
    app.get(
      "/metrics",
      route(async (_req, res) => {
        res
          .set("Cache-Control", "no-store")
          .type(registry.contentType)
          .send(await registry.metrics());
      }),
    );
  }
  app.use(cookieParser());
  app.use(
    "/auth",
    createSessionRouter(guard, {
      authenticate: async (req) => {
        const email = typeof req.body.email === "string" ? req.body.email.trim().toLowerCase() : "";
        const user = users.get(email);
        return user && checkPassword(req.body.password, user.password)
          ? { userId: user.id, claims: { role: user.role, name: user.name, email } }
          : null;
      },
    }),
  );
  app.use(express.json());

  /** Who you are, and when the access token and the session expire. */
  app.get(
    "/api/me",
    guard,
    route((req, res) => {
      const { session } = req;
      res.set("Cache-Control", "no-store").json({
        user: { id: session.userId, name: session.claims.name, email: session.claims.email, role: session.claims.role },
        session: {
          id: session.id,
          created_at: session.createdAt.toISOString(),
          expires_at: session.expiresAt === null ? null : session.expiresAt.toISOString(),
          remember_me: session.rememberMe,
        },
        // Seconds left, so the page needs no clock of the server's.
        access_token_expires_in: Math.max(0, session.claims.exp - Math.floor(Date.now() / 1000)),
      });
    }),
  );

  // The page: plain HTML, CSS and ES modules, and the user-agent parser from node_modules.
  const publicDir = fileURLToPath(new URL("./public/", import.meta.url));
  const bowser = fileURLToPath(import.meta.resolve("bowser/bowser.mjs"));
  app.get("/vendor/bowser.mjs", (_req, res) => res.type("text/javascript").sendFile(bowser));
  app.use(express.static(publicDir, { index: "index.html", extensions: ["html"] }));

  // After the routes: a SessionError thrown in a route is answered as the guard answers.
  app.use(guard.errorHandler);
  app.use((_req: Request, res: Response) => res.status(404).json({ error: "not_found", message: "No such page." }));

  const port = Number(process.env.PORT ?? 3000);
  const server = app.listen(port, "127.0.0.1", () => {
    const address = server.address();
    const actual = typeof address === "object" && address !== null ? address.port : port;
    console.log(`session-guard example on http://localhost:${actual} (${name})`);
  });
  const stop = () => {
    metrics?.close();
    server.close(() => void guard.close().then(close));
    server.closeIdleConnections();
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}
