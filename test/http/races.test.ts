// Logout racing refresh over HTTP against Redis: whichever wins,
// the session ends, nothing it issued stays usable, and nothing is left in Redis.
import { expect } from "chai";
import request from "supertest";
import { buildApp, expectError, login, me, MOUNT, redisFixture, refresh, type RedisFixture } from "./app.js";

describe("HTTP races against Redis", () => {
  let redis: RedisFixture;
  beforeEach(async () => {
    redis = await redisFixture();
  });
  afterEach(async () => {
    await redis.close();
  });

  it("logout racing refresh never leaves a live session or a usable successor", async () => {
    const t = buildApp({ guard: { store: redis.store } });
    let refreshWon = 0;
    for (let round = 0; round < 12; round++) {
      const tokens = await login(t, `racer-${round}`);
      const [logoutRes, refreshRes] = await Promise.all([
        request(t.app).post(`${MOUNT}/logout`).set("Authorization", `Bearer ${tokens.access_token}`),
        refresh(t, tokens.refresh_token),
      ]);
      expect(logoutRes.status, JSON.stringify(logoutRes.body)).to.equal(204);
      if (refreshRes.status === 200) {
        refreshWon++;
        // The rotation came first: its successor must be as dead as the session.
        expectError(await me(t, refreshRes.body.access_token), 401, "session_inactive", { tokenPresented: true });
        expectError(await refresh(t, refreshRes.body.refresh_token), 401, "refresh_token_invalid");
      } else {
        expectError(refreshRes, 401, "refresh_token_invalid");
      }
      expectError(await me(t, tokens.access_token), 401, "session_inactive", { tokenPresented: true });
      expect(await redis.keys(), `round ${round}`).to.deep.equal([]);
    }
    expect(t.eventsOf("logout")).to.have.length(12);
    expect(refreshWon).to.be.within(0, 12);
  });

  it("revokeAll racing logins of the same user leaves only sessions created after it, all indexed", async () => {
    const t = buildApp({ guard: { store: redis.store } });
    const first = await login(t, "crowd");
    const results = await Promise.all([
      request(t.app).post(`${MOUNT}/logout-all`).set("Authorization", `Bearer ${first.access_token}`),
      ...Array.from({ length: 8 }, () => login(t, "crowd")),
    ]);
    expect(results[0]).to.have.property("status", 200);
    const survivors = await t.guard.sessions.list("crowd");
    const keys = await redis.keys();
    // Every surviving session has its record and an index entry, and nothing else is left.
    expect(keys.filter((k) => k.includes(":s:"))).to.have.length(survivors.length);
    expect(keys.filter((k) => k.endsWith(":i"))).to.have.length(survivors.length > 0 ? 1 : 0);
    expect(survivors.length + (results[0] as request.Response).body.revoked).to.equal(9);
    expect(survivors.map((s) => s.id)).to.not.include(first.session.id);
  });
});
