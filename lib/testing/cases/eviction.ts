/**
 * Eviction of the least recently used sessions beyond maxSessions.
 *
 * @module
 */
import { expect } from "../expect.js";
import { HOUR, MINUTE, SECOND, fields, sortedIds, type Contract } from "../harness.js";
import type { Runner } from "../runner.js";

export function describeEviction({ describe, it }: Runner, ctx: Contract): void {
  describe("maxSessions eviction", () => {
    it("evicts the least recently used sessions beyond the cap and returns their ids", async () => {
      const { record: s1 } = await ctx.create("alice");
      ctx.clock.advance(MINUTE);
      const { record: s2 } = await ctx.create("alice");
      ctx.clock.advance(MINUTE);
      const { record: s3 } = await ctx.create("alice");
      ctx.clock.advance(MINUTE);
      const s1touched = await ctx.store.check("alice", s1.id, ctx.clock.now(), MINUTE); // s1 is now the most recent
      expect(s1touched?.lastUsedAt).to.equal(ctx.clock.now());
      ctx.clock.advance(MINUTE);
      const { record: s4, evicted } = await ctx.create("alice", { maxSessions: 3 });
      expect(evicted).to.deep.equal([s2.id]);
      await ctx.expectGone(s2);
      expect(sortedIds(await ctx.store.list("alice", ctx.clock.now()))).to.deep.equal(sortedIds([s1, s3, s4]));
      await ctx.expectIndex("alice", [s1touched!, s3, s4]);
      ctx.clock.advance(MINUTE);
      const { record: s5, evicted: evicted2 } = await ctx.create("alice", { maxSessions: 2 });
      expect([...evicted2].sort()).to.deep.equal(sortedIds([s1, s3]));
      expect(sortedIds(await ctx.store.list("alice", ctx.clock.now()))).to.deep.equal(sortedIds([s4, s5]));
      await ctx.expectHeld(2);
      await ctx.expectIndexSize("alice", 2);
    });

    it("counts a rotation as use", async () => {
      const { record: s1 } = await ctx.create("alice");
      ctx.clock.advance(MINUTE);
      const { record: s2 } = await ctx.create("alice");
      ctx.clock.advance(MINUTE);
      expect((await ctx.rotate(s1, 0, "h0", "h1")).status).to.equal("rotated");
      ctx.clock.advance(MINUTE);
      const { evicted } = await ctx.create("alice", { maxSessions: 2 });
      expect(evicted).to.deep.equal([s2.id]);
    });

    it("cap 1: a new session evicts the previous one", async () => {
      const { record: first } = await ctx.create("alice", { maxSessions: 1 });
      ctx.clock.advance(SECOND);
      const { record: second, evicted } = await ctx.create("alice", { maxSessions: 1 });
      expect(evicted).to.deep.equal([first.id]);
      await ctx.expectGone(first);
      expect((await ctx.store.list("alice", ctx.clock.now())).map(fields)).to.deep.equal([second]);
      if (ctx.inspect.entries)
        expect(await ctx.inspect.entries("alice"), "entries: one session and the index").to.equal(ctx.inspect.indexed ? 2 : 1);
    });

    it("never evicts the session being created, even when it is the least recently used", async () => {
      const { record: recent } = await ctx.create("alice");
      const record = ctx.makeRecord("alice");
      record.createdAt -= HOUR; // back-dated: older than the one already there
      record.lastUsedAt -= HOUR;
      const evicted = await ctx.store.create({ record: { ...record }, refreshHash: "h0", maxSessions: 1, now: ctx.clock.now() });
      expect(evicted).to.deep.equal([recent.id]);
      expect((await ctx.store.list("alice", ctx.clock.now())).map(fields)).to.deep.equal([record]);
    });

    it("null means no cap", async () => {
      const ids: string[] = [];
      for (let i = 0; i < 30; i++) {
        const { record, evicted } = await ctx.create("alice", { maxSessions: null });
        expect(evicted).to.deep.equal([]);
        ids.push(record.id);
      }
      expect(sortedIds(await ctx.store.list("alice", ctx.clock.now()))).to.deep.equal([...ids].sort());
    });

    it("parallel creates against a cap leave exactly the cap, none evicting itself", async () => {
      const results = await Promise.all(Array.from({ length: 20 }, () => ctx.create("alice", { maxSessions: 5 })));
      const all = results.map((r) => r.record.id);
      const evicted = results.flatMap((r) => r.evicted);
      for (const r of results) expect(r.evicted, "a create evicted its own session").to.not.include(r.record.id);
      expect(new Set(evicted).size, "an id evicted twice").to.equal(evicted.length);
      const live = await ctx.store.list("alice", ctx.clock.now());
      expect(live).to.have.length(5);
      expect(evicted).to.have.length(15);
      expect([...sortedIds(live), ...evicted].sort()).to.deep.equal([...all].sort());
      await ctx.expectHeld(5);
      await ctx.expectIndexSize("alice", 5);
      if (ctx.inspect.entries)
        expect(await ctx.inspect.entries("alice"), "entries: five sessions and the index").to.equal(ctx.inspect.indexed ? 6 : 5);
    });

    it("evicts only the creating user's sessions", async () => {
      const { record: other } = await ctx.create("bob");
      await ctx.create("alice", { maxSessions: 1 });
      const { evicted } = await ctx.create("alice", { maxSessions: 1 });
      expect(evicted).to.have.length(1);
      expect(fields(await ctx.store.get("bob", other.id, ctx.clock.now()))).to.deep.equal(other);
    });
  });
}
