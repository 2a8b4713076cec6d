/**
 * check: the guard's per-request read, and when it touches.
 *
 * @module
 */
import { expect } from "../expect.js";
import { HOUR, MINUTE, SECOND, fields, type Contract } from "../harness.js";
import type { Runner } from "../runner.js";

export function describeCheck({ describe, it }: Runner, ctx: Contract): void {
  describe("check", () => {
    it("resolves null for an unknown session and for another user's session, leaving it untouched", async () => {
      const { record } = await ctx.create("alice");
      expect(await ctx.store.check("alice", ctx.newId(), ctx.clock.now(), MINUTE)).to.equal(null);
      ctx.clock.advance(HOUR);
      const before = await ctx.snapshot(record);
      expect(await ctx.store.check("mallory", record.id, ctx.clock.now(), 0)).to.equal(null);
      expect(await ctx.store.check("Alice", record.id, ctx.clock.now(), 0)).to.equal(null);
      expect(await ctx.snapshot(record)).to.deep.equal(before);
      expect(fields(await ctx.store.get("alice", record.id, ctx.clock.now()))).to.deep.equal(record);
      expect(await ctx.store.list("mallory", ctx.clock.now())).to.deep.equal([]);
      await ctx.expectNothingLeft("mallory");
    });

    it("touches only once touchInterval has passed since the last use", async () => {
      const { record } = await ctx.create("alice", { idleTimeout: HOUR });
      ctx.clock.advance(MINUTE - 1);
      const early = await ctx.store.check("alice", record.id, ctx.clock.now(), MINUTE);
      ctx.expectChecked(early, record);
      expect(fields(await ctx.store.get("alice", record.id, ctx.clock.now()))).to.deep.equal(record);
      await ctx.expectIndex("alice", [record]);

      ctx.clock.advance(1);
      const touched = await ctx.store.check("alice", record.id, ctx.clock.now(), MINUTE);
      const expected = { ...record, lastUsedAt: ctx.clock.now() };
      ctx.expectChecked(touched, expected);
      expect(fields(await ctx.store.get("alice", record.id, ctx.clock.now()))).to.deep.equal(expected);
      await ctx.expectIndex("alice", [expected]);
      await ctx.expectSessionTtl(expected);
      await ctx.expectIndexOutlivesSessions("alice");
    });

    it("writes nothing when no touch is due: last use and expiry stay", async () => {
      const { record } = await ctx.create("alice", { idleTimeout: HOUR });
      await ctx.store.check("alice", record.id, ctx.clock.now(), MINUTE);
      ctx.clock.advance(30 * SECOND);
      ctx.expectChecked(await ctx.store.check("alice", record.id, ctx.clock.now(), MINUTE), record);
      await ctx.expectSessionTtl(record, record.lastUsedAt); // not re-set relative to the later now
      await ctx.expectIndex("alice", [record]);
      expect(fields(await ctx.store.get("alice", record.id, ctx.clock.now()))).to.deep.equal(record);
    });

    it("moves the session's expiry to the new deadline on a touch", async () => {
      // Idle 1 h, lifetime 70 min: a touch at 30 min sets the deadline to 70 min (the absolute cap).
      const { record } = await ctx.create("alice", { idleTimeout: HOUR, absoluteLifetime: 70 * MINUTE });
      await ctx.expectSessionTtl(record);
      ctx.clock.advance(30 * MINUTE);
      const touched = await ctx.store.check("alice", record.id, ctx.clock.now(), MINUTE);
      expect(touched?.lastUsedAt).to.equal(ctx.clock.now());
      await ctx.expectSessionTtl(touched!);
      await ctx.expectSessionTtlOf("alice", record.id, 40 * MINUTE, "session after touch");
      await ctx.expectIndexOutlivesSessions("alice");

      // Idle only: after a touch at 45 min the key lives a full idle period from now.
      const { record: other } = await ctx.create("bob", { idleTimeout: HOUR, absoluteLifetime: null });
      ctx.clock.advance(45 * MINUTE);
      const touchedOther = await ctx.store.check("bob", other.id, ctx.clock.now(), MINUTE);
      await ctx.expectSessionTtl(touchedOther!);
      await ctx.expectSessionTtlOf("bob", other.id, HOUR, "idle-only session after touch");
      await ctx.expectIndexOutlivesSessions("bob");
    });

    it("with touchInterval 0 touches on every check", async () => {
      const { record } = await ctx.create("alice", { idleTimeout: HOUR });
      for (let i = 0; i < 3; i++) {
        ctx.clock.advance(1);
        expect((await ctx.store.check("alice", record.id, ctx.clock.now(), 0))?.lastUsedAt).to.equal(ctx.clock.now());
      }
    });

    it("never resurrects a revoked session, also when a check races the revoke", async () => {
      const { record } = await ctx.create("alice", { idleTimeout: HOUR });
      expect(await ctx.store.revoke("alice", record.id, ctx.clock.now())).to.equal(true);
      ctx.clock.advance(10 * MINUTE);
      expect(await ctx.store.check("alice", record.id, ctx.clock.now(), 0)).to.equal(null);
      await ctx.expectGone(record);

      const { record: raced } = await ctx.create("alice", { idleTimeout: HOUR });
      ctx.clock.advance(10 * MINUTE);
      const [revoked, checked] = await Promise.all([
        ctx.store.revoke("alice", raced.id, ctx.clock.now()),
        ctx.store.check("alice", raced.id, ctx.clock.now(), 0),
      ]);
      expect(revoked).to.equal(true);
      expect(checked?.id ?? null).to.be.oneOf([raced.id, null]);
      expect(await ctx.store.check("alice", raced.id, ctx.clock.now(), 0)).to.equal(null);
      await ctx.expectGone(raced);
      await ctx.expectHeld(0);
      await ctx.expectNothingLeft("alice");
    });
  });
}
