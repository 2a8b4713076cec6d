/**
 * JWT keys: resolved once, at construction, into `KeyObject`s with one pinned
 * algorithm each, so verification never parses a key or trusts the token's
 * `alg` to choose one.
 *
 * @module
 */
import { createPrivateKey, createPublicKey, createSecretKey, hkdfSync, KeyObject } from "node:crypto";
import { describe } from "../duration.js";

/**
 * A JWT algorithm session-guard signs and verifies with: HMAC (`HS*`), RSA
 * (`RS256`, `PS256`) or ECDSA (`ES*`). Never `none`.
 *
 * @example
 * ```ts
 * const algorithm: JwtAlgorithm = "ES256";
 * sessionGuard({ store, jwt: { algorithm, privateKey: process.env.JWT_PRIVATE_KEY!, keyId: "2026-12" } });
 * ```
 */
export type JwtAlgorithm = "HS256" | "HS384" | "HS512" | "RS256" | "PS256" | "ES256" | "ES384" | "ES512";

/** Every {@link JwtAlgorithm}, for validating options. */
export const ALGORITHMS: readonly JwtAlgorithm[] = ["HS256", "HS384", "HS512", "RS256", "PS256", "ES256", "ES384", "ES512"];

/**
 * Key material: a PEM/secret string, a Buffer, or a `KeyObject`.
 *
 * @example
 * ```ts
 * import { createPrivateKey } from "node:crypto";
 * const privateKey: KeyInput = createPrivateKey(process.env.JWT_PRIVATE_KEY!);
 * sessionGuard({ store, jwt: { algorithm: "ES256", privateKey } });
 * ```
 */
export type KeyInput = string | Buffer | KeyObject;

/**
 * A retired (or extra) key that still verifies tokens carrying its `kid`.
 *
 * @example
 * ```ts
 * // Rotating keys: sign with the new one, accept the old one until its tokens have expired.
 * sessionGuard({
 *   store,
 *   jwt: {
 *     algorithm: "ES256",
 *     privateKey: process.env.JWT_KEY_2026_12!,
 *     keyId: "2026-12",
 *     verifyKeys: [{ kid: "2026-06", key: process.env.JWT_PUBLIC_KEY_2026_06!, algorithm: "ES256" }],
 *   },
 * });
 * ```
 */
export interface VerifyKey {
  kid: string;
  /** HMAC secret (≥ 32 bytes) for HS algorithms, a public key otherwise. */
  key: KeyInput;
  algorithm: JwtAlgorithm;
}

/** A key with its pinned algorithm. */
export interface PinnedKey {
  key: KeyObject;
  algorithms: [JwtAlgorithm];
}

/** The resolved keys: one to sign with, a lookup to verify with. */
export interface KeyRing {
  signing: { key: KeyObject; algorithm: JwtAlgorithm; kid: string | undefined };
  /** Key for tokens without a `kid` (the signing key's public half or secret). */
  defaultKey: PinnedKey;
  /** Keys by `kid`: only these are ever looked up. */
  byKid: Map<string, PinnedKey>;
}

const EC_CURVES: Record<string, string> = { ES256: "prime256v1", ES384: "secp384r1", ES512: "secp521r1" };

/** The raw key options, as `jwt` gives them. */
export interface KeyOptions {
  algorithm: JwtAlgorithm;
  secret?: string | Buffer;
  privateKey?: KeyInput;
  publicKey?: KeyInput;
  keyId?: string;
  verifyKeys?: VerifyKey[];
}

/** Builds the key ring, throwing a `TypeError` naming the option at fault. */
export function resolveKeys(options: KeyOptions): KeyRing {
  const { algorithm } = options;
  if (!(ALGORITHMS as readonly string[]).includes(algorithm)) {
    throw new TypeError(`session-guard: \`jwt.algorithm\` must be one of ${ALGORITHMS.join(", ")} (got ${describe(algorithm)})`);
  }
  if (options.keyId !== undefined && (typeof options.keyId !== "string" || options.keyId === "")) {
    throw new TypeError("session-guard: `jwt.keyId` must be a non-empty string");
  }
  let signingKey: KeyObject;
  let verifyKey: KeyObject;
  if (algorithm.startsWith("HS")) {
    if (options.privateKey !== undefined || options.publicKey !== undefined) {
      throw new TypeError(`session-guard: \`jwt.privateKey\`/\`jwt.publicKey\` do not go with ${algorithm}; give \`secret\``);
    }
    signingKey = verifyKey = secretKey("secret", options.secret);
  } else {
    if (options.secret !== undefined) {
      throw new TypeError(
        `session-guard: \`secret\` does not go with ${algorithm}; give \`jwt.privateKey\` (and optionally \`jwt.publicKey\`)`,
      );
    }
    if (options.privateKey === undefined) {
      throw new TypeError(`session-guard: \`jwt.privateKey\` is required for ${algorithm}`);
    }
    signingKey = asymmetricKey("jwt.privateKey", options.privateKey, algorithm, "private");
    verifyKey =
      options.publicKey === undefined
        ? createPublicKey(signingKey)
        : asymmetricKey("jwt.publicKey", options.publicKey, algorithm, "public");
  }
  const defaultKey: PinnedKey = { key: verifyKey, algorithms: [algorithm] };
  const byKid = new Map<string, PinnedKey>();
  if (options.keyId !== undefined) byKid.set(options.keyId, defaultKey);

  const extra = options.verifyKeys ?? [];
  if (!Array.isArray(extra)) throw new TypeError("session-guard: `jwt.verifyKeys` must be an array of { kid, key, algorithm }");
  extra.forEach((entry, i) => {
    const name = `jwt.verifyKeys[${i}]`;
    if (typeof entry !== "object" || entry === null) throw new TypeError(`session-guard: \`${name}\` must be { kid, key, algorithm }`);
    if (typeof entry.kid !== "string" || entry.kid === "") throw new TypeError(`session-guard: \`${name}.kid\` must be a non-empty string`);
    if (byKid.has(entry.kid)) throw new TypeError(`session-guard: \`${name}.kid\` "${entry.kid}" is used twice`);
    if (!(ALGORITHMS as readonly string[]).includes(entry.algorithm)) {
      throw new TypeError(`session-guard: \`${name}.algorithm\` must be one of ${ALGORITHMS.join(", ")}`);
    }
    const key = entry.algorithm.startsWith("HS")
      ? secretKey(`${name}.key`, entry.key)
      : asymmetricKey(`${name}.key`, entry.key, entry.algorithm, "public");
    byKid.set(entry.kid, { key, algorithms: [entry.algorithm] });
  });
  return { signing: { key: signingKey, algorithm, kid: options.keyId }, defaultKey, byKid };
}

function secretKey(name: string, value: unknown): KeyObject {
  if (value instanceof KeyObject) {
    if (value.type !== "secret") throw new TypeError(`session-guard: \`${name}\` must be a secret key for an HS algorithm`);
    if ((value.symmetricKeySize ?? 0) < 32) throw new TypeError(`session-guard: \`${name}\` must be at least 32 bytes`);
    return value;
  }
  if (typeof value !== "string" && !Buffer.isBuffer(value)) {
    throw new TypeError(
      `session-guard: \`${name}\` must be a string or Buffer of at least 32 bytes (got ${value === undefined ? "nothing" : describe(value)})`,
    );
  }
  const bytes = typeof value === "string" ? Buffer.from(value, "utf8") : value;
  if (bytes.length < 32) {
    throw new TypeError(
      `session-guard: \`${name}\` must be at least 32 bytes (got ${bytes.length}); generate one with \`openssl rand -base64 48\``,
    );
  }
  return createSecretKey(bytes);
}

function asymmetricKey(name: string, value: unknown, algorithm: JwtAlgorithm, kind: "private" | "public"): KeyObject {
  let key: KeyObject;
  try {
    if (value instanceof KeyObject) key = value.type === "private" && kind === "public" ? createPublicKey(value) : value;
    else if (typeof value === "string" || Buffer.isBuffer(value))
      key = kind === "private" ? createPrivateKey(value) : createPublicKey(value);
    else throw new Error("not a key");
  } catch {
    throw new TypeError(`session-guard: \`${name}\` must be a PEM string, Buffer or KeyObject holding a ${kind} key for ${algorithm}`);
  }
  if (key.type !== kind) throw new TypeError(`session-guard: \`${name}\` must be a ${kind} key`);
  const type = key.asymmetricKeyType;
  const fits = algorithm.startsWith("ES")
    ? type === "ec" && key.asymmetricKeyDetails?.namedCurve === EC_CURVES[algorithm]
    : algorithm === "PS256"
      ? type === "rsa" || type === "rsa-pss"
      : type === "rsa";
  if (!fits) throw new TypeError(`session-guard: \`${name}\` is a ${type} key, which does not fit ${algorithm}`);
  if ((type === "rsa" || type === "rsa-pss") && (key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) {
    throw new TypeError(`session-guard: \`${name}\` must be an RSA key of at least 2048 bits`);
  }
  return key;
}

/**
 * The key that signs refresh tokens: `refreshSecret` when given (so refresh
 * tokens outlive a rotation of the JWT keys), otherwise derived with HKDF
 * from the JWT signing key, so that nothing more needs configuring.
 */
export function resolveRefreshKey(keys: KeyRing, refreshSecret: unknown): { key: KeyObject; derived: boolean } {
  if (refreshSecret !== undefined) return { key: secretKey("refreshSecret", refreshSecret), derived: false };
  const signing = keys.signing.key;
  const material = signing.type === "secret" ? signing.export() : signing.export({ format: "der", type: "pkcs8" });
  const derived = Buffer.from(hkdfSync("sha256", material, Buffer.alloc(0), "session-guard refresh-token key v1", 32));
  return { key: createSecretKey(derived), derived: true };
}
