/**
 * Idle and absolute deadlines, remember-me-like and forever sessions.
 *
 * @module
 */
import { expect } from "../expect.js";
import { DAY, HOUR, MINUTE, YEAR, fields, sortedIds, type Contract } from "../harness.js";
import type { Runner } from "../runner.js";

export function describeDeadlines({ describe, it }: Runner, ctx: Contract): void {
  describe("deadlines", () => {
    it("an idle session dies at lastUsedAt + idleTimeout and is deleted when checked", async () => {
      const { record } = await ctx.create("alice", { idleTimeout: HOUR });
      const { record: keeper } = await ctx.create("alice", { idleTimeout: DAY });
      ctx.clock.advance(HOUR - 1);
      ctx.expectChecked(await ctx.store.check("alice", record.id, ctx.clock.now(), DAY), record);
      ctx.clock.advance(1); // deadline == now: dead
      expect(await ctx.store.check("alice", record.id, ctx.clock.now(), MINUTE)).to.equal(null);
      await ctx.expectGone(record);
      await ctx.expectIndex("alice", [keeper]);
      await ctx.expectHeld(1);
    });

    it("a dead session is null from get and deleted", async () => {
      const { record } = await ctx.create("alice", { idleTimeout: HOUR });
      ctx.clock.advance(2 * HOUR);
      expect(await ctx.store.get("alice", record.id, ctx.clock.now())).to.equal(null);
      await ctx.expectHeld(0);
      await ctx.expectGone(record);
      await ctx.expectNothingLeft("alice");
    });

    it("the idle deadline never slides past the absolute one", async () => {
      const { record } = await ctx.create("alice", { idleTimeout: HOUR, absoluteLifetime: 2 * HOUR });
      ctx.clock.advance(50 * MINUTE);
      let touched = await ctx.store.check("alice", record.id, ctx.clock.now(), MINUTE);
      expect(touched?.lastUsedAt).to.equal(ctx.clock.now());
      await ctx.expectSessionTtl(touched!);
      ctx.clock.advance(50 * MINUTE); // 1 h 40 min: idle would give 2 h 40 min, the cap is 2 h
      touched = await ctx.store.check("alice", record.id, ctx.clock.now(), MINUTE);
      expect(touched?.lastUsedAt).to.equal(ctx.clock.now());
      await ctx.expectSessionTtlOf("alice", record.id, 20 * MINUTE, "session capped by its lifetime");
      await ctx.expectIndexOutlivesSessions("alice");
      ctx.clock.advance(20 * MINUTE - 1);
      expect(await ctx.store.check("alice", record.id, ctx.clock.now(), HOUR)).to.not.equal(null);
      ctx.clock.advance(1); // exactly createdAt + absoluteLifetime, though used 20 min ago
      expect(await ctx.store.check("alice", record.id, ctx.clock.now(), MINUTE)).to.equal(null);
      await ctx.expectGone(record);
    });

    it("an absolute-only session dies at createdAt + absoluteLifetime whatever its use", async () => {
      const { record } = await ctx.create("alice", { idleTimeout: null, absoluteLifetime: 2 * HOUR });
      await ctx.expectSessionTtl(record);
      ctx.clock.advance(90 * MINUTE);
      expect((await ctx.store.check("alice", record.id, ctx.clock.now(), 0))?.lastUsedAt).to.equal(ctx.clock.now());
      await ctx.expectSessionTtlOf("alice", record.id, 30 * MINUTE, "absolute-only session after touch");
      ctx.clock.advance(30 * MINUTE);
      expect(await ctx.store.check("alice", record.id, ctx.clock.now(), 0)).to.equal(null);
      await ctx.expectGone(record);
    });

    it("a forever session has no TTL and is alive after years, touched or not", async () => {
      const { record } = await ctx.create("alice", { idleTimeout: null, absoluteLifetime: null, rememberMe: true });
      await ctx.expectSessionTtl(record);
      await ctx.expectIndexTtl("alice", [record]);
      ctx.clock.advance(10 * YEAR);
      expect(fields(await ctx.store.get("alice", record.id, ctx.clock.now()))).to.deep.equal(record);
      const touched = await ctx.store.check("alice", record.id, ctx.clock.now(), MINUTE);
      ctx.expectChecked(touched, { ...record, lastUsedAt: ctx.clock.now() });
      await ctx.expectSessionTtl(touched!);
      await ctx.expectIndexTtl("alice", [touched!]);
      ctx.clock.advance(10 * YEAR);
      expect(sortedIds(await ctx.store.list("alice", ctx.clock.now()))).to.deep.equal([record.id]);
      await ctx.expectIndexTtl("alice", [touched!]);
    });

    it("a remember-me-like session lives on with use until its long lifetime, then dies", async () => {
      const { record } = await ctx.create("alice", { idleTimeout: 30 * DAY, absoluteLifetime: 365 * DAY, rememberMe: true });
      await ctx.expectSessionTtl(record);
      let last = record;
      while (ctx.clock.now() + 29 * DAY < record.createdAt + 365 * DAY) {
        ctx.clock.advance(29 * DAY);
        const touched = await ctx.store.check("alice", record.id, ctx.clock.now(), MINUTE);
        expect(touched, `alive at day ${(ctx.clock.now() - record.createdAt) / DAY}`).to.not.equal(null);
        expect(touched!.lastUsedAt).to.equal(ctx.clock.now());
        last = touched!;
      }
      await ctx.expectSessionTtl(last);
      ctx.clock.set(record.createdAt + 365 * DAY);
      expect(await ctx.store.check("alice", record.id, ctx.clock.now(), MINUTE)).to.equal(null);
      await ctx.expectGone(record);
    });

    it("a remember-me-like session dies after its long idle timeout when unused", async () => {
      const { record } = await ctx.create("alice", { idleTimeout: 30 * DAY, absoluteLifetime: 365 * DAY, rememberMe: true });
      ctx.clock.advance(30 * DAY - 1);
      expect(fields(await ctx.store.get("alice", record.id, ctx.clock.now()))).to.deep.equal(record);
      ctx.clock.advance(1);
      expect(await ctx.store.check("alice", record.id, ctx.clock.now(), MINUTE)).to.equal(null);
      await ctx.expectGone(record);
    });
  });
}
