/**
 * The Redis store: every operation is one Lua script (see `scripts/*.lua`,
 * whose headers document KEYS, ARGV and replies), run with `EVALSHA` and
 * falling back to `EVAL` when Redis answers `NOSCRIPT` (after a restart or
 * `SCRIPT FLUSH`). All keys of a user share one hash slot, so it works the
 * same on a Redis Cluster.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { Cluster, Redis } from "ioredis";
import { indexKey, sessionKey, userKeyBase } from "./keys.js";
import * as scripts from "./scripts/index.js";
import type { CreateInput, RefreshLogoutResult, RotateInput, RotateResult, SessionRecord, Store } from "./store.js";

/**
 * Options of {@link RedisStore}: give exactly one of `client` and `url`.
 *
 * @example
 * ```ts
 * import Redis from "ioredis";
 * // Your own client (never closed by the store); auto-pipelining for a
 * // standalone client only, never for a Cluster:
 * new RedisStore({ client: new Redis(url, { enableOfflineQueue: false, commandTimeout: 1000, enableAutoPipelining: true }) });
 * // Or a client the store creates with safe settings, and closes in close():
 * new RedisStore({ url: "redis://localhost:6379", prefix: "myapp:sg:" });
 * ```
 */
export interface RedisStoreOptions {
  /**
   * An ioredis `Redis` or `Cluster` client. The store never closes nor
   * reconfigures it; it warns once when its options can hang a request
   * (offline queue on, no `commandTimeout`).
   */
  client?: Redis | Cluster;
  /**
   * A Redis URL (`redis://…`, `rediss://…`): the store creates its own
   * client with settings that cannot hang a request (no offline queue, a
   * command timeout, bounded retries) and closes it in `close()`. Needs the
   * `ioredis` package installed.
   */
  url?: string;
  /** Prefix of every key. Default `"sg:"`. Must not contain `{` or `}`. */
  prefix?: string;
  /** Milliseconds before a command of the client made from `url` fails. Default `1000`. Only with `url`. */
  commandTimeout?: number;
}

/** A script with its SHA-1, computed once. */
interface Script {
  readonly numberOfKeys: number;
  readonly source: string;
  readonly sha: string;
}

function prepare(script: { numberOfKeys: number; source: string }): Script {
  return { numberOfKeys: script.numberOfKeys, source: script.source, sha: createHash("sha1").update(script.source).digest("hex") };
}

const CREATE = prepare(scripts.create);
const CHECK = prepare(scripts.check);
const ROTATE = prepare(scripts.rotate);
const REVOKE_BY_REFRESH = prepare(scripts.revokeByRefresh);
const GET = prepare(scripts.get);
const LIST = prepare(scripts.list);
const REVOKE = prepare(scripts.revoke);
const REVOKE_ALL = prepare(scripts.revokeAll);

/**
 * Characters of a base64url SHA-256 refresh digest kept in Redis: the first
 * 22 (132 bits). Matching a 132-bit prefix of SHA-256 without the token is
 * as infeasible as matching all of it, and it saves 42 bytes per record
 * after its first rotation (two digests of 22 characters instead of 43).
 */
const DIGEST_CHARS = 22;

const OPTION_NAMES = new Set(["client", "url", "prefix", "commandTimeout"]);
const DEFAULT_COMMAND_TIMEOUT = 1000;
/**
 * Sends of the one-time `maxmemory-policy` check that may fail without an
 * answer from Redis (client not ready yet, connection lost, timeout) before
 * the store gives up on it. An error reply (CONFIG disabled or renamed, as
 * on some managed Redis) is an answer: the check is then done.
 */
const POLICY_CHECK_SENDS = 3;

/** Either client type, reduced to what the store calls. */
type Client = Redis | Cluster;

/** Keys and arguments of one script call, in the script's KEYS then ARGV order. */
type ScriptArgs = (string | number)[];

/**
 * The script commands of either client; the `…Buffer` variants (untyped in
 * ioredis) answer bulk strings as Buffers. ioredis flattens array arguments,
 * so a script's keys and arguments are passed as the array they were built
 * in, never spread into a copy.
 */
interface ScriptClient {
  evalsha(sha: string, numberOfKeys: number, args: ScriptArgs): Promise<unknown>;
  eval(source: string, numberOfKeys: number, args: ScriptArgs): Promise<unknown>;
  evalshaBuffer(sha: string, numberOfKeys: number, args: ScriptArgs): Promise<unknown>;
  evalBuffer(source: string, numberOfKeys: number, args: ScriptArgs): Promise<unknown>;
}

/**
 * A {@link Store} in Redis (standalone or Cluster, through ioredis). Each
 * operation is a single atomic Lua script and a single round trip; every key
 * carries a TTL at its session's deadline (none only where a forever session
 * lives). Keys: `<prefix>{<base64url user id>}:s:<sid>` (one packed string
 * per session, see {@link FORMAT})
 * and `<prefix>{<base64url user id>}:i` (the user's index, a sorted set).
 *
 * Store errors (connection refused, timeouts, script errors) reject the
 * returned promise; nothing is logged.
 *
 * @example
 * ```ts
 * import Redis from "ioredis";
 * import { sessionGuard, RedisStore } from "session-guard";
 *
 * const redis = new Redis(process.env.REDIS_URL!, { enableOfflineQueue: false, commandTimeout: 1000, enableAutoPipelining: true });
 * const guard = sessionGuard({ store: new RedisStore({ client: redis }), secret: process.env.SESSION_SECRET });
 * // or let the store own its client: new RedisStore({ url: process.env.REDIS_URL! })
 * ```
 */
export class RedisStore implements Store {
  readonly #prefix: string;
  /** The client once known: at once when given, after the import when made from `url`. */
  #client: Client | undefined;
  /** Resolves to the client made from `url` (undefined when one was given). */
  readonly #pending: Promise<Client> | undefined;
  readonly #owned: boolean;
  readonly #commandTimeout: number;
  /** Whether the maxmemory-policy check is to be sent beside the next command. */
  #policyCheckDue: boolean;
  /** Sends of that check that failed without an answer from Redis (see {@link POLICY_CHECK_SENDS}). */
  #policyCheckFailures = 0;
  #closed = false;

  constructor(options: RedisStoreOptions) {
    if (options === null || typeof options !== "object" || Array.isArray(options)) {
      throw new TypeError("RedisStore: options must be an object, e.g. { client } or { url }");
    }
    for (const name of Object.keys(options)) {
      if (!OPTION_NAMES.has(name)) {
        throw new TypeError(`RedisStore: unknown option \`${name}\` (known: client, url, prefix, commandTimeout)`);
      }
    }
    const { client, url, prefix = "sg:", commandTimeout } = options;
    if (client !== undefined && url !== undefined) {
      throw new TypeError("RedisStore: give either `client` or `url`, not both");
    }
    if (client === undefined && url === undefined) {
      throw new TypeError("RedisStore: give `client` (an ioredis Redis or Cluster) or `url` (a redis:// URL)");
    }
    if (client !== undefined && (client === null || typeof client !== "object" || typeof (client as Client).evalsha !== "function")) {
      throw new TypeError("RedisStore: `client` must be an ioredis Redis or Cluster client");
    }
    if (url !== undefined && (typeof url !== "string" || url.length === 0)) {
      throw new TypeError('RedisStore: `url` must be a non-empty string such as "redis://localhost:6379"');
    }
    if (typeof prefix !== "string" || prefix.length === 0 || prefix.includes("{") || prefix.includes("}")) {
      throw new TypeError("RedisStore: `prefix` must be a non-empty string without `{` or `}` (the store adds its own hash tags)");
    }
    if (commandTimeout !== undefined) {
      if (client !== undefined) {
        throw new TypeError("RedisStore: `commandTimeout` applies only with `url`; set `commandTimeout` on your own client instead");
      }
      if (typeof commandTimeout !== "number" || !Number.isFinite(commandTimeout) || commandTimeout <= 0) {
        throw new TypeError("RedisStore: `commandTimeout` must be a positive number of milliseconds");
      }
    }
    this.#prefix = prefix;
    this.#commandTimeout = commandTimeout ?? DEFAULT_COMMAND_TIMEOUT;
    this.#policyCheckDue = true;
    if (client !== undefined) {
      this.#client = client;
      this.#owned = false;
      this.#pending = undefined;
      warnAboutClient(client);
    } else {
      this.#owned = true;
      this.#pending = this.#connect(url!);
      // Failures surface on the first command; never as an unhandled rejection.
      this.#pending.catch(() => {});
    }
  }

  async #connect(url: string): Promise<Client> {
    const mod = (await import("ioredis")) as unknown as { Redis?: typeof Redis; default?: typeof Redis };
    const RedisClass = mod.Redis ?? mod.default;
    if (typeof RedisClass !== "function") throw new Error("RedisStore: the ioredis package does not export a Redis client");
    const client = new RedisClass(url, {
      enableOfflineQueue: false,
      // Commands of one event-loop turn go out in one write: under load, far
      // fewer syscalls per guarded request (the script calls are independent).
      enableAutoPipelining: true,
      commandTimeout: this.#commandTimeout,
      maxRetriesPerRequest: 1,
      retryStrategy: (times: number) => Math.min(times * 100, 2000),
      lazyConnect: false,
    });
    // The client's own error events (reconnect attempts) must not crash the
    // process; the failures reach callers as rejected commands.
    client.on("error", () => {});
    if (this.#closed) {
      client.disconnect();
      throw new Error("RedisStore is closed");
    }
    this.#client = client;
    return client;
  }

  /** The client, once ready to take a command (for the owned one: connected, or given up after the command timeout). */
  async #await(): Promise<Client> {
    const client = await this.#pending!;
    if (client.status !== "ready" && !this.#closed) await firstReady(client as Redis, this.#commandTimeout);
    return client;
  }

  /**
   * Runs one script: EVALSHA, then EVAL once when Redis does not know it.
   * With `raw`, bulk strings in the reply arrive as Buffers (records are
   * parsed by byte offsets, see {@link unpack}); otherwise as strings.
   */
  #run(script: Script, args: ScriptArgs, raw = false): Promise<unknown> {
    const client = this.#client;
    if (client === undefined || (this.#owned && client.status !== "ready")) {
      if (this.#pending === undefined) return Promise.reject(new Error("RedisStore is closed"));
      return this.#await().then((c) => this.#send(c, script, args, raw));
    }
    return this.#send(client, script, args, raw);
  }

  #send(client: Client, script: Script, args: ScriptArgs, raw: boolean): Promise<unknown> {
    if (this.#policyCheckDue) this.#checkPolicy(client);
    const c = client as unknown as ScriptClient;
    const reply = raw ? c.evalshaBuffer(script.sha, script.numberOfKeys, args) : c.evalsha(script.sha, script.numberOfKeys, args);
    return reply.catch((err: unknown) => {
      if (err instanceof Error && err.message.startsWith("NOSCRIPT")) {
        return raw ? c.evalBuffer(script.source, script.numberOfKeys, args) : c.eval(script.source, script.numberOfKeys, args);
      }
      throw err;
    });
  }

  /**
   * Sends the `maxmemory-policy` check beside the command about to be sent
   * (never waited for: no extra round trip). It is done once Redis answered
   * it, even with an error; a send that failed on the connection is retried
   * with a later command, at most {@link POLICY_CHECK_SENDS} sends in all.
   */
  #checkPolicy(client: Client): void {
    this.#policyCheckDue = false;
    void checkEvictionPolicy(client).then((answered) => {
      if (!answered && ++this.#policyCheckFailures < POLICY_CHECK_SENDS) this.#policyCheckDue = true;
    });
  }

  async create(input: CreateInput): Promise<string[]> {
    const r = input.record;
    const base = userKeyBase(this.#prefix, r.userId);
    const reply = await this.#run(CREATE, [
      sessionKey(base, r.id),
      indexKey(base),
      sessionKey(base, ""),
      input.now,
      r.id,
      input.maxSessions ?? "",
      pack(r, input.refreshHash.slice(0, DIGEST_CHARS)),
    ]);
    return reply as string[];
  }

  /** The record it resolves to has `claims`, `ip` and `userAgent` `""` (see {@link Store.check}); its `data` is decoded when first read. */
  async check(userId: string, sessionId: string, now: number, touchInterval: number): Promise<SessionRecord | null> {
    const base = userKeyBase(this.#prefix, userId);
    const reply = (await this.#run(CHECK, [sessionKey(base, sessionId), indexKey(base), now, touchInterval, sessionId], true)) as
      Buffer | [Buffer, Buffer] | null;
    return reply === null ? null : unpackChecked(reply, sessionId, userId);
  }

  async rotate(input: RotateInput): Promise<RotateResult> {
    const base = userKeyBase(this.#prefix, input.userId);
    const reply = (await this.#run(
      ROTATE,
      [
        sessionKey(base, input.sessionId),
        indexKey(base),
        input.now,
        input.sessionId,
        input.generation,
        input.presentedHash.slice(0, DIGEST_CHARS),
        input.successorHash.slice(0, DIGEST_CHARS),
        input.reuseWindow,
        input.ip,
        input.userAgent,
      ],
      true,
    )) as number | [number, Buffer];
    return toRotateResult(reply, input.sessionId, input.userId);
  }

  async revokeByRefresh(
    userId: string,
    sessionId: string,
    generation: number,
    presentedHash: string,
    now: number,
    reuseWindow: number,
  ): Promise<RefreshLogoutResult> {
    const base = userKeyBase(this.#prefix, userId);
    const reply = await this.#run(REVOKE_BY_REFRESH, [
      sessionKey(base, sessionId),
      indexKey(base),
      now,
      sessionId,
      generation,
      presentedHash.slice(0, DIGEST_CHARS),
      reuseWindow,
    ]);
    // Status codes of revoke-by-refresh-2.lua (see its header).
    return reply === 1 ? "ended" : reply === 3 ? "reused" : "invalid";
  }

  async get(userId: string, sessionId: string, now: number): Promise<SessionRecord | null> {
    const base = userKeyBase(this.#prefix, userId);
    const reply = (await this.#run(GET, [sessionKey(base, sessionId), indexKey(base), now, sessionId], true)) as Buffer | null;
    return reply === null ? null : unpack(reply, sessionId, userId);
  }

  async list(userId: string, now: number): Promise<SessionRecord[]> {
    const base = userKeyBase(this.#prefix, userId);
    const reply = (await this.#run(LIST, [indexKey(base), sessionKey(base, ""), now], true)) as Buffer[];
    const records: SessionRecord[] = [];
    for (let i = 0; i + 2 <= reply.length; i += 2) records.push(unpack(reply[i + 1], reply[i].toString("utf8"), userId));
    return records;
  }

  async revoke(userId: string, sessionId: string, now: number): Promise<boolean> {
    const base = userKeyBase(this.#prefix, userId);
    return (await this.#run(REVOKE, [sessionKey(base, sessionId), indexKey(base), now, sessionId])) === 1;
  }

  async revokeAll(userId: string, exceptId: string | undefined, now: number): Promise<string[]> {
    const base = userKeyBase(this.#prefix, userId);
    return (await this.#run(REVOKE_ALL, [indexKey(base), sessionKey(base, ""), now, exceptId ?? ""])) as string[];
  }

  /** Quits the client the store made from `url`; a client given to it is left open. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#owned) return;
    let client: Client;
    try {
      client = await this.#pending!;
    } catch {
      return;
    }
    if (client.status === "end") return;
    try {
      if (client.status === "ready") {
        await client.quit();
        return;
      }
    } catch {
      // fall through to a hard disconnect
    }
    client.disconnect();
  }
}

/**
 * The record format, version 2: one Redis string per session,
 *
 * ```text
 * 2|lu|ca|it|al|rm|g|rt|rc|rp|ncl|nda|nip|nua|<claims><data><ip><userAgent>
 * ```
 *
 * - `2`: the format version;
 * - `lu`, `ca`: lastUsedAt, createdAt (epoch ms); `it`, `al`: idleTimeout,
 *   absoluteLifetime (ms, empty for `null`); `rm`: rememberMe, `1` or `0`;
 * - `g`: the refresh generation; `rt`: when the record was last rotated
 *   (epoch ms, empty: never); `rc`, `rp`: the current and the previous
 *   refresh digest ({@link DIGEST_CHARS} base64url characters; `rp` empty
 *   at generation 0);
 * - `ncl nda nip nua`: the lengths **in UTF-8 bytes** of the four text
 *   fields, which follow the head's 14th `|` back to back, unescaped.
 *
 * Times and durations (`lu ca it al rt`) are written in base 36, lower case
 * (an epoch ms takes 8 or 9 characters instead of 13: a minimal record stays
 * under 80 bytes, one allocation step of Redis's allocator lower); `lu` is
 * zero-padded to {@link LU_WIDTH} so that a touch rewrites it in place. `g`
 * and the lengths are decimal. The head holds only `[0-9a-z]`, base64url
 * and `|`, and the text is located by its byte lengths alone, so no content
 * of the text fields (`|`, newlines, any unicode) can be mistaken for
 * structure. Lua reads only the head it needs with one `string.match`; `lu`
 * comes first so that a touch rewrites it without parsing further. Written
 * here on create (`pack`) and by `rotate-2.lua`; read whole only here
 * (`unpack`). `check-2.lua` answers only the head's first five fields and
 * the data (`unpackChecked`).
 */
const FORMAT = "2";
/** Characters of `lu`: every epoch ms until the year 5188 (as `LU_WIDTH` in the scripts). */
const LU_WIDTH = 9;
/** `|` fields before the text: the version and 13 head fields. */
const HEAD_FIELDS = 14;
const BAR = 0x7c;

/** Packs a new record at refresh generation 0 (see {@link FORMAT}). */
function pack(r: SessionRecord, digest: string): string {
  return [
    FORMAT,
    base36(r.lastUsedAt).padStart(LU_WIDTH, "0"),
    base36(r.createdAt),
    r.idleTimeout === null ? "" : base36(r.idleTimeout),
    r.absoluteLifetime === null ? "" : base36(r.absoluteLifetime),
    r.rememberMe ? "1" : "0",
    0,
    "",
    digest,
    "",
    Buffer.byteLength(r.claims, "utf8"),
    Buffer.byteLength(r.data, "utf8"),
    Buffer.byteLength(r.ip, "utf8"),
    Buffer.byteLength(r.userAgent, "utf8"),
    r.claims + r.data + r.ip + r.userAgent,
  ].join("|");
}

/** A time or duration field: a whole number of ms from 0 to 2^53 − 1, in base 36. */
function base36(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < 0) throw new RangeError(`RedisStore: ${ms} is not a time or duration it can store`);
  return ms.toString(36);
}

/** Parses a packed record (see {@link FORMAT}), as Redis returned it, into a {@link SessionRecord}. */
function unpack(value: Buffer, id: string, userId: string): SessionRecord {
  const head: string[] = [];
  let at = 0;
  for (let i = 0; i < HEAD_FIELDS; i++) {
    const bar = value.indexOf(BAR, at);
    if (bar === -1) break;
    head.push(value.toString("latin1", at, bar));
    at = bar + 1;
  }
  const lengths = head.slice(10).map((n) => (n === "" ? NaN : Number(n)));
  const end = at + lengths.reduce((sum, n) => sum + n, 0);
  const [lastUsedAt, createdAt, idleTimeout, absoluteLifetime] = head.slice(1, 5).map(fromBase36);
  if (
    head.length !== HEAD_FIELDS ||
    head[0] !== FORMAT ||
    !lengths.every((n) => Number.isInteger(n) && n >= 0) ||
    end !== value.length ||
    !isTime(lastUsedAt) ||
    !isTime(createdAt) ||
    (idleTimeout !== null && !isTime(idleTimeout)) ||
    (absoluteLifetime !== null && !isTime(absoluteLifetime))
  ) {
    throw new Error("RedisStore: a session record in Redis is not in a format this version reads");
  }
  const text = (n: number): string => value.toString("utf8", at, (at += lengths[n]));
  return {
    id,
    userId,
    createdAt,
    lastUsedAt,
    idleTimeout,
    absoluteLifetime,
    rememberMe: head[5] === "1",
    claims: text(0),
    data: text(1),
    ip: text(2),
    userAgent: text(3),
  };
}

/** A base-36 field read by {@link unpack}: `null` when empty, `NaN` when it holds anything but `[0-9a-z]`. */
function fromBase36(field: string): number | null {
  if (field === "") return null;
  return /^[0-9a-z]+$/.test(field) ? parseInt(field, 36) : NaN;
}

/** Where the field {@link base36Field} read last ended: the index of its `|`, or the length of the text. */
let fieldEnd = 0;

/**
 * Reads the base-36 field of `text` that starts at `from` and ends at the
 * next `|` or the end (then at {@link fieldEnd}): `null` when it is empty,
 * `NaN` when it holds anything but `[0-9a-z]`. Makes no string.
 */
function base36Field(text: Buffer, from: number): number | null {
  let n = 0;
  let i = from;
  for (; i < text.length; i++) {
    const c = text[i];
    if (c === BAR) break;
    const digit = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x7a ? c - 0x57 : NaN;
    n = n * 36 + digit;
  }
  fieldEnd = i;
  return i === from ? null : n;
}

function isTime(n: number | null): n is number {
  return n !== null && Number.isSafeInteger(n);
}

/**
 * Parses check-2.lua's reply (see its header), `lu|ca|it|al|rm|<data>` or
 * `[lu|ca|it|al|rm, <data>]`: the numbers are read from the bytes, and the
 * data is decoded from UTF-8 only when the record's `data` is first read.
 * The claims, IP and user agent are not in the reply and come back `""`.
 */
function unpackChecked(reply: Buffer | [Buffer, Buffer], id: string, userId: string): SessionRecord {
  const apart = Array.isArray(reply);
  const head = apart ? reply[0] : reply;
  const lastUsedAt = base36Field(head, 0);
  const createdAt = base36Field(head, fieldEnd + 1);
  const idleTimeout = base36Field(head, fieldEnd + 1);
  const absoluteLifetime = base36Field(head, fieldEnd + 1);
  const rememberMe = base36Field(head, fieldEnd + 1);
  // The head ends the reply, or a `|` before the data follows it.
  const ended = apart ? fieldEnd === head.length : fieldEnd < head.length;
  if (
    !ended ||
    !isTime(lastUsedAt) ||
    !isTime(createdAt) ||
    (idleTimeout !== null && !isTime(idleTimeout)) ||
    (absoluteLifetime !== null && !isTime(absoluteLifetime)) ||
    (rememberMe !== 0 && rememberMe !== 1)
  ) {
    throw new Error("RedisStore: a session record in Redis is not in a format this version reads");
  }
  const data = apart ? reply[1] : head;
  const from = apart ? 0 : fieldEnd + 1;
  let text: string | undefined = from === data.length ? "" : undefined;
  return {
    id,
    userId,
    createdAt,
    lastUsedAt,
    idleTimeout,
    absoluteLifetime,
    rememberMe: rememberMe === 1,
    claims: "",
    get data(): string {
      return (text ??= data.toString("utf8", from));
    },
    set data(value: string) {
      text = value;
    },
    ip: "",
    userAgent: "",
  };
}

/** Maps rotate-2.lua's status codes (see its header) to a {@link RotateResult}. */
function toRotateResult(reply: number | [number, Buffer], id: string, userId: string): RotateResult {
  if (typeof reply === "number") return { status: "invalid" };
  const [code, value] = reply;
  const status = code === 1 ? "rotated" : code === 2 ? "repeated" : code === 3 ? "reused" : undefined;
  if (status === undefined) throw new Error(`RedisStore: unexpected rotate reply code ${String(code)}`);
  return { status, record: unpack(value, id, userId) };
}

/** Waits until a client that has not connected yet is ready, or `ms` passed, or it ended. */
function firstReady(client: Redis, ms: number): Promise<void> {
  if (client.status !== "wait" && client.status !== "connecting" && client.status !== "connect") return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      client.off("ready", done);
      client.off("end", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    client.once("ready", done);
    client.once("end", done);
  });
}

function warn(code: string, message: string): void {
  process.emitWarning(message, { type: "SessionGuardWarning", code });
}

/** Warns (once per store, at construction) about client settings that can hang a request. */
function warnAboutClient(client: Client): void {
  const cluster = (client as { isCluster?: boolean }).isCluster === true;
  const options = (client.options ?? {}) as {
    enableOfflineQueue?: boolean;
    commandTimeout?: number;
    redisOptions?: { commandTimeout?: number };
  };
  if (options.enableOfflineQueue !== false) {
    warn(
      "SESSION_GUARD_REDIS_OFFLINE_QUEUE",
      "The Redis client given to RedisStore has its offline queue on (enableOfflineQueue is not false): while Redis is down, " +
        "session checks wait in the queue instead of failing fast. Create the client with { enableOfflineQueue: false }.",
    );
  }
  if (cluster && (options as { enableAutoPipelining?: boolean }).enableAutoPipelining === true) {
    warn(
      "SESSION_GUARD_REDIS_CLUSTER_AUTO_PIPELINING",
      "The Redis Cluster client given to RedisStore has enableAutoPipelining on: when a slot moves, ioredis hands a batched " +
        "command's MOVED error back instead of following it, so session checks, logouts and refreshes fail until its slot map " +
        "is refreshed. Create the Cluster without enableAutoPipelining (it pays off for a standalone client).",
    );
  }
  const timeout = cluster ? options.redisOptions?.commandTimeout : options.commandTimeout;
  if (typeof timeout !== "number" || timeout <= 0) {
    warn(
      "SESSION_GUARD_REDIS_NO_COMMAND_TIMEOUT",
      "The Redis client given to RedisStore sets no commandTimeout: a paused or slow Redis can leave a request waiting. " +
        (cluster
          ? "Create the Cluster with { redisOptions: { commandTimeout: 1000 } }."
          : "Create the client with { commandTimeout: 1000 } (milliseconds)."),
    );
  }
}

/**
 * Asks Redis for its `maxmemory-policy` and warns when it can evict keys
 * that have a TTL (all of ours do). Never rejects: resolves to `true` when
 * Redis answered (with the policy, or with an error reply such as CONFIG
 * being disabled), `false` when the command failed without an answer (the
 * client was not ready, the connection dropped, a timeout), so it can be
 * sent again.
 */
function checkEvictionPolicy(client: Client): Promise<boolean> {
  let pending: Promise<unknown>;
  try {
    pending = (client as Redis).config("GET", "maxmemory-policy");
  } catch {
    return Promise.resolve(false);
  }
  return pending.then(
    (reply) => {
      const policy = Array.isArray(reply) ? reply[1] : undefined;
      if (typeof policy === "string" && policy !== "noeviction") {
        warn(
          "SESSION_GUARD_REDIS_EVICTION_POLICY",
          `Redis runs with maxmemory-policy ${policy}: under memory pressure it can evict live sessions (every session key has a TTL), ` +
            "logging users out, or drop an index so that a global logout misses sessions. Set maxmemory-policy to noeviction.",
        );
      }
      return true;
    },
    // ioredis rejects with a ReplyError when Redis answered with an error.
    (err: unknown) => err instanceof Error && err.name === "ReplyError",
  );
}
