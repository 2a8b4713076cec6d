/**
 * Creating sessions, and reading them back with get, check and list.
 *
 * @module
 */
import type { SessionRecord } from "../../stores/store.js";
import { expect } from "../expect.js";
import { DAY, HOUR, MINUTE, fields, sortedIds, type Contract } from "../harness.js";
import type { Runner } from "../runner.js";

/** User ids that must neither break a key nor mix with each other. */
const AWKWARD_USER_IDS = [
  "alice",
  "{alice}",
  "}{",
  "user:1",
  "user",
  "user:1:s:x",
  "with some spaces ",
  " ",
  "ünïcødé-用户-🙂",
  "u\u0308", // "ü" decomposed: a different string from the composed one
  "ü",
  "x".repeat(1024),
  "x".repeat(1023) + "y",
];

export function describeCreateGetList({ describe, it }: Runner, ctx: Contract): void {
  describe("create, get and list", () => {
    it("returns the record as created from get, check and list", async () => {
      const { record, evicted } = await ctx.create("alice");
      expect(evicted).to.deep.equal([]);
      expect(fields(await ctx.store.get("alice", record.id, ctx.clock.now()))).to.deep.equal(record);
      ctx.expectChecked(await ctx.store.check("alice", record.id, ctx.clock.now(), MINUTE), record);
      const listed = await ctx.store.list("alice", ctx.clock.now());
      expect(listed.map(fields)).to.deep.equal([record]);
      await ctx.expectHeld(1);
      await ctx.expectIndex("alice", [record]);
      await ctx.expectSessionTtl(record);
      await ctx.expectIndexTtl("alice", [record]);
    });

    it("keeps empty strings, null deadlines, remember-me and long text fields as given", async () => {
      const { record } = await ctx.create("bob", {
        claims: "",
        data: "",
        ip: "",
        userAgent: "",
        rememberMe: true,
        idleTimeout: null,
        absoluteLifetime: 365 * DAY,
      });
      expect(fields(await ctx.store.get("bob", record.id, ctx.clock.now()))).to.deep.equal(record);
      const { record: other } = await ctx.create("bob", {
        claims: JSON.stringify({ role: "owner", scopes: ["a", "b"], note: 'ünï"cødé\n' }),
        data: JSON.stringify({ blob: "z".repeat(4000) }),
        ip: "2001:db8::1",
        userAgent: "Agent/1.0 ".repeat(50),
        idleTimeout: 15 * MINUTE,
        absoluteLifetime: null,
      });
      expect(fields(await ctx.store.get("bob", other.id, ctx.clock.now()))).to.deep.equal(other);
      expect(sortedIds(await ctx.store.list("bob", ctx.clock.now()))).to.deep.equal(sortedIds([record, other]));
    });

    it("keeps sessions of awkward user ids working and apart", async () => {
      const byUser = new Map<string, SessionRecord[]>();
      for (const userId of AWKWARD_USER_IDS) {
        byUser.set(userId, [(await ctx.create(userId)).record, (await ctx.create(userId)).record]);
      }
      await ctx.expectHeld(2 * AWKWARD_USER_IDS.length);
      for (const [userId, records] of byUser) {
        const listed = await ctx.store.list(userId, ctx.clock.now());
        expect(sortedIds(listed), `sessions of ${JSON.stringify(userId.slice(0, 40))}`).to.deep.equal(sortedIds(records));
        for (const r of listed) expect(r.userId).to.equal(userId);
        for (const r of records) {
          ctx.expectChecked(await ctx.store.check(userId, r.id, ctx.clock.now(), MINUTE), r);
          await ctx.expectIndex(userId, records);
          if (ctx.inspect.holds) expect(await ctx.inspect.holds(userId, r.id), "session held").to.equal(true);
        }
      }
      // No user reaches another user's session.
      const [first, second] = [AWKWARD_USER_IDS[0], AWKWARD_USER_IDS[1]];
      for (const userId of AWKWARD_USER_IDS) {
        for (const [owner, records] of byUser) {
          if (owner === userId) continue;
          expect(
            await ctx.store.get(userId, records[0].id, ctx.clock.now()),
            `${JSON.stringify(userId.slice(0, 20))} getting a session of ${JSON.stringify(owner.slice(0, 20))}`,
          ).to.equal(null);
        }
      }
      // Revoking all of one user leaves every other user's sessions.
      expect((await ctx.store.revokeAll(first, undefined, ctx.clock.now())).sort()).to.deep.equal(sortedIds(byUser.get(first)!));
      expect(sortedIds(await ctx.store.list(second, ctx.clock.now()))).to.deep.equal(sortedIds(byUser.get(second)!));
      await ctx.expectHeld(2 * AWKWARD_USER_IDS.length - 2);
      await ctx.expectNothingLeft(first);
    });

    it("get writes nothing: lastUsedAt and expiries stay", async () => {
      const { record } = await ctx.create("erin", { idleTimeout: HOUR });
      ctx.clock.advance(30 * MINUTE);
      expect(fields(await ctx.store.get("erin", record.id, ctx.clock.now()))).to.deep.equal(record);
      await ctx.expectSessionTtl(record, record.lastUsedAt);
      await ctx.expectIndex("erin", [record]);
    });

    it("list of a user without sessions is empty", async () => {
      expect(await ctx.store.list("nobody", ctx.clock.now())).to.deep.equal([]);
      await ctx.expectHeld(0);
    });
  });
}
