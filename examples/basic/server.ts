/**
 * The smallest complete app: log in, call a guarded route, refresh, list
 * and end sessions. Uses Redis when REDIS_URL is set, memory otherwise.
 *
 *   npm run example            # then, in another terminal:
 *   curl -s -XPOST localhost:3000/auth/login -H 'content-type: application/json' \
 *        -d '{"email":"ada@example.com","password":"correct horse"}'
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import express from "express";
import { createSessionRouter, MemoryStore, RedisStore, sessionGuard } from "../../lib/index.js";

const users = new Map([["ada@example.com", { id: "user-1", password: "correct horse", role: "admin" }]]);

function checkPassword(given: unknown, expected: string): boolean {
  if (typeof given !== "string") return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

const secret = process.env.SESSION_SECRET ?? randomBytes(48).toString("base64");
const guard = sessionGuard({
  store: process.env.REDIS_URL ? new RedisStore({ url: process.env.REDIS_URL }) : new MemoryStore(),
  secret,
  accessTokenTtl: "15m",
  idleTimeout: "1d",
  absoluteLifetime: "30d",
  rememberMe: { idleTimeout: "30d", absoluteLifetime: null },
});
guard.on("reuse_detected", ({ sessionId, userId }) => console.warn(`refresh token reuse: session ${sessionId} of ${userId} revoked`));

const app = express();
app.set("trust proxy", "loopback");
app.use(
  "/auth",
  createSessionRouter(guard, {
    authenticate: async (req) => {
      const user = typeof req.body.email === "string" ? users.get(req.body.email) : undefined;
      return user && checkPassword(req.body.password, user.password) ? { userId: user.id, claims: { role: user.role } } : null;
    },
  }),
);
app.use(express.json());
app.get("/me", guard, (req, res) => {
  res.json({ user: req.session.userId, role: req.session.claims.role, expires_at: req.session.expiresAt });
});
app.get("/", (_req, res) => res.type("text").send("session-guard example: POST /auth/login, then GET /me with the access token.\n"));

const port = Number(process.env.PORT ?? 3000);
const server = app.listen(port, "127.0.0.1", () => {
  console.log(`session-guard example on http://127.0.0.1:${port} (${process.env.REDIS_URL ? "RedisStore" : "MemoryStore"})`);
});
const stop = () => server.close(() => void guard.close());
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
