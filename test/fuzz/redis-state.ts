/**
 * Everything under a set of key prefixes, read in one atomic step: each
 * key's type, full value and expiry, for before/after comparisons; and a
 * baseline that can be put back (DUMP/RESTORE), so every fuzz run starts
 * from the same sessions.
 *
 * Expiries are compared as absolute instants (PEXPIRETIME), not as PTTLs:
 * a PTTL counts down in real time (while the guard's clock is fake) from
 * Redis's cached command time, which can lag by the length of an idle
 * event-loop turn, so PTTLs of an untouched key read twice can differ by
 * tens of milliseconds more than the clock moved. An untouched key keeps
 * its expiry instant exactly; any write that sets it again moves it.
 *
 * @module
 */
import type { Redis } from "ioredis";

/** One key as read. */
export interface KeyState {
  type: string;
  /** The string, or a zset's members and scores (`member score` lines), or the type for anything else. */
  value: string;
  /** The absolute expiry in epoch ms (PEXPIRETIME); -1 for none. */
  expireAt: number;
}

/** Every key under the prefixes. */
export interface RedisState {
  keys: Map<string, KeyState>;
}

const SNAPSHOT = `
local out = {}
for _, prefix in ipairs(ARGV) do
  for _, key in ipairs(redis.call('KEYS', prefix .. '*')) do
    local t = redis.call('TYPE', key)['ok']
    local v
    if t == 'string' then
      v = redis.call('GET', key)
    elseif t == 'zset' then
      v = table.concat(redis.call('ZRANGE', key, 0, -1, 'WITHSCORES'), '\\n')
    else
      v = t
    end
    out[#out + 1] = key
    out[#out + 1] = t
    out[#out + 1] = v
    out[#out + 1] = redis.call('PEXPIRETIME', key)
  end
end
return out
`;

/** Reads every key under `prefixes` (which must hold no glob characters) in one script. */
export async function readState(client: Redis, prefixes: string[]): Promise<RedisState> {
  const reply = (await client.eval(SNAPSHOT, 0, ...prefixes)) as Array<string | number>;
  const keys = new Map<string, KeyState>();
  for (let i = 0; i < reply.length; i += 4) {
    keys.set(String(reply[i]), { type: String(reply[i + 1]), value: String(reply[i + 2]), expireAt: Number(reply[i + 3]) });
  }
  return { keys };
}

/**
 * The differences between two reads, as readable lines (none: equal): keys
 * deleted or created, types, values and expiry instants changed. `ignore`
 * names keys whose expiry alone may differ.
 */
export function diffStates(before: RedisState, after: RedisState, ignoreExpiry: ReadonlySet<string> = new Set()): string[] {
  const lines: string[] = [];
  for (const [key, was] of before.keys) {
    const now = after.keys.get(key);
    if (now === undefined) {
      lines.push(`deleted: ${key}`);
      continue;
    }
    if (now.type !== was.type) lines.push(`type of ${key}: ${was.type} -> ${now.type}`);
    else if (now.value !== was.value) lines.push(`value of ${key}: ${JSON.stringify(was.value)} -> ${JSON.stringify(now.value)}`);
    if (!ignoreExpiry.has(key) && now.expireAt !== was.expireAt) lines.push(`expiry of ${key}: ${was.expireAt} -> ${now.expireAt}`);
  }
  for (const key of after.keys.keys()) if (!before.keys.has(key)) lines.push(`created: ${key}`);
  return lines;
}

/** True when both reads hold the same keys, types, values and expiries. */
export function sameContent(a: RedisState, b: RedisState): boolean {
  if (a.keys.size !== b.keys.size) return false;
  for (const [key, was] of a.keys) {
    const now = b.keys.get(key);
    if (now === undefined || now.type !== was.type || now.value !== was.value || now.expireAt !== was.expireAt) return false;
  }
  return true;
}

/** A copy of every key under the prefixes that {@link restoreBaseline} puts back. */
export interface Baseline {
  prefixes: string[];
  state: RedisState;
  dumps: Array<{ key: string; dump: Buffer; expireAt: number }>;
}

/** Takes the baseline: the current state and a DUMP of each key. */
export async function takeBaseline(client: Redis, prefixes: string[]): Promise<Baseline> {
  const state = await readState(client, prefixes);
  const dumps: Baseline["dumps"] = [];
  for (const [key, { expireAt }] of state.keys) {
    const dump = await client.dumpBuffer(key);
    if (dump === null) throw new Error(`${key} vanished while taking the baseline`);
    dumps.push({ key, dump, expireAt });
  }
  return { prefixes, state, dumps };
}

/**
 * Puts the baseline back when the content under the prefixes differs from it
 * (deleting keys it does not hold); returns whether it had to. Restored keys
 * get their baseline expiry instants again (RESTORE … ABSTTL).
 */
export async function restoreBaseline(client: Redis, baseline: Baseline): Promise<boolean> {
  const current = await readState(client, baseline.prefixes);
  if (sameContent(current, baseline.state)) return false;
  const multi = client.multi();
  for (const key of current.keys.keys()) multi.del(key);
  for (const { key, dump, expireAt } of baseline.dumps) {
    if (expireAt === -1) multi.restore(key, 0, dump, "REPLACE");
    else multi.restore(key, expireAt, dump, "REPLACE", "ABSTTL");
  }
  await multi.exec();
  baseline.state = await readState(client, baseline.prefixes);
  return true;
}
