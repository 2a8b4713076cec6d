/**
 * Refresh-token rotation and logout by refresh token: rotated, repeated, reused, invalid.
 *
 * @module
 */
import type { SessionRecord } from "../../stores/store.js";
import { expect } from "../expect.js";
import { HOUR, MINUTE, REUSE_WINDOW, SECOND, fields, sortedIds, type Contract } from "../harness.js";
import type { Runner } from "../runner.js";

export function describeRotate({ describe, it }: Runner, ctx: Contract): void {
  describe("rotate", () => {
    it("rotated: the successor becomes current, lastUsedAt = now, ip and user agent updated", async () => {
      const { record } = await ctx.create("alice", { idleTimeout: HOUR });
      ctx.clock.advance(20 * MINUTE);
      const result = await ctx.rotate(record, 0, "h0", "h1", { ip: "192.0.2.1", userAgent: "new-agent" });
      const expected = { ...record, lastUsedAt: ctx.clock.now(), ip: "192.0.2.1", userAgent: "new-agent" };
      expect(result.status).to.equal("rotated");
      expect(fields((result as { record: SessionRecord }).record)).to.deep.equal(expected);
      expect(fields(await ctx.store.get("alice", record.id, ctx.clock.now()))).to.deep.equal(expected);
      await ctx.expectIndex("alice", [expected]);
      await ctx.expectSessionTtl(expected);
      await ctx.expectIndexOutlivesSessions("alice");
      ctx.clock.advance(REUSE_WINDOW + 1);
      expect((await ctx.rotate(record, 1, "h1", "h2")).status).to.equal("rotated");
      ctx.clock.advance(REUSE_WINDOW + 1);
      expect((await ctx.rotate(record, 2, "h2", "h3")).status).to.equal("rotated");
    });

    it("rotation never moves createdAt or the absolute deadline", async () => {
      const { record } = await ctx.create("alice", { idleTimeout: HOUR, absoluteLifetime: 2 * HOUR });
      ctx.clock.advance(50 * MINUTE);
      expect((await ctx.rotate(record, 0, "h0", "h1")).status).to.equal("rotated");
      ctx.clock.advance(40 * MINUTE); // 1 h 30 min: idle would give 2 h 30 min, the cap is 2 h
      const result = await ctx.rotate(record, 1, "h1", "h2");
      expect(result.status).to.equal("rotated");
      const after = (result as { record: SessionRecord }).record;
      expect(after.createdAt).to.equal(record.createdAt);
      expect(after.absoluteLifetime).to.equal(2 * HOUR);
      expect(after.lastUsedAt).to.equal(ctx.clock.now());
      await ctx.expectSessionTtlOf("alice", record.id, 30 * MINUTE, "session after rotation near its lifetime");
      await ctx.expectIndexOutlivesSessions("alice");
      ctx.clock.advance(30 * MINUTE);
      expect((await ctx.rotate(record, 2, "h2", "h3")).status).to.equal("invalid");
      await ctx.expectGone(record);
    });

    it("repeated: the token spent last, within the window, changes nothing", async () => {
      const { record } = await ctx.create("alice");
      ctx.clock.advance(MINUTE);
      const first = await ctx.rotate(record, 0, "h0", "h1", { ip: "192.0.2.1", userAgent: "tab-1" });
      expect(first.status).to.equal("rotated");
      const afterRotation = await ctx.snapshot(record);
      const current = fields(await ctx.store.get("alice", record.id, ctx.clock.now()));
      ctx.clock.advance(REUSE_WINDOW);
      const again = await ctx.rotate(record, 0, "h0", "h1", { ip: "192.0.2.2", userAgent: "tab-2" });
      expect(again.status).to.equal("repeated");
      expect(fields((again as { record: SessionRecord }).record)).to.deep.equal(current);
      expect(await ctx.snapshot(record)).to.deep.equal(afterRotation);
      // The successor is still the current token.
      expect((await ctx.rotate(record, 1, "h1", "h2")).status).to.equal("rotated");
    });

    it("parallel rotations of one token: exactly one rotated, the rest repeated", async () => {
      const { record } = await ctx.create("alice");
      ctx.clock.advance(MINUTE);
      const results = await Promise.all(Array.from({ length: 10 }, () => ctx.rotate(record, 0, "h0", "h1")));
      const statuses = results.map((r) => r.status).sort();
      expect(statuses).to.deep.equal(["repeated", ...Array(8).fill("repeated"), "rotated"].sort());
      expect((await ctx.rotate(record, 1, "h1", "h2")).status).to.equal("rotated");
    });

    it("reused: the token spent last, after the window, revokes the session", async () => {
      const { record } = await ctx.create("alice");
      const { record: other } = await ctx.create("alice");
      ctx.clock.advance(MINUTE);
      expect((await ctx.rotate(record, 0, "h0", "h1")).status).to.equal("rotated");
      const current = fields(await ctx.store.get("alice", record.id, ctx.clock.now()));
      ctx.clock.advance(REUSE_WINDOW + 1);
      const result = await ctx.rotate(record, 0, "h0", "h1");
      expect(result.status).to.equal("reused");
      expect(fields((result as { record: SessionRecord }).record)).to.deep.equal(current);
      await ctx.expectGone(record);
      await ctx.expectIndex("alice", [other]);
      expect((await ctx.rotate(record, 1, "h1", "h2")).status).to.equal("invalid");
      expect(await ctx.store.check("alice", record.id, ctx.clock.now(), 0)).to.equal(null);
    });

    it("reused: a token two or more generations old, even within the window, revokes the session", async () => {
      const { record } = await ctx.create("alice");
      const { record: other } = await ctx.create("alice");
      ctx.clock.advance(SECOND);
      expect((await ctx.rotate(record, 0, "h0", "h1")).status).to.equal("rotated");
      ctx.clock.advance(SECOND);
      expect((await ctx.rotate(record, 1, "h1", "h2")).status).to.equal("rotated");
      const current = fields(await ctx.store.get("alice", record.id, ctx.clock.now()));
      ctx.clock.advance(SECOND);
      // The caller vouches for the token (its MAC): the store decides by generation alone.
      const result = await ctx.rotate(record, 0, "h0", "h1");
      expect(result.status).to.equal("reused");
      expect(fields((result as { record: SessionRecord }).record)).to.deep.equal(current);
      await ctx.expectGone(record);
      await ctx.expectIndex("alice", [other]);
      expect((await ctx.rotate(record, 2, "h2", "h3")).status, "the current token is dead too").to.equal("invalid");
    });

    it("invalid: wrong digest, never-issued previous token, future generation, unknown or foreign session; nothing changes", async () => {
      const { record } = await ctx.create("alice");
      ctx.clock.advance(MINUTE);
      expect((await ctx.rotate(record, 0, "h0", "h1")).status).to.equal("rotated");
      const before = await ctx.snapshot(record);
      ctx.clock.advance(HOUR); // well past the reuse window
      expect(await ctx.rotate(record, 1, "wrong", "x")).to.deep.equal({ status: "invalid" });
      expect(await ctx.rotate(record, 0, "never-issued", "x"), "a made-up token of the previous generation").to.deep.equal({
        status: "invalid",
      });
      expect(await ctx.rotate(record, 2, "h2", "h3"), "a future generation").to.deep.equal({ status: "invalid" });
      expect(await ctx.rotate(record, 7, "h7", "h8"), "a far future generation").to.deep.equal({ status: "invalid" });
      expect(await ctx.rotate({ ...record, id: ctx.newId() }, 1, "h1", "h2"), "an unknown session").to.deep.equal({ status: "invalid" });
      expect(await ctx.rotate({ ...record, userId: "mallory" }, 1, "h1", "h2"), "another user's session").to.deep.equal({
        status: "invalid",
      });
      expect(await ctx.snapshot(record)).to.deep.equal(before);
      expect((await ctx.rotate(record, 1, "h1", "h2")).status).to.equal("rotated");
    });

    it("a rotation racing a revoke never leaves a live or half-written session", async () => {
      const { record } = await ctx.create("alice");
      ctx.clock.advance(MINUTE);
      const [rotated, revoked] = await Promise.all([
        ctx.rotate(record, 0, "h0", "h1"),
        ctx.store.revoke("alice", record.id, ctx.clock.now()),
      ]);
      expect(rotated.status).to.be.oneOf(["rotated", "invalid"]);
      expect(revoked).to.equal(true);
      await ctx.expectGone(record);
      expect(await ctx.rotate(record, 1, "h1", "h2")).to.deep.equal({ status: "invalid" });
      await ctx.expectNothingLeft("alice");
      await ctx.expectHeld(0);
    });

    it("invalid for a dead session, which is deleted", async () => {
      const { record } = await ctx.create("alice", { idleTimeout: HOUR });
      ctx.clock.advance(HOUR);
      expect(await ctx.rotate(record, 0, "h0", "h1")).to.deep.equal({ status: "invalid" });
      await ctx.expectGone(record);
      await ctx.expectHeld(0);
    });

    it("revokeByRefresh ends the session for the current token or the one spent last inside the window", async () => {
      const a = (await ctx.create("alice")).record;
      const b = (await ctx.create("alice")).record;
      const c = (await ctx.create("alice")).record;
      ctx.clock.advance(SECOND);
      for (const r of [a, b, c]) {
        expect((await ctx.rotate(r, 0, "h0", "h1")).status).to.equal("rotated");
      }
      ctx.clock.advance(HOUR);
      const before = await ctx.snapshot(a);
      const logout = (r: SessionRecord, generation: number, hash: string, userId = "alice") =>
        ctx.store.revokeByRefresh(userId, r.id, generation, hash, ctx.clock.now(), REUSE_WINDOW);
      expect(await logout(a, 1, "wrong"), "wrong digest").to.equal("invalid");
      expect(await logout(a, 0, "never-issued"), "made-up previous").to.equal("invalid");
      expect(await logout(a, 2, "h2"), "future generation").to.equal("invalid");
      expect(await logout(a, 1, "h1", "mallory"), "another user").to.equal("invalid");
      expect(await logout({ ...a, id: ctx.newId() }, 1, "h1"), "unknown session").to.equal("invalid");
      expect(await ctx.snapshot(a), "nothing matched: nothing changed").to.deep.equal(before);
      expect(await logout(a, 1, "h1"), "current token").to.equal("ended");
      await ctx.expectGone(a);
      expect(await logout(a, 1, "h1"), "already revoked").to.equal("invalid");
      expect((await ctx.rotate(b, 1, "h1", "h2")).status).to.equal("rotated");
      ctx.clock.advance(REUSE_WINDOW);
      expect(await logout(b, 1, "h1"), "token spent last, inside the window").to.equal("ended");
      await ctx.expectGone(b);
      expect(sortedIds(await ctx.store.list("alice", ctx.clock.now()))).to.deep.equal([c.id]);
    });

    it("revokeByRefresh with a spent token is reuse: the session is revoked", async () => {
      const a = (await ctx.create("alice")).record;
      const b = (await ctx.create("alice")).record;
      const c = (await ctx.create("alice")).record;
      ctx.clock.advance(SECOND);
      for (const r of [a, b]) expect((await ctx.rotate(r, 0, "h0", "h1")).status).to.equal("rotated");
      ctx.clock.advance(SECOND);
      expect((await ctx.rotate(b, 1, "h1", "h2")).status).to.equal("rotated");
      expect(
        await ctx.store.revokeByRefresh("alice", b.id, 0, "h0", ctx.clock.now(), REUSE_WINDOW),
        "two generations old, in the window",
      ).to.equal("reused");
      await ctx.expectGone(b);
      ctx.clock.advance(HOUR);
      expect(
        await ctx.store.revokeByRefresh("alice", a.id, 0, "h0", ctx.clock.now(), REUSE_WINDOW),
        "spent last, after the window",
      ).to.equal("reused");
      await ctx.expectGone(a);
      await ctx.expectIndex("alice", [c]);
    });

    it("revokeByRefresh of a dead session is invalid and deletes it", async () => {
      const { record } = await ctx.create("alice", { idleTimeout: HOUR });
      ctx.clock.advance(2 * HOUR);
      expect(await ctx.store.revokeByRefresh("alice", record.id, 0, "h0", ctx.clock.now(), REUSE_WINDOW)).to.equal("invalid");
      await ctx.expectGone(record);
    });
  });
}
