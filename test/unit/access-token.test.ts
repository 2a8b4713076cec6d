/** Access tokens (`lib/tokens/access.ts`): signing and strict verification. */
import { generateKeyPairSync } from "node:crypto";
import { expect } from "chai";
import jwt from "jsonwebtoken";
import { SessionError } from "../../lib/index.js";
import { MAX_ACCESS_TOKEN_LENGTH, signAccessToken, verifyAccessToken, type AccessTokenConfig } from "../../lib/tokens/access.js";
import { resolveKeys, type JwtAlgorithm } from "../../lib/tokens/keys.js";
import { EPOCH, MINUTE, SECOND } from "../support/clock.js";

const SECRET = "unit-secret-0123456789-abcdefghijklmnopqrstuvwxyz";
const SID = "AbCdEfGhIjKlMnOpQrStUvWx";

function hsConfig(extra: Partial<AccessTokenConfig> = {}): AccessTokenConfig {
  return {
    keys: resolveKeys({ algorithm: "HS256", secret: SECRET }),
    issuer: undefined,
    audience: undefined,
    clockTolerance: 30,
    ttl: 15 * MINUTE,
    ...extra,
  };
}

function sign(config: AccessTokenConfig, now = EPOCH, notAfter: number | null = null, claims: Record<string, unknown> = {}) {
  return signAccessToken(config, { userId: "alice", sessionId: SID, claims, now, notAfter });
}

function rejects(fn: () => unknown, code: string): void {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(SessionError);
    expect((err as SessionError).code).to.equal(code);
    return;
  }
  expect.fail(`expected ${code}`);
}

describe("access tokens", () => {
  it("sign and verify round-trip, with typ at+jwt, a jti, iat and exp", () => {
    const config = hsConfig();
    const { token, expiresAt } = sign(config, EPOCH, null, { role: "admin" });
    expect(expiresAt).to.equal(EPOCH + 15 * MINUTE);
    const decoded = jwt.decode(token, { complete: true })!;
    expect(decoded.header).to.deep.equal({ alg: "HS256", typ: "at+jwt" });
    const claims = verifyAccessToken(config, token, EPOCH);
    expect(claims).to.include({ sub: "alice", sid: SID, role: "admin", iat: EPOCH / 1000, exp: EPOCH / 1000 + 900 });
    expect(claims.jti).to.match(/^[A-Za-z0-9_-]{22}$/);
    expect(verifyAccessToken(config, sign(config).token, EPOCH).jti).to.not.equal(claims.jti);
  });

  it("custom claims cannot override reserved ones", () => {
    const config = hsConfig({ issuer: "https://i.example" });
    const { token } = sign(config, EPOCH, null, {
      sub: "root",
      sid: "x",
      exp: 9_999_999_999,
      iat: 1,
      nbf: 1,
      iss: "evil",
      aud: "evil",
      jti: "x",
      tier: 2,
    });
    const claims = verifyAccessToken(config, token, EPOCH);
    expect(claims).to.include({ sub: "alice", sid: SID, iss: "https://i.example", tier: 2, exp: EPOCH / 1000 + 900 });
    expect(claims).to.not.have.property("nbf");
    expect(claims).to.not.have.property("aud");
    expect(claims.jti).to.not.equal("x");
  });

  it("exp never passes the session's absolute deadline", () => {
    const config = hsConfig();
    expect(sign(config, EPOCH, EPOCH + 5 * MINUTE).expiresAt).to.equal(EPOCH + 5 * MINUTE);
    expect(sign(config, EPOCH, EPOCH + 5 * MINUTE + 999).expiresAt).to.equal(EPOCH + 5 * MINUTE);
    expect(sign(config, EPOCH, EPOCH + 20 * MINUTE).expiresAt).to.equal(EPOCH + 15 * MINUTE);
  });

  it("an expired token is token_expired, within clockTolerance it passes", () => {
    const config = hsConfig();
    const { token } = sign(config);
    expect(verifyAccessToken(config, token, EPOCH + 15 * MINUTE + 29 * SECOND).sub).to.equal("alice");
    rejects(() => verifyAccessToken(config, token, EPOCH + 15 * MINUTE + 31 * SECOND), "token_expired");
    rejects(() => verifyAccessToken(hsConfig({ clockTolerance: 0 }), token, EPOCH + 15 * MINUTE + SECOND), "token_expired");
  });

  it("iat in the future beyond the tolerance is token_invalid", () => {
    const config = hsConfig();
    const { token } = sign(config, EPOCH + MINUTE);
    expect(verifyAccessToken(config, token, EPOCH + 31 * SECOND).sub).to.equal("alice");
    rejects(() => verifyAccessToken(config, token, EPOCH), "token_invalid");
  });

  it("a token signed under a longer ttl fails a guard with a shorter one", () => {
    const { token } = sign(hsConfig({ ttl: 60 * MINUTE }));
    rejects(() => verifyAccessToken(hsConfig(), token, EPOCH), "token_invalid");
  });

  it("issuer and audience are required when configured", () => {
    const strict = hsConfig({ issuer: "https://i.example", audience: ["api", "web"] });
    const { token } = sign(strict);
    expect(verifyAccessToken(strict, token, EPOCH).aud).to.deep.equal(["api", "web"]);
    rejects(() => verifyAccessToken(strict, sign(hsConfig()).token, EPOCH), "token_invalid");
    rejects(() => verifyAccessToken(hsConfig({ audience: "other" }), token, EPOCH), "token_invalid");
  });

  it("the size is capped before parsing", () => {
    const config = hsConfig();
    rejects(() => verifyAccessToken(config, "a".repeat(MAX_ACCESS_TOKEN_LENGTH + 1), EPOCH), "token_invalid");
    const big = sign(config, EPOCH, null, { pad: "x".repeat(MAX_ACCESS_TOKEN_LENGTH) }).token;
    rejects(() => verifyAccessToken(config, big, EPOCH), "token_invalid");
    expect(MAX_ACCESS_TOKEN_LENGTH).to.equal(8192);
  });

  it("typ is matched without regard to case, and application/at+jwt is accepted", () => {
    const config = hsConfig();
    const payload = { sub: "alice", sid: SID, jti: "j", iat: EPOCH / 1000, exp: EPOCH / 1000 + 60 };
    for (const typ of ["AT+JWT", "application/at+jwt", "Application/AT+JWT"]) {
      const token = jwt.sign(payload, SECRET, { algorithm: "HS256", header: { alg: "HS256", typ } });
      expect(verifyAccessToken(config, token, EPOCH).sub, typ).to.equal("alice");
    }
    for (const typ of ["JWT", "at+jwt2", ""]) {
      const token = jwt.sign(payload, SECRET, { algorithm: "HS256", header: { alg: "HS256", typ } });
      rejects(() => verifyAccessToken(config, token, EPOCH), "token_invalid");
    }
  });

  for (const [algorithm, pair] of [
    ["RS256", () => generateKeyPairSync("rsa", { modulusLength: 2048 })],
    ["PS256", () => generateKeyPairSync("rsa", { modulusLength: 2048 })],
    ["ES256", () => generateKeyPairSync("ec", { namedCurve: "P-256" })],
    ["ES384", () => generateKeyPairSync("ec", { namedCurve: "P-384" })],
    ["ES512", () => generateKeyPairSync("ec", { namedCurve: "P-521" })],
  ] as const) {
    it(`${algorithm}: signs with the private key, verifies with the public one, pinned`, () => {
      const { privateKey, publicKey } = pair();
      const config = hsConfig({ keys: resolveKeys({ algorithm: algorithm as JwtAlgorithm, privateKey, keyId: "main" }) });
      const { token } = sign(config);
      expect(jwt.decode(token, { complete: true })!.header).to.deep.equal({ alg: algorithm, typ: "at+jwt", kid: "main" });
      expect(verifyAccessToken(config, token, EPOCH).sub).to.equal("alice");
      const verifyOnly = hsConfig({ keys: resolveKeys({ algorithm: algorithm as JwtAlgorithm, privateKey, publicKey, keyId: "main" }) });
      expect(verifyAccessToken(verifyOnly, token, EPOCH).sid).to.equal(SID);
      // A token of the HS key with the same claims is refused by the asymmetric key.
      rejects(() => verifyAccessToken(config, sign(hsConfig()).token, EPOCH), "token_invalid");
    });
  }

  it("a retired key verifies only under its kid, with its own algorithm", () => {
    const oldKeys = resolveKeys({ algorithm: "HS512", secret: "old".repeat(20), keyId: "k1" });
    const old = sign(hsConfig({ keys: oldKeys })).token;
    const current = hsConfig({
      keys: resolveKeys({
        algorithm: "HS256",
        secret: SECRET,
        keyId: "k2",
        verifyKeys: [{ kid: "k1", key: "old".repeat(20), algorithm: "HS512" }],
      }),
    });
    expect(verifyAccessToken(current, old, EPOCH).sub).to.equal("alice");
    expect(verifyAccessToken(current, sign(current).token, EPOCH).sub).to.equal("alice");
    const withoutRotation = hsConfig({ keys: resolveKeys({ algorithm: "HS256", secret: SECRET, keyId: "k2" }) });
    rejects(() => verifyAccessToken(withoutRotation, old, EPOCH), "token_invalid");
  });
});
