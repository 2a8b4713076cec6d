/**
 * Expiry of what the backend holds, and pruning of dead sessions.
 *
 * @module
 */
import type { SessionRecord } from "../../stores/store.js";
import { expect } from "../expect.js";
import { DAY, HOUR, MINUTE, REUSE_WINDOW, fields, sortedIds, type Contract } from "../harness.js";
import type { Runner } from "../runner.js";

export function describeExpiries({ describe, it }: Runner, ctx: Contract): void {
  describe("expiries and pruning", () => {
    it("sets the session key's expiry at its deadline and the index's at the furthest deadline", async () => {
      const { record: hour } = await ctx.create("alice", { idleTimeout: HOUR });
      await ctx.expectSessionTtl(hour);
      await ctx.expectIndexTtl("alice", [hour]);
      const { record: day } = await ctx.create("alice", { idleTimeout: DAY });
      await ctx.expectSessionTtl(day);
      await ctx.expectIndexTtl("alice", [hour, day]);
      const { record: shorter } = await ctx.create("alice", { idleTimeout: 10 * MINUTE });
      await ctx.expectSessionTtl(shorter);
      await ctx.expectIndexTtl("alice", [hour, day, shorter]);
      const { record: capped } = await ctx.create("alice", { idleTimeout: 5 * DAY, absoluteLifetime: 2 * DAY });
      await ctx.expectSessionTtl(capped);
      await ctx.expectIndexTtl("alice", [hour, day, shorter, capped]);
      await ctx.expectIndex("alice", [hour, day, shorter, capped]);
    });

    it("keeps the index without expiry while a forever session is in it", async () => {
      const { record: normal } = await ctx.create("alice", { idleTimeout: HOUR });
      const { record: forever } = await ctx.create("alice", { idleTimeout: null, absoluteLifetime: null });
      await ctx.expectIndexTtl("alice", [normal, forever]);
      if (ctx.inspect.timeToLive && ctx.inspect.indexed) expect(await ctx.inspect.timeToLive("alice"), "index expiry").to.equal(null);
      const { record: later } = await ctx.create("alice", { idleTimeout: HOUR });
      await ctx.expectIndexTtl("alice", [normal, forever, later]);
      // Once the forever session is gone, list puts an expiry back on the index.
      expect(await ctx.store.revoke("alice", forever.id, ctx.clock.now())).to.equal(true);
      ctx.clock.advance(10 * MINUTE);
      expect(sortedIds(await ctx.store.list("alice", ctx.clock.now()))).to.deep.equal(sortedIds([normal, later]));
      await ctx.expectIndexTtl("alice", [normal, later]);
    });

    // The index has no expiry only while a forever session is in
    // it. Each single-session way out of the store must give it one back
    // when the forever session leaves, not only list and create.
    const removals: Array<{ how: string; remove: (forever: SessionRecord) => Promise<void> }> = [
      { how: "revoke", remove: async (f) => void expect(await ctx.store.revoke(f.userId, f.id, ctx.clock.now())).to.equal(true) },
      {
        how: "rotate (a spent token reused)",
        remove: async (f) => void expect((await ctx.rotate(f, 0, "h0", "h1")).status).to.equal("reused"),
      },
      {
        how: "revokeByRefresh",
        remove: async (f) =>
          void expect(await ctx.store.revokeByRefresh(f.userId, f.id, 1, "h1", ctx.clock.now(), REUSE_WINDOW)).to.equal("ended"),
      },
      {
        how: "rotate (a token two generations old)",
        remove: async (f) => {
          expect((await ctx.rotate(f, 1, "h1", "h2")).status).to.equal("rotated");
          expect((await ctx.rotate(f, 0, "h0", "h1")).status).to.equal("reused");
        },
      },
    ];
    for (const { how, remove } of removals) {
      it(`gives the index an expiry again when ${how} removes its forever session, pruning dead entries`, async () => {
        const { record: forever } = await ctx.create("alice", { idleTimeout: null, absoluteLifetime: null, rememberMe: true });
        const { record: normal } = await ctx.create("alice", { idleTimeout: DAY, absoluteLifetime: 30 * DAY });
        const { record: short } = await ctx.create("alice", { idleTimeout: HOUR });
        ctx.clock.advance(MINUTE);
        expect((await ctx.rotate(forever, 0, "h0", "h1")).status).to.equal("rotated");
        if (ctx.inspect.timeToLive && ctx.inspect.indexed)
          expect(await ctx.inspect.timeToLive("alice"), "index while the forever session is in it").to.equal(null);
        ctx.clock.advance(2 * HOUR); // `short` is dead now, still indexed
        await remove(forever);
        await ctx.expectGone(forever);
        await ctx.expectGone(short);
        await ctx.expectIndex("alice", [normal]);
        await ctx.expectIndexTtl("alice", [normal]); // normal's deadline − now, not persistent
        expect((await ctx.store.list("alice", ctx.clock.now())).map(fields)).to.deep.equal([normal]);
      });
    }

    it("keeps the index without expiry while another forever session remains, and drops it with the last session", async () => {
      const { record: first } = await ctx.create("alice", { idleTimeout: null, absoluteLifetime: null });
      const { record: second } = await ctx.create("alice", { idleTimeout: null, absoluteLifetime: null });
      const { record: normal } = await ctx.create("alice", { idleTimeout: HOUR });
      ctx.clock.advance(MINUTE);
      expect(await ctx.store.revoke("alice", first.id, ctx.clock.now())).to.equal(true);
      await ctx.expectIndex("alice", [second, normal]);
      await ctx.expectIndexTtl("alice", [second, normal]); // still persistent
      expect(await ctx.store.revoke("alice", second.id, ctx.clock.now())).to.equal(true);
      await ctx.expectIndexTtl("alice", [normal]);
      expect(await ctx.store.revoke("alice", normal.id, ctx.clock.now())).to.equal(true);
      await ctx.expectNothingLeft("alice");

      const { record: alone } = await ctx.create("bob", { idleTimeout: null, absoluteLifetime: null });
      const { record: dead } = await ctx.create("bob", { idleTimeout: HOUR });
      ctx.clock.advance(2 * HOUR);
      expect(await ctx.store.revoke("bob", alone.id, ctx.clock.now())).to.equal(true);
      await ctx.expectGone(dead);
      await ctx.expectNothingLeft("bob"); // not even an index left with only dead entries
      await ctx.expectHeld(0);
    });

    it("list prunes dead entries and resets the index's expiry to the furthest live deadline", async () => {
      const { record: long } = await ctx.create("alice", { idleTimeout: 10 * HOUR });
      const { record: short1 } = await ctx.create("alice", { idleTimeout: HOUR });
      const { record: short2 } = await ctx.create("alice", { idleTimeout: 2 * HOUR, absoluteLifetime: 90 * MINUTE });
      await ctx.expectHeld(3);
      ctx.clock.advance(2 * HOUR);
      // Dead by the clock, still held until an operation meets them.
      await ctx.expectIndexSize("alice", 3);
      const listed = await ctx.store.list("alice", ctx.clock.now());
      expect(listed.map(fields)).to.deep.equal([long]);
      await ctx.expectHeld(1);
      await ctx.expectIndex("alice", [long]);
      await ctx.expectGone(short1);
      await ctx.expectGone(short2);
      await ctx.expectIndexTtl("alice", [long]); // 8 h: from the fake now, not from the first write
      await ctx.expectIndexSize("alice", 1);
    });

    it("list of a user whose sessions all died leaves nothing behind", async () => {
      await ctx.create("alice", { idleTimeout: HOUR });
      await ctx.create("alice", { idleTimeout: 2 * HOUR });
      ctx.clock.advance(3 * HOUR);
      expect(await ctx.store.list("alice", ctx.clock.now())).to.deep.equal([]);
      await ctx.expectHeld(0);
      await ctx.expectNothingLeft("alice");
    });

    it("create prunes dead entries from the index and sets the index's expiry from the fake now", async () => {
      const { record: dead } = await ctx.create("alice", { idleTimeout: HOUR });
      const { record: long } = await ctx.create("alice", { idleTimeout: 10 * HOUR });
      ctx.clock.advance(2 * HOUR);
      const { record: fresh, evicted } = await ctx.create("alice", { idleTimeout: HOUR });
      expect(evicted, "dead sessions are pruned, not reported as evicted").to.deep.equal([]);
      await ctx.expectIndex("alice", [long, fresh]);
      await ctx.expectGone(dead);
      await ctx.expectHeld(2);
      await ctx.expectSessionTtl(fresh);
      await ctx.expectIndexTtl("alice", [long, fresh]);
    });

    it("every key left has an expiry when no forever session exists", async () => {
      const { record: a } = await ctx.create("alice", { idleTimeout: HOUR });
      await ctx.create("alice", { idleTimeout: null, absoluteLifetime: 3 * DAY });
      ctx.clock.advance(2 * MINUTE);
      await ctx.store.check("alice", a.id, ctx.clock.now(), MINUTE);
      await ctx.rotate(a, 0, "h0", "h1");
      await ctx.create("bob", { idleTimeout: 15 * MINUTE, absoluteLifetime: HOUR });
      await ctx.store.list("alice", ctx.clock.now());
      if (!ctx.inspect.unexpiring) return;
      expect(await ctx.inspect.unexpiring(), "entries without an expiry").to.deep.equal([]);
    });
  });
}
