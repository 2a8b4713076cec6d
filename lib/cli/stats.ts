/**
 * `session-guard stats`: what the store holds, counted with `SCAN` (never
 * `KEYS`) on every master, and memory per session sampled with
 * `MEMORY USAGE`.
 *
 * @module
 */
import { deadlineOf } from "../stores/store.js";
import { unpack } from "../stores/redis/record-codec.js";
import type { RedisClient } from "../stores/redis/client.js";

/** What `stats` reports. */
export interface Stats {
  sessions: number;
  users: number;
  rememberMe: number;
  forever: number;
  /** Sessions past their deadline that Redis has not expired yet. */
  dead: number;
  /** Mean `MEMORY USAGE` of a sampled session key, in bytes; null without sessions. */
  bytesPerSession: number | null;
  sampled: number;
}

/** The commands `stats` sends to one server. */
interface StatsNode {
  scan(cursor: string, ...args: (string | number)[]): Promise<[string, string[]]>;
  getBuffer(key: string): Promise<Buffer | null>;
  call(command: string, ...args: (string | number)[]): Promise<unknown>;
}

const SESSION_KEY = /^(.*)\{([A-Za-z0-9_-]*)\}:s:(.+)$/;
const MEMORY_SAMPLE = 200;

/** The servers to scan: every master of a Cluster, or the one server. */
function serversOf(client: RedisClient): StatsNode[] {
  const cluster = client as unknown as { isCluster?: boolean; nodes?(role: string): StatsNode[] };
  return cluster.isCluster === true && cluster.nodes ? cluster.nodes("master") : [client as unknown as StatsNode];
}

export async function collectStats(client: RedisClient, prefix: string, now: number): Promise<Stats> {
  const users = new Set<string>();
  const stats: Stats = { sessions: 0, users: 0, rememberMe: 0, forever: 0, dead: 0, bytesPerSession: null, sampled: 0 };
  let bytes = 0;
  // A glob with the prefix's own special characters escaped.
  const match = `${prefix.replace(/[*?[\]\\]/g, "\\$&")}{*}:s:*`;
  for (const server of serversOf(client)) {
    let cursor = "0";
    do {
      const [next, keys] = await server.scan(cursor, "MATCH", match, "COUNT", 1000);
      cursor = next;
      // One batch of GETs per SCAN page, sent together rather than one round trip per key.
      const ours = keys.map((key) => ({ key, parts: SESSION_KEY.exec(key) })).filter(({ parts }) => parts !== null && parts[1] === prefix);
      const values = await Promise.all(ours.map(({ key }) => server.getBuffer(key)));
      const sample: string[] = [];
      ours.forEach(({ key, parts }, i) => {
        const value = values[i];
        if (value === null) return; // expired between SCAN and GET
        const userId = Buffer.from(parts![2], "base64url").toString("utf8");
        const record = unpack(value, parts![3], userId);
        const deadline = deadlineOf(record);
        if (deadline !== null && now >= deadline) {
          stats.dead++;
          return;
        }
        stats.sessions++;
        users.add(userId);
        if (record.rememberMe) stats.rememberMe++;
        if (deadline === null) stats.forever++;
        if (stats.sampled + sample.length < MEMORY_SAMPLE) sample.push(key);
      });
      const usages = await Promise.all(sample.map((key) => server.call("MEMORY", "USAGE", key)));
      for (const usage of usages.map(Number)) {
        if (!Number.isFinite(usage)) continue;
        bytes += usage;
        stats.sampled++;
      }
    } while (cursor !== "0");
  }
  stats.users = users.size;
  stats.bytesPerSession = stats.sampled === 0 ? null : Math.round(bytes / stats.sampled);
  return stats;
}
