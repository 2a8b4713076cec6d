/**
 * Hand-built JWTs for attack tests: any header, any payload, any signature,
 * without the checks a JWT library would apply when signing.
 *
 * @module
 */
import { createHmac } from "node:crypto";

const b64 = (value: unknown) => Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");

/** `header.payload.` — the signing input and a trailing dot. */
export function unsigned(header: unknown, payload: unknown): string {
  return `${b64(header)}.${b64(payload)}`;
}

/** A token signed with HMAC-SHA-`bits` over the given key bytes, whatever the header claims. */
export function hmacToken(header: unknown, payload: unknown, key: string | Buffer, bits: 256 | 384 | 512 = 256): string {
  const input = unsigned(header, payload);
  return `${input}.${createHmac(`sha${bits}`, key).update(input).digest("base64url")}`;
}

/** A token with a literal signature part. */
export function rawToken(header: unknown, payload: unknown, signature: string): string {
  return `${unsigned(header, payload)}.${signature}`;
}
