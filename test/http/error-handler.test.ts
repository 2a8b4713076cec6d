/**
 * `guard.errorHandler`: a `SessionError` thrown in an app route after the
 * guard passed (the store failing mid-request) is answered as the guard
 * answers its own — JSON, status, `Retry-After` — on Express 4 (which needs
 * `next(err)` for async routes) and on Express 5 (which forwards rejected
 * promises itself); other errors pass on to the app's own handler.
 */
import { expect } from "chai";
import express5, { type ErrorRequestHandler, type Express, type NextFunction, type Request, type Response } from "express";
import express4 from "express4";
import { Redis } from "ioredis";
import request from "supertest";
import { RedisStore, SessionError, sessionGuard, type Guard } from "../../lib/index.js";
import { EPOCH, fakeClock } from "../support/clock.js";
import { startRedis, type RedisNode } from "../support/redis-server.js";
import { SAFE_CLIENT, SECRET, expectError, ready } from "./app.js";

// Long enough that a loaded machine does not time out the calls before the pause.
const STORE_TIMEOUT = 600;

type ExpressFactory = () => Express;
// Under `npm run test:express4` the "express" import is Express 4 too, so
// only the Express 4 case is run there.
const VERSIONS: Array<{ name: string; make: ExpressFactory; express4: boolean }> = [
  { name: "Express 5", make: () => express5(), express4: false },
  { name: "Express 4", make: () => (express4 as unknown as ExpressFactory)(), express4: true },
].filter((version) => version.express4 || process.env.SESSION_GUARD_TEST_EXPRESS !== "4");

describe("guard.errorHandler", () => {
  let node: RedisNode;
  let client: Redis;
  let admin: Redis;
  let guard: Guard;
  let prefixes = 0;

  before(async () => {
    node = await startRedis();
    client = new Redis(node.url, SAFE_CLIENT);
    admin = new Redis(node.url);
    await Promise.all([ready(client), ready(admin)]);
  });
  after(async () => {
    client.disconnect();
    admin.disconnect();
    await node.stop();
  });
  beforeEach(() => {
    const clock = fakeClock(EPOCH);
    guard = sessionGuard({
      store: new RedisStore({ client, prefix: `eh${++prefixes}:` }),
      secret: SECRET,
      now: clock.now,
      storeTimeout: STORE_TIMEOUT,
    });
  });
  afterEach(async () => {
    await admin.call("CLIENT", "UNPAUSE");
    await guard.close();
  });

  /** An app whose `POST /password` pauses Redis after the guard passed, then revokes the other sessions. */
  function appOn(make: ExpressFactory, forwardsRejections: boolean, handler: ErrorRequestHandler = guard.errorHandler): Express {
    const app = make();
    const route = async (req: Request, res: Response) => {
      await admin.call("CLIENT", "PAUSE", "5000", "ALL");
      await req.session.revokeOthers();
      res.sendStatus(204);
    };
    // Express 4 does not catch a rejected promise: the route passes it to next(err).
    app.post("/password", guard, forwardsRejections ? route : (req, res, next: NextFunction) => void route(req, res).catch(next));
    app.post("/fails", guard, () => {
      throw new Error("not a session error");
    });
    app.post("/ended", guard, () => {
      throw new SessionError("session_inactive");
    });
    app.use(handler);
    app.use((err: Error, _req: Request, res: Response, _next: NextFunction) => {
      res.status(500).json({ error: "app_handler", message: err.message });
    });
    return app;
  }

  for (const version of VERSIONS) {
    describe(version.name, () => {
      it("answers a store failure in a route with a JSON 503 and Retry-After, not an HTML page", async () => {
        const app = appOn(version.make, !version.express4);
        const tokens = await guard.sessions.create("alice");
        await guard.sessions.create("alice");
        const res = await request(app).post("/password").set("Authorization", `Bearer ${tokens.access_token}`);
        expectError(res, 503, "store_unavailable");
        expect(res.headers["retry-after"]).to.equal("1");
        expect(res.headers["cache-control"]).to.equal("no-store");
        await admin.call("CLIENT", "UNPAUSE");
        // Revocation did not happen (Redis never ran it): both sessions are still there.
        expect(await guard.sessions.list("alice")).to.have.length(2);
      });

      it("answers a SessionError thrown synchronously with its status and WWW-Authenticate", async () => {
        const tokens = await guard.sessions.create("alice");
        const res = await request(appOn(version.make, !version.express4))
          .post("/ended")
          .set("Authorization", `Bearer ${tokens.access_token}`);
        expectError(res, 401, "session_inactive", { tokenPresented: true });
      });

      it("passes any other error on to the app's own handler", async () => {
        const tokens = await guard.sessions.create("alice");
        const res = await request(appOn(version.make, !version.express4))
          .post("/fails")
          .set("Authorization", `Bearer ${tokens.access_token}`);
        expect(res.status).to.equal(500);
        expect(res.body).to.deep.equal({ error: "app_handler", message: "not a session error" });
      });
    });
  }

  it("answers through the guard's onError when the app gave one", async () => {
    const clock = fakeClock(EPOCH);
    const custom = sessionGuard({
      store: new RedisStore({ client, prefix: `eh${++prefixes}:` }),
      secret: SECRET,
      now: clock.now,
      onError: (err, _req, res) => void res.status(err.status).json({ problem: err.code }),
    });
    try {
      const app = express5();
      app.post("/ended", custom, () => {
        throw new SessionError("session_inactive");
      });
      app.use(custom.errorHandler);
      const tokens = await custom.sessions.create("alice");
      const res = await request(app).post("/ended").set("Authorization", `Bearer ${tokens.access_token}`);
      expect(res.status).to.equal(401);
      expect(res.body).to.deep.equal({ problem: "session_inactive" });
    } finally {
      await custom.close();
    }
  });
});
