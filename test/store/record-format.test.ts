/**
 * The record format, read by two codecs: the TypeScript one
 * (`lib/stores/redis/record-codec.ts`) and the Lua scripts. Each golden
 * record of `record-vectors.ts` must pack to its exact string, unpack to
 * its record, and be read alike by the scripts: its deadline (get, list),
 * the head the guard's check answers, and the rotation that rewrites it.
 */
import { expect } from "chai";
import { Redis } from "ioredis";
import { indexKey, sessionKey, userKeyBase } from "../../lib/stores/keys.js";
import { pack, unpack } from "../../lib/stores/redis/record-codec.js";
import { RedisStore } from "../../lib/stores/redis.js";
import { SAFE_CLIENT, ready } from "../http/app.js";
import { sharedRedis } from "../support/redis-server.js";
import { RECORD_VECTORS } from "./record-vectors.js";

describe("record format", () => {
  describe("TypeScript codec", () => {
    for (const v of RECORD_VECTORS) {
      it(`${v.name}: packs to the golden string and unpacks to the record`, () => {
        expect(pack(v.record, v.digest)).to.equal(v.packed);
        expect(unpack(Buffer.from(v.packed), v.record.id, v.record.userId)).to.deep.equal(v.record);
      });
    }
  });

  describe("Lua scripts", () => {
    let client: Redis;
    let store: RedisStore;
    let prefixes = 0;
    let prefix: string;
    before(async () => {
      client = new Redis((await sharedRedis()).url, SAFE_CLIENT);
      await ready(client);
    });
    after(() => client.disconnect());
    beforeEach(() => {
      prefix = `vectors${++prefixes}:`;
      store = new RedisStore({ client, prefix });
    });

    /** Writes the golden string as Redis would hold it, with its index entry. */
    async function place(v: (typeof RECORD_VECTORS)[number]): Promise<string> {
      const base = userKeyBase(prefix, v.record.userId);
      const key = sessionKey(base, v.record.id);
      await client.set(key, v.packed);
      await client.zadd(indexKey(base), v.record.lastUsedAt, v.record.id);
      return key;
    }

    for (const v of RECORD_VECTORS) {
      it(`${v.name}: the scripts read its deadline, head and text as the codec does`, async () => {
        const key = await place(v);
        const justAlive = v.deadline === null ? v.record.lastUsedAt + 1 : v.deadline - 1;
        expect(await store.get(v.record.userId, v.record.id, justAlive), "get-2.lua: alive just before its deadline").to.deep.equal(
          v.record,
        );
        expect(await store.list(v.record.userId, justAlive), "list-2.lua").to.deep.equal([v.record]);
        const checked = await store.check(v.record.userId, v.record.id, justAlive, Number.MAX_SAFE_INTEGER);
        expect({ ...checked }, "check-2.lua's head").to.deep.equal({ ...v.record, claims: "", ip: "", userAgent: "" });
        expect(await client.get(key), "nothing written").to.equal(v.packed);
        if (v.deadline !== null) {
          expect(await store.get(v.record.userId, v.record.id, v.deadline), "dead at its deadline").to.equal(null);
          expect(await client.exists(key)).to.equal(0);
        }
      });

      it(`${v.name}: rotate-2.lua rewrites it keeping the text byte for byte`, async () => {
        const key = await place(v);
        const now = v.record.lastUsedAt + 1;
        const result = await store.rotate({
          userId: v.record.userId,
          sessionId: v.record.id,
          generation: 0,
          presentedHash: v.digest,
          successorHash: "ZyXwVuTsRqPoNmLkJiHgFe",
          now,
          reuseWindow: 10_000,
          ip: "10.0.0.1",
          userAgent: "ua",
        });
        expect(result).to.deep.equal({ status: "rotated", record: { ...v.record, lastUsedAt: now, ip: "10.0.0.1", userAgent: "ua" } });
        const fields = v.packed.split("|");
        const claimsAndData = v.record.claims + v.record.data;
        const rotated = (await client.get(key))!;
        expect(
          rotated.startsWith(`2|${now.toString(36).padStart(9, "0")}|${fields[2]}|${fields[3]}|${fields[4]}|${fields[5]}|1|`),
        ).to.equal(true);
        expect(rotated.endsWith(`|ZyXwVuTsRqPoNmLkJiHgFe|${v.digest}|${fields[10]}|${fields[11]}|8|2|${claimsAndData}10.0.0.1ua`)).to.equal(
          true,
        );
      });
    }
  });
});
