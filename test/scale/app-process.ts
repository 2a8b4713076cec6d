/**
 * One app process of the multi-process test: the guard over the shared
 * Redis (REDIS_URL, KEY_PREFIX), the router, a guarded route and the ways a
 * session can end from inside an app (revoke by id, revoke others, revoke
 * all). With CACHE_TTL, the local session cache is on. Listens on a free
 * loopback port and prints it as `listening <port>` (with the cache, once it
 * follows revocations).
 */
import express from "express";
import type { AddressInfo } from "node:net";
import { createSessionRouter, RedisStore, sessionGuard } from "../../lib/index.js";

const guard = sessionGuard({
  store: new RedisStore({ url: process.env.REDIS_URL!, prefix: process.env.KEY_PREFIX! }),
  secret: process.env.SESSION_SECRET!,
  maxSessionsPerUser: 3,
  // Without the cache (almost) every check touches, so eviction order
  // follows the latest use in any process; with it, a minute, so that
  // requests are answered from memory (and eviction follows the last touch).
  touchInterval: process.env.CACHE_TTL ? "1m" : 1,
  cache: process.env.CACHE_TTL ? { ttl: process.env.CACHE_TTL } : false,
});

const app = express();
app.use(
  "/auth",
  createSessionRouter(guard, {
    authenticate: (req) => (typeof req.body.user === "string" ? { userId: req.body.user } : null),
  }),
);
app.get("/me", guard, (req, res) => {
  res.json({ user: req.session.userId, session: req.session.id, pid: process.pid });
});
app.post("/me/revoke-others", guard, (req, res, next) => {
  req.session.revokeOthers().then((revoked) => res.json({ revoked }), next);
});
app.post("/me/revoke-all", guard, (req, res, next) => {
  req.session.revokeAll().then((revoked) => res.json({ revoked }), next);
});
app.post("/admin/revoke/:user/:id", (req, res, next) => {
  guard.sessions.revoke(req.params.id, req.params.user).then((revoked) => res.json({ revoked }), next);
});
app.use(guard.errorHandler);

const server = app.listen(0, "127.0.0.1", () => {
  const announce = () => {
    if (guard.cache && !guard.cache.subscribed) setTimeout(announce, 5);
    else console.log(`listening ${(server.address() as AddressInfo).port}`);
  };
  announce();
});
process.on("SIGTERM", () => {
  server.close(() => void guard.close().then(() => process.exit(0)));
});
