/**
 * In-process measurements against the bench's Redis (a child of run.ts):
 * Redis memory per session, login and refresh throughput through
 * `guard.sessions`, and `revokeAll` time. Answers one `result` message.
 */
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { Redis } from "ioredis";
import { RedisStore, sessionGuard } from "../lib/index.js";
import { indexKey, sessionKey, userKeyBase } from "../lib/stores/keys.js";
import { config } from "./common.js";

const redisUrl = process.env.REDIS_URL!;
const secret = process.env.BENCH_SECRET!;

/** A typical browser user agent, as a login records it. */
export const USER_AGENT = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";

function client(commandTimeout = 1000, db = 0): Promise<Redis> {
  const c = new Redis(redisUrl, { enableOfflineQueue: false, commandTimeout, db });
  return new Promise((resolve, reject) => {
    c.once("ready", () => resolve(c));
    c.once("error", reject);
  });
}

/** Runs `count` jobs with at most `concurrency` in flight. */
async function pool(count: number, concurrency: number, job: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) await job(next++);
    }),
  );
}

/** Runs `worker` in `concurrency` loops for `seconds`; returns ops/s. */
async function throughput(
  seconds: number,
  concurrency: number,
  setup: (w: number) => Promise<unknown>,
  op: (w: number, state: any) => Promise<unknown>,
): Promise<{ ops: number; opsPerSec: number }> {
  const states = await Promise.all(Array.from({ length: concurrency }, (_, w) => setup(w)));
  let ops = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  await Promise.all(
    states.map(async (state, w) => {
      let s = state;
      while (performance.now() < end) {
        s = (await op(w, s)) ?? s;
        ops++;
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  return { ops, opsPerSec: ops / elapsed };
}

/** Sums MEMORY USAGE (all samples) of every key under `prefix`. */
async function memoryUnder(
  redis: Redis,
  prefix: string,
): Promise<{ keys: number; bytes: number; sessionKeys: number; sessionBytes: number; encoding: string }> {
  let cursor = "0";
  let encoding = "";
  let keys = 0,
    bytes = 0,
    sessionKeys = 0,
    sessionBytes = 0;
  do {
    const [nextCursor, batch] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
    cursor = nextCursor;
    if (batch.length === 0) continue;
    const pipeline = redis.pipeline();
    for (const key of batch) pipeline.call("MEMORY", "USAGE", key, "SAMPLES", "0");
    const replies = (await pipeline.exec())!;
    batch.forEach((key: string, i: number) => {
      const size = Number(replies[i][1] ?? 0);
      keys++;
      bytes += size;
      if (key.includes("}:s:")) {
        sessionKeys++;
        sessionBytes += size;
        encoding ||= key;
      }
    });
  } while (cursor !== "0");
  if (encoding) encoding = String(await redis.call("OBJECT", "ENCODING", encoding));
  return { keys, bytes, sessionKeys, sessionBytes, encoding };
}

/** Adds `count` copies of one of the user's sessions (new ids, same fields and TTL) to the user's index. */
async function cloneSessions(redis: Redis, prefix: string, userId: string, count: number): Promise<number> {
  const base = userKeyBase(prefix, userId);
  const index = indexKey(base);
  const [sid, score] = await redis.zrange(index, 0, 0, "WITHSCORES");
  const source = sessionKey(base, sid);
  const dump = await redis.dumpBuffer(source);
  const ttl = Math.max(0, await redis.pttl(source));
  for (let done = 0; done < count;) {
    const pipeline = redis.pipeline();
    for (let i = 0; i < 1000 && done < count; i++, done++) {
      const id = randomBytes(18).toString("base64url");
      pipeline.restore(sessionKey(base, id), ttl, dump);
      pipeline.zadd(index, score, id);
    }
    await pipeline.exec();
  }
  return count;
}

/**
 * Redis memory per session with the store's defaults (prefix `sg:`), in a
 * logical database of its own (`db`), so nothing else is counted.
 */
async function memoryPerSession(db: number, typical: boolean) {
  const redis = await client(1000, db);
  const prefix = "sg:";
  const guard = sessionGuard({ store: new RedisStore({ client: redis, prefix }), secret });
  const n = config.sessions;
  await pool(n, 50, (i) =>
    guard.sessions.create(`user-${i}`, typical ? { claims: { role: "user" }, ip: `203.0.113.${i % 256}`, userAgent: USER_AGENT } : {}),
  );
  const m = await memoryUnder(redis, prefix);
  await guard.close();
  redis.disconnect();
  return { sessions: n, ...m, bytesPerSession: m.bytes / n, sessionHashBytes: m.sessionBytes / Math.max(1, m.sessionKeys) };
}

async function main() {
  const redis = await client();
  const results: Record<string, unknown> = {};

  results.memoryMinimal = await memoryPerSession(1, false);
  results.memoryTypical = await memoryPerSession(2, true);

  // Login and refresh throughput, in this process, against Redis.
  {
    const guard = sessionGuard({ store: new RedisStore({ client: redis, prefix: "bl:" }), secret });
    const login = await throughput(
      config.opsSeconds,
      config.opsConcurrency,
      async () => 0,
      async (w, i: number) => {
        await guard.sessions.create(`user-${w}-${i % 20}`, { claims: { role: "user" }, ip: "203.0.113.7", userAgent: USER_AGENT });
        return i + 1;
      },
    );
    const refresh = await throughput(
      config.opsSeconds,
      config.opsConcurrency,
      async (w) => (await guard.sessions.create(`refresher-${w}`, { ip: "203.0.113.7", userAgent: USER_AGENT })).refresh_token,
      async (_w, token: string) => (await guard.sessions.refresh(token, { ip: "203.0.113.7", userAgent: USER_AGENT })).refresh_token,
    );
    results.login = login;
    results.refresh = refresh;
    await guard.close();
  }

  // revokeAll of one user's N sessions. A generous client and store timeout so
  // the time is measured even when it exceeds the 1 s defaults.
  {
    const slow = await client(120_000);
    const guard = sessionGuard({
      store: new RedisStore({ client: slow, prefix: "br:" }),
      secret,
      maxSessionsPerUser: null,
      storeTimeout: "120s",
    });
    const revokeAll: Array<{ sessions: number; revoked: number; ms: number; cloned: number; loginMs?: number }> = [];
    for (const size of config.revokeAllSizes) {
      const repeats = size <= 1000 ? 5 : 1;
      for (let r = 0; r < repeats; r++) {
        const user = `revoker-${size}-${r}`;
        // Every login reads each of the user's sessions (pruning), so creating
        // N sessions of one user through create() costs O(N²) work in Redis;
        // past CREATED they are cloned from a real one (DUMP/RESTORE + ZADD).
        const CREATED = 500;
        await pool(Math.min(size, CREATED), 50, () => guard.sessions.create(user));
        let cloned = 0;
        let loginMs: number | undefined;
        if (size > CREATED) {
          cloned = await cloneSessions(slow, "br:", user, size - CREATED);
          const t = performance.now();
          await guard.sessions.create(user);
          loginMs = performance.now() - t;
        }
        const t0 = performance.now();
        const revoked = await guard.sessions.revokeAll(user);
        revokeAll.push({ sessions: size + (loginMs === undefined ? 0 : 1), revoked, ms: performance.now() - t0, cloned, loginMs });
      }
    }
    results.revokeAll = revokeAll;
    await guard.close();
    slow.disconnect();
  }

  redis.disconnect();
  process.send!({ type: "result", result: results });
}

main().catch((error) => {
  process.send!({ type: "result", error: String(error?.stack ?? error) });
});
process.on("message", (m: { type?: string }) => {
  if (m?.type === "stop") process.exit(0);
});
