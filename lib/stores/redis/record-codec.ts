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
 * here on create ({@link pack}) and by `rotate-2.lua`; read whole only here
 * ({@link unpack}). `check-2.lua` answers only the head's first five fields
 * and the data ({@link unpackChecked}). `test/store/record-vectors.ts` holds
 * golden records that this codec and the scripts must both read alike.
 *
 * @module
 */
import type { SessionRecord } from "../store.js";

const FORMAT = "2";
/** Characters of `lu`: every epoch ms until the year 5188 (as `LU_WIDTH` in the scripts). */
const LU_WIDTH = 9;
/** `|` fields before the text: the version and 13 head fields. */
const HEAD_FIELDS = 14;
const BAR = 0x7c;

/**
 * Characters of a base64url SHA-256 refresh digest kept in Redis: the first
 * 22 (132 bits). Matching a 132-bit prefix of SHA-256 without the token is
 * as infeasible as matching all of it, and it saves 42 bytes per record
 * after its first rotation (two digests of 22 characters instead of 43).
 */
export const DIGEST_CHARS = 22;

/** The part of a refresh digest a record keeps (see {@link DIGEST_CHARS}). */
export function storedDigest(digest: string): string {
  return digest.slice(0, DIGEST_CHARS);
}

/** The error for a record this version cannot read. */
function unreadable(): Error {
  return new Error("RedisStore: a session record in Redis is not in a format this version reads");
}

/** Packs a new record at refresh generation 0 with the stored digest of its first refresh token. */
export function pack(r: SessionRecord, digest: string): string {
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

/** Parses a packed record, as Redis returned it, into a {@link SessionRecord}. */
export function unpack(value: Buffer, id: string, userId: string): SessionRecord {
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
    !isDuration(idleTimeout) ||
    !isDuration(absoluteLifetime)
  ) {
    throw unreadable();
  }
  const text = (n: number): string => value.toString("utf8", at, (at += lengths[n]!));
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

/** Where the field starting at `from` ends: the index of the next `|`, or the length. */
function fieldEnd(text: Buffer, from: number): number {
  const bar = text.indexOf(BAR, from);
  return bar === -1 ? text.length : bar;
}

/**
 * The base-36 number in `text[from, end)`: `null` when empty, `NaN` when it
 * holds anything but `[0-9a-z]`. Makes no string.
 */
function base36Between(text: Buffer, from: number, end: number): number | null {
  if (from === end) return null;
  let n = 0;
  for (let i = from; i < end; i++) {
    const c = text[i]!;
    const digit = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x7a ? c - 0x57 : NaN;
    n = n * 36 + digit;
  }
  return n;
}

function isTime(n: number | null): n is number {
  return n !== null && Number.isSafeInteger(n);
}

function isDuration(n: number | null): boolean {
  return n === null || isTime(n);
}

/**
 * Parses check-2.lua's reply (see its header), `lu|ca|it|al|rm|<data>` or
 * `[lu|ca|it|al|rm, <data>]`: the numbers are read from the bytes, and the
 * data is decoded from UTF-8 only when the record's `data` is first read.
 * The claims, IP and user agent are not in the reply and come back `""`.
 */
export function unpackChecked(reply: Buffer | [Buffer, Buffer], id: string, userId: string): SessionRecord {
  const apart = Array.isArray(reply);
  const head = apart ? reply[0] : reply;
  // Five fields, each ending where the next begins; positions are returned, never kept.
  const luEnd = fieldEnd(head, 0);
  const caEnd = fieldEnd(head, luEnd + 1);
  const itEnd = fieldEnd(head, caEnd + 1);
  const alEnd = fieldEnd(head, itEnd + 1);
  const rmEnd = fieldEnd(head, alEnd + 1);
  const lastUsedAt = base36Between(head, 0, luEnd);
  const createdAt = base36Between(head, luEnd + 1, caEnd);
  const idleTimeout = base36Between(head, caEnd + 1, itEnd);
  const absoluteLifetime = base36Between(head, itEnd + 1, alEnd);
  const rememberMe = base36Between(head, alEnd + 1, rmEnd);
  // The head ends the reply, or a `|` before the data follows it.
  const ended = apart ? rmEnd === head.length : rmEnd < head.length;
  if (
    !ended ||
    !isTime(lastUsedAt) ||
    !isTime(createdAt) ||
    !isDuration(idleTimeout) ||
    !isDuration(absoluteLifetime) ||
    (rememberMe !== 0 && rememberMe !== 1)
  ) {
    throw unreadable();
  }
  const data = apart ? reply[1] : head;
  const from = apart ? 0 : rmEnd + 1;
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
