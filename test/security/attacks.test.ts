/**
 * Defects found by trying attacks against the package: a login that minted
 * a token the guard refused, `expires_in` off by one, a stale refresh token
 * under concurrent rotations, and logout by refresh token rotating it.
 */
import { expect } from "chai";
import request from "supertest";
import { type MemoryStore, type SessionGuardOptions } from "../../lib/index.js";
import { buildApp, expectError, login, me, MOUNT, PASSWORD, redisFixture, refresh, type RedisFixture } from "../http/app.js";
import { EPOCH, MINUTE, SECOND, fakeClock } from "../support/clock.js";

/** An app whose `authenticate` takes the user id and claims from the body, as a careless app might. */
function loginApp(guard: Partial<SessionGuardOptions> = {}) {
  return buildApp({
    guard,
    router: {
      authenticate: (req) => ({ userId: String(req.body.user), claims: req.body.claims as Record<string, unknown> | undefined }),
    },
  });
}

/** The largest `n` for which `fits(n)` holds, for a `fits` true at `low` and false at `high`. */
async function edge(low: number, high: number, fits: (n: number) => Promise<boolean>): Promise<number> {
  while (high - low > 1) {
    const mid = (low + high) >> 1;
    if (await fits(mid)) low = mid;
    else high = mid;
  }
  return low;
}

describe("attack regressions", () => {
  describe("a login never mints a token the guard, Node or a browser refuses", () => {
    it("claims are limited in bytes: 2,036 CJK characters are a 400 at login, with nothing stored", async () => {
      const t = loginApp();
      const res = await request(t.app)
        .post(`${MOUNT}/login`)
        .send({ user: "alice", claims: { bio: "漢".repeat(2036) } });
      expectError(res, 400, "invalid_request");
      expect((t.store as MemoryStore).size).to.equal(0);
      expect(t.eventsOf("login")).to.deep.equal([]);
    });

    it("claims of exactly 2,048 bytes of JSON log in and work; one byte more is a 400", async () => {
      const t = loginApp();
      const claims = (n: number) => ({ bio: "x".repeat(n - '{"bio":""}'.length) });
      const at = await request(t.app)
        .post(`${MOUNT}/login`)
        .send({ user: "alice", claims: claims(2048) });
      expect(at.status, JSON.stringify(at.body)).to.equal(200);
      expect((await me(t, at.body.access_token)).status).to.equal(200);
      expectError(
        await request(t.app)
          .post(`${MOUNT}/login`)
          .send({ user: "bob", claims: claims(2049) }),
        400,
        "invalid_request",
      );
    });

    it("a user id of control characters: the largest token issued works, one character more is a 400 (header transport)", async () => {
      const t = loginApp();
      // Each U+0001 is 6 bytes of JSON in the token: a 1 KB id alone would make a token of about 8.5 KB.
      const loginWith = (n: number) =>
        request(t.app)
          .post(`${MOUNT}/login`)
          .send({ user: "\u0001".repeat(n), password: PASSWORD });
      expectError(await loginWith(1024), 400, "invalid_request");
      const largest = await edge(1, 1024, async (n) => (await loginWith(n)).status === 200);
      const ok = await loginWith(largest);
      expect(ok.body.access_token.length)
        .to.be.at.most(8192)
        .and.above(8192 - 16);
      expect((await me(t, ok.body.access_token)).status, "the largest token is accepted by the guard").to.equal(200);
      const sessionsBefore = (t.store as MemoryStore).size;
      expectError(await loginWith(largest + 1), 400, "invalid_request");
      expect((t.store as MemoryStore).size, "a refused login stores nothing").to.equal(sessionsBefore);
    });

    it("in cookie transport the access cookie must fit a browser's 4,096 bytes", async () => {
      const t = buildApp({
        guard: { transport: "cookie" },
        router: { authenticate: (req) => ({ userId: String(req.body.user) }) },
      });
      const loginWith = (n: number) =>
        request(t.app)
          .post(`${MOUNT}/login`)
          .set("X-Requested-With", "fetch")
          .send({ user: "\u0001".repeat(n) });
      const largest = await edge(1, 1024, async (n) => (await loginWith(n)).status === 200);
      const cookie = ((await loginWith(largest)).headers["set-cookie"] as unknown as string[]).find((c) => c.startsWith("__Host-"))!;
      const pair = cookie.split(";")[0]!;
      expect(pair.length)
        .to.be.at.most(4096)
        .and.above(4096 - 8);
      expectError(await loginWith(largest + 1), 400, "invalid_request");
    });

    it("guard.sessions.create refuses the same with a SessionError invalid_request", async () => {
      const t = loginApp();
      let error: unknown;
      try {
        await t.guard.sessions.create("\u0001".repeat(1024));
      } catch (err) {
        error = err;
      }
      expect(error).to.have.property("code", "invalid_request");
      expect((t.store as MemoryStore).size).to.equal(0);
    });
  });

  describe("expires_in is exp − iat in whole seconds", () => {
    for (const offset of [0, 1, 499, 500, 999]) {
      it(`at ${offset} ms past a whole second it is the full accessTokenTtl`, async () => {
        const clock = fakeClock(EPOCH + offset);
        const t = buildApp({ clock });
        const tokens = await login(t, "alice");
        expect(tokens.expires_in).to.equal(15 * 60);
        const claims = JSON.parse(Buffer.from(tokens.access_token.split(".")[1]!, "base64url").toString());
        expect(claims.exp - claims.iat).to.equal(tokens.expires_in);
        clock.advance(SECOND + 1);
        const rotated = await refresh(t, tokens.refresh_token);
        expect(rotated.body.expires_in).to.equal(15 * 60);
      });
    }

    it("only the absolute deadline cuts it", async () => {
      const clock = fakeClock(EPOCH + 700);
      const t = buildApp({ clock, guard: { absoluteLifetime: "20m", idleTimeout: "10m" } });
      const tokens = await login(t, "alice");
      clock.advance(9 * MINUTE);
      const rotated = await refresh(t, tokens.refresh_token);
      // The session dies at EPOCH + 700 ms + 20 min; the token's exp is that, floored to the second.
      expect(rotated.body.expires_in).to.equal(11 * 60);
    });
  });

  describe("refresh and logout by refresh token against Redis", () => {
    let redis: RedisFixture;
    beforeEach(async () => {
      redis = await redisFixture();
    });
    afterEach(async () => {
      await redis.close();
    });

    it("a stale refresh token presented during sustained concurrent rotations is always reuse", async () => {
      for (let round = 0; round < 5; round++) {
        const t = buildApp({ guard: { store: redis.store } });
        const first = await login(t, `alice-${round}`);
        const second = (await refresh(t, first.refresh_token)).body.refresh_token as string;
        let current = (await refresh(t, second)).body.refresh_token as string;
        // first is now two rotations old. Rotate on and on while it is presented.
        let rotations = 0;
        const rotating = (async () => {
          for (let i = 0; i < 20; i++) {
            const res = await refresh(t, current);
            if (res.status !== 200) return res.body.error as string;
            current = res.body.refresh_token;
            rotations++;
          }
          return "done";
        })();
        const stale = await refresh(t, first.refresh_token);
        const outcome = await rotating;
        expectError(stale, 401, "refresh_token_reused");
        expect(t.eventsOf("reuse_detected")).to.deep.equal([{ sessionId: first.session.id, userId: `alice-${round}` }]);
        expect(outcome === "done" || outcome === "refresh_token_invalid", `${outcome} after ${rotations} rotations`).to.equal(true);
        expectError(await refresh(t, current), 401, "refresh_token_invalid");
        expect(await redis.keys()).to.deep.equal([]);
      }
    });

    it("logout by a refresh token never rotates it: a spent token is reuse, with no refresh event", async () => {
      const clock = fakeClock();
      const t = buildApp({ clock, guard: { store: redis.store } });
      const tokens = await login(t, "alice");
      const next = await refresh(t, tokens.refresh_token);
      const last = await refresh(t, next.body.refresh_token);
      expect(last.status).to.equal(200);
      const refreshes = t.eventsOf("refresh").length;
      // Two rotations old, still inside the reuse window.
      const res = await request(t.app).post(`${MOUNT}/logout`).send({ refresh_token: tokens.refresh_token });
      expectError(res, 401, "refresh_token_reused");
      expect(t.eventsOf("refresh")).to.have.length(refreshes);
      expect(t.eventsOf("logout")).to.deep.equal([]);
      expect(t.eventsOf("reuse_detected")).to.deep.equal([{ sessionId: tokens.session.id, userId: "alice" }]);
      expect(await redis.keys()).to.deep.equal([]);
    });
  });
});
