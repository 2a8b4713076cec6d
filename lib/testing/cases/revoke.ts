/**
 * revoke and revokeAll.
 *
 * @module
 */
import { expect } from "../expect.js";
import { DAY, HOUR, fields, sortedIds, type Contract } from "../harness.js";
import type { Runner } from "../runner.js";

export function describeRevoke({ describe, it }: Runner, ctx: Contract): void {
  describe("revoke", () => {
    it("resolves true once, then false", async () => {
      const { record } = await ctx.create("alice");
      const { record: other } = await ctx.create("alice");
      expect(await ctx.store.revoke("alice", record.id, ctx.clock.now())).to.equal(true);
      await ctx.expectGone(record);
      expect(await ctx.store.revoke("alice", record.id, ctx.clock.now())).to.equal(false);
      await ctx.expectIndex("alice", [other]);
      await ctx.expectHeld(1);
    });

    it("is false for an unknown session, another user's session (left alone) and a dead one (deleted)", async () => {
      const { record } = await ctx.create("alice", { idleTimeout: HOUR });
      expect(await ctx.store.revoke("alice", ctx.newId(), ctx.clock.now())).to.equal(false);
      const before = await ctx.snapshot(record);
      expect(await ctx.store.revoke("mallory", record.id, ctx.clock.now())).to.equal(false);
      expect(await ctx.snapshot(record)).to.deep.equal(before);
      ctx.clock.advance(HOUR);
      expect(await ctx.store.revoke("alice", record.id, ctx.clock.now()), "a dead session").to.equal(false);
      await ctx.expectGone(record);
      await ctx.expectHeld(0);
    });
  });

  describe("revokeAll", () => {
    it("deletes every session of the user and resolves to the live ids deleted", async () => {
      const { record: dead } = await ctx.create("alice", { idleTimeout: HOUR });
      const { record: a } = await ctx.create("alice", { idleTimeout: DAY });
      const { record: b } = await ctx.create("alice", { idleTimeout: null, absoluteLifetime: null });
      const { record: bobs } = await ctx.create("bob");
      ctx.clock.advance(2 * HOUR);
      const revoked = await ctx.store.revokeAll("alice", undefined, ctx.clock.now());
      expect([...revoked].sort()).to.deep.equal(sortedIds([a, b]));
      for (const r of [dead, a, b]) await ctx.expectGone(r);
      await ctx.expectNothingLeft("alice");
      expect(await ctx.store.list("alice", ctx.clock.now())).to.deep.equal([]);
      expect(fields(await ctx.store.get("bob", bobs.id, ctx.clock.now()))).to.deep.equal(bobs);
      await ctx.expectHeld(1);
      expect(await ctx.store.revokeAll("alice", undefined, ctx.clock.now())).to.deep.equal([]);
    });

    it("with except keeps exactly that session", async () => {
      const { record: dead } = await ctx.create("alice", { idleTimeout: HOUR });
      const { record: a } = await ctx.create("alice");
      const { record: keep } = await ctx.create("alice");
      const { record: c } = await ctx.create("alice");
      ctx.clock.advance(2 * HOUR);
      const revoked = await ctx.store.revokeAll("alice", keep.id, ctx.clock.now());
      expect([...revoked].sort()).to.deep.equal(sortedIds([a, c]));
      for (const r of [dead, a, c]) await ctx.expectGone(r);
      expect((await ctx.store.list("alice", ctx.clock.now())).map(fields)).to.deep.equal([keep]);
      if (ctx.inspect.entries)
        expect(await ctx.inspect.entries("alice"), "entries left: the kept session and the index").to.equal(ctx.inspect.indexed ? 2 : 1);
      await ctx.expectIndex("alice", [keep]);
      await ctx.expectIndexOutlivesSessions("alice");
      expect(await ctx.store.revokeAll("alice", keep.id, ctx.clock.now())).to.deep.equal([]);
      expect(fields(await ctx.store.get("alice", keep.id, ctx.clock.now()))).to.deep.equal(keep);
    });

    it("with an except id that is not the user's deletes them all", async () => {
      const { record: a } = await ctx.create("alice");
      const { record: bobs } = await ctx.create("bob");
      expect(await ctx.store.revokeAll("alice", bobs.id, ctx.clock.now())).to.deep.equal([a.id]);
      await ctx.expectNothingLeft("alice");
      expect(fields(await ctx.store.get("bob", bobs.id, ctx.clock.now()))).to.deep.equal(bobs);
    });
  });
}
