/**
 * Golden session records: each a record as the library sees it and the
 * packed string Redis holds for it (format 2, see
 * `lib/stores/redis/record-codec.ts`). The TypeScript codec and the Lua
 * scripts must both read every one of them alike (`record-format.test.ts`),
 * so the two readers of the format can never drift apart.
 *
 * @module
 */
import type { SessionRecord } from "../../lib/stores/store.js";

/** One golden record. */
export interface RecordVector {
  name: string;
  record: SessionRecord;
  /** The generation-0 refresh digest as stored (22 base64url characters). */
  digest: string;
  /** The exact value in Redis. */
  packed: string;
  /** The record's deadline (epoch ms), or `null` for a forever session. */
  deadline: number | null;
}

const T = Date.UTC(2026, 11, 2, 8, 0, 0); // 1796198400000 = "mx5u5fk0" in base 36
const DIGEST = "AbCdEfGhIjKlMnOpQrStUv";

function record(overrides: Partial<SessionRecord>): SessionRecord {
  return {
    id: "sid0sid0sid0sid0sid0sid0",
    userId: "alice",
    createdAt: T,
    lastUsedAt: T,
    idleTimeout: 86_400_000,
    absoluteLifetime: 2_592_000_000,
    rememberMe: false,
    claims: "",
    data: "",
    ip: "",
    userAgent: "",
    ...overrides,
  };
}

export const RECORD_VECTORS: RecordVector[] = [
  {
    name: "minimal: both deadlines, no text",
    record: record({}),
    digest: DIGEST,
    packed: `2|0mx5u5fk0|mx5u5fk0|1ffuo0|16v7k00|0|0||${DIGEST}||0|0|0|0|`,
    deadline: T + 86_400_000,
  },
  {
    name: "forever remember-me session: empty deadlines",
    record: record({ idleTimeout: null, absoluteLifetime: null, rememberMe: true }),
    digest: DIGEST,
    packed: `2|0mx5u5fk0|mx5u5fk0|||1|0||${DIGEST}||0|0|0|0|`,
    deadline: null,
  },
  {
    name: "absolute deadline first, last used later than created",
    record: record({ lastUsedAt: T + 35_000, idleTimeout: 3_600_000, absoluteLifetime: 60_000 }),
    digest: DIGEST,
    packed: `2|0mx5u66k8|mx5u5fk0|255s0|1aao|0|0||${DIGEST}||0|0|0|0|`,
    deadline: T + 60_000,
  },
  {
    name: "text fields with bars, newlines and multi-byte characters, located by byte lengths",
    record: record({
      claims: '{"role":"a|b","名":"ж"}',
      data: '{"plan":"pro\\n|2|"}',
      ip: "2001:db8::1",
      userAgent: "Mozilla/5.0 (X11; Linux) 🙂|",
    }),
    digest: DIGEST,
    packed:
      `2|0mx5u5fk0|mx5u5fk0|1ffuo0|16v7k00|0|0||${DIGEST}||25|19|11|30|` +
      '{"role":"a|b","名":"ж"}{"plan":"pro\\n|2|"}2001:db8::1Mozilla/5.0 (X11; Linux) 🙂|',
    deadline: T + 86_400_000,
  },
  {
    name: "times far in the future: nine base-36 digits, the most the last-use field holds",
    record: record({ createdAt: 101_559_956_668_405, lastUsedAt: 101_559_956_668_405, idleTimeout: 60_000, absoluteLifetime: null }),
    digest: DIGEST,
    packed: `2|zzzzzzzzp|zzzzzzzzp|1aao||0|0||${DIGEST}||0|0|0|0|`,
    deadline: 101_559_956_728_405,
  },
];
