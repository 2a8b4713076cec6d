/**
 * Options are validated once, at construction: every mistake
 * throws a `TypeError` naming the option, and defaults resolve as documented.
 */
import { generateKeyPairSync } from "node:crypto";
import { expect } from "chai";
import { MemoryStore, sessionGuard, type SessionGuardOptions } from "../../lib/index.js";
import { guardInternals } from "../../lib/http/guard.js";

const SECRET = "unit-secret-0123456789-abcdefghijklmnopqrstuvwxyz";

function build(options: Record<string, unknown>) {
  return sessionGuard({ store: new MemoryStore({ sweepInterval: 0 }), secret: SECRET, ...options } as SessionGuardOptions);
}

function config(options: Record<string, unknown> = {}) {
  return guardInternals(build(options))!.config;
}

/** Asserts a TypeError whose message matches `pattern`. */
function throwsNaming(options: Record<string, unknown>, pattern: RegExp): void {
  expect(() => build(options)).to.throw(TypeError, pattern);
}

describe("sessionGuard options", () => {
  describe("rejects, naming the option", () => {
    it("a secret shorter than 32 bytes, without echoing it", () => {
      try {
        build({ secret: "short-but-secret-value" });
        expect.fail("did not throw");
      } catch (err) {
        expect(err).to.be.instanceOf(TypeError);
        expect((err as Error).message).to.match(/`secret`.*32 bytes/);
        expect((err as Error).message).to.not.include("short-but-secret-value");
      }
      throwsNaming({ secret: Buffer.alloc(31) }, /`secret`/);
      // 31 UTF-8 bytes although 11 characters would look short or long either way
      throwsNaming({ secret: "€".repeat(10) + "a" }, /`secret`.*32 bytes/);
      expect(() => build({ secret: "€".repeat(11) })).to.not.throw();
    });

    it("a missing secret", () => {
      expect(() => sessionGuard({ store: new MemoryStore({ sweepInterval: 0 }) })).to.throw(TypeError, /`secret`/);
    });

    it("a non-string secret", () => {
      throwsNaming({ secret: 1e34 }, /`secret`/);
    });

    it("an unknown option, with a did-you-mean when one is close", () => {
      throwsNaming({ accessTokenTTL: "5m" }, /unknown option `accessTokenTTL` \(did you mean `accessTokenTtl`\?\)/);
      throwsNaming({ secrets: "x" }, /unknown option `secrets` \(did you mean `secret`\?\)/);
      throwsNaming({ transports: "header" }, /did you mean `transport`/);
      throwsNaming({ frobnicate: true }, /unknown option `frobnicate`/);
      throwsNaming({ jwt: { algorithms: ["HS256"] } }, /unknown option `jwt.algorithms` \(did you mean `jwt.algorithm`\?\)/);
      throwsNaming({ cookie: { SameSite: "lax" } }, /unknown option `cookie.SameSite` \(did you mean `cookie.sameSite`\?\)/);
      throwsNaming({ rememberMe: { lifetime: "1d" } }, /unknown option `rememberMe.lifetime`/);
    });

    it("an idle timeout longer than the lifetime", () => {
      throwsNaming({ idleTimeout: "31d" }, /`idleTimeout`.*`absoluteLifetime`/);
      throwsNaming({ rememberMe: { idleTimeout: "400d" } }, /`rememberMe.idleTimeout`.*`rememberMe.absoluteLifetime`/);
      expect(() => build({ idleTimeout: "31d", absoluteLifetime: null })).to.not.throw();
    });

    it("a touchInterval not shorter than the idle timeout", () => {
      throwsNaming({ idleTimeout: "10m", touchInterval: "10m" }, /`touchInterval`/);
      throwsNaming({ idleTimeout: "10m", touchInterval: "11m" }, /`touchInterval`/);
      throwsNaming({ rememberMe: { idleTimeout: "1m", absoluteLifetime: null }, touchInterval: "2m" }, /`touchInterval`/);
      expect(() => build({ idleTimeout: "10m", touchInterval: "9m" })).to.not.throw();
    });

    it("a bad transport", () => {
      throwsNaming({ transport: "query" }, /`transport`/);
      throwsNaming({ transport: "Header" }, /`transport`/);
    });

    it("both `secret` and `jwt.secret`", () => {
      throwsNaming({ jwt: { secret: SECRET } }, /`secret`.*`jwt.secret`/);
      expect(() => sessionGuard({ jwt: { secret: SECRET } })).to.not.throw();
      expect(() => build({ jwt: { issuer: "https://i.example", audience: "api" } })).to.not.throw();
    });

    for (const name of ["accessTokenTtl", "idleTimeout", "absoluteLifetime", "touchInterval", "refreshReuseWindow", "storeTimeout"]) {
      it(`a bad duration for ${name}`, () => {
        for (const value of ["abc", "", "  ", 0, -5, Number.NaN, Number.POSITIVE_INFINITY, {}, true, "-1m"]) {
          throwsNaming({ [name]: value }, new RegExp(`\`${name}\``));
        }
        // Past 1,000 years a deadline would stop being an exact integer in Redis's Lua.
        for (const value of ["1001y", "300000y", 2 ** 53])
          throwsNaming({ [name]: value }, new RegExp(`\`${name}\` must be at most 1000 years`));
      });
    }

    it("a bad jwt.clockTolerance", () => {
      throwsNaming({ jwt: { clockTolerance: "soon" } }, /`jwt.clockTolerance`/);
      throwsNaming({ jwt: { clockTolerance: -1 } }, /`jwt.clockTolerance`/);
    });

    // null is a wrong type for a duration that has no "never" (a wrong type throws);
    // it must not silently become the default.
    for (const name of ["accessTokenTtl", "touchInterval", "refreshReuseWindow", "storeTimeout"]) {
      it(`null for ${name}, which cannot be switched off`, () => {
        throwsNaming({ [name]: null }, new RegExp(`\`${name}\``));
      });
    }

    it("a bad maxSessionsPerUser", () => {
      for (const value of [0, -1, 1.5, "5", Number.NaN]) throwsNaming({ maxSessionsPerUser: value }, /`maxSessionsPerUser`/);
    });

    it("bad JWT settings", () => {
      throwsNaming({ secret: undefined, jwt: { algorithm: "none", secret: SECRET } }, /`jwt.algorithm`/);
      throwsNaming({ secret: undefined, jwt: { algorithm: "RS256" } }, /`jwt.privateKey`/);
      throwsNaming({ jwt: { algorithm: "RS256" } }, /`secret`/);
      const small = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey;
      throwsNaming({ secret: undefined, jwt: { algorithm: "RS256", privateKey: small } }, /`jwt.privateKey`.*2048/);
      const p256 = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
      throwsNaming({ secret: undefined, jwt: { algorithm: "ES384", privateKey: p256 } }, /`jwt.privateKey`/);
      throwsNaming({ secret: undefined, jwt: { algorithm: "RS256", privateKey: "not a pem" } }, /`jwt.privateKey`/);
      throwsNaming({ jwt: { issuer: "" } }, /`jwt.issuer`/);
      throwsNaming({ jwt: { audience: [] } }, /`jwt.audience`/);
      throwsNaming({ jwt: { keyId: "" } }, /`jwt.keyId`/);
      throwsNaming({ jwt: { keyId: "a", verifyKeys: [{ kid: "a", key: SECRET, algorithm: "HS256" }] } }, /`jwt.verifyKeys\[0\].kid`/);
      throwsNaming({ jwt: { verifyKeys: [{ kid: "a", key: "short", algorithm: "HS256" }] } }, /`jwt.verifyKeys\[0\].key`/);
      throwsNaming({ jwt: { verifyKeys: [{ kid: "a", key: SECRET, algorithm: "none" }] } }, /`jwt.verifyKeys\[0\].algorithm`/);
      throwsNaming({ jwt: { verifyKeys: "k1" } }, /`jwt.verifyKeys`/);
      throwsNaming({ jwt: "HS256" }, /`jwt`/);
    });

    it("bad cookie, CSRF and request settings", () => {
      throwsNaming({ cookie: { secure: false, sameSite: "none" } }, /`cookie.sameSite/);
      throwsNaming({ cookie: { sameSite: "Strict" } }, /`cookie.sameSite`/);
      throwsNaming({ cookie: { secure: "yes" } }, /`cookie.secure`/);
      throwsNaming({ cookie: { accessName: "__Host-x" } }, /`cookie.accessName`/);
      throwsNaming({ cookie: { refreshName: "a b" } }, /`cookie.refreshName`/);
      throwsNaming({ cookie: { accessName: "same", refreshName: "same" } }, /`cookie.accessName`/);
      throwsNaming({ cookie: { domain: "exa mple.com" } }, /`cookie.domain`/);
      throwsNaming({ trustedOrigins: "https://app.example" }, /`trustedOrigins`/);
      throwsNaming({ trustedOrigins: ["https://app.example/"] }, /`trustedOrigins`/);
      throwsNaming({ trustedOrigins: ["app.example"] }, /`trustedOrigins`/);
      throwsNaming({ csrfHeader: "x csrf" }, /`csrfHeader`/);
      throwsNaming({ requestProperty: "a-b" }, /`requestProperty`/);
      throwsNaming({ requestProperty: "__proto__" }, /`requestProperty`/);
      throwsNaming({ onStoreError: "ignore" }, /`onStoreError`/);
      throwsNaming({ allowRememberMe: "yes" }, /`allowRememberMe`/);
      for (const name of ["getToken", "onError", "now"]) throwsNaming({ [name]: "x" }, new RegExp(`\`${name}\``));
      throwsNaming({ store: {} }, /`store`/);
      throwsNaming({ store: null }, /`store`/);
    });

    it("options that are not an object", () => {
      expect(() => sessionGuard(undefined as never)).to.throw(TypeError, /options/);
      expect(() => sessionGuard([] as never)).to.throw(TypeError, /options/);
    });

    it("app.use(sessionGuard) written without the call", () => {
      const asMiddleware = sessionGuard as unknown as (req: unknown, res: unknown, next: () => void) => void;
      expect(() => asMiddleware({}, {}, () => {})).to.throw(TypeError, /app\.use\(sessionGuard\(\{/);
    });
  });

  describe("resolves defaults", () => {
    it("as documented", () => {
      const c = config();
      expect(c.accessTokenTtl).to.equal(15 * 60_000);
      expect(c.standard).to.deep.equal({ idleTimeout: 86_400_000, absoluteLifetime: 30 * 86_400_000 });
      expect(c.remembered).to.deep.equal({ idleTimeout: 30 * 86_400_000, absoluteLifetime: 365 * 86_400_000 });
      expect(c.allowRememberMe).to.equal(true);
      expect(c.touchInterval).to.equal(60_000);
      expect(c.refreshReuseWindow).to.equal(10_000);
      expect(c.maxSessionsPerUser).to.equal(100);
      expect(c.transport).to.equal("header");
      expect(c.cookie).to.deep.equal({
        accessName: "__Host-sg-access",
        refreshName: "__Secure-sg-refresh",
        secure: true,
        sameSite: "strict",
        domain: undefined,
      });
      expect([...c.trustedOrigins]).to.deep.equal([]);
      expect(c.csrfHeader).to.equal("x-requested-with");
      expect(c.requestProperty).to.equal("session");
      expect(c.storeTimeout).to.equal(1000);
      expect(c.onStoreError).to.equal("deny");
      expect(c.clockTolerance).to.equal(30);
      expect(c.now).to.equal(Date.now);
      expect(Object.isFrozen(c)).to.equal(true);
    });

    it("touchInterval: idleTimeout/10 when smaller than a minute, a minute without idle timeouts", () => {
      expect(config({ idleTimeout: "5m" }).touchInterval).to.equal(30_000);
      expect(config({ rememberMe: { idleTimeout: "2m", absoluteLifetime: "1d" } }).touchInterval).to.equal(12_000);
      expect(config({ idleTimeout: null, rememberMe: { idleTimeout: null, absoluteLifetime: null } }).touchInterval).to.equal(60_000);
    });

    it("0 and null mean what they say", () => {
      expect(config({ maxSessionsPerUser: null }).maxSessionsPerUser).to.equal(null);
      expect(config({ jwt: { clockTolerance: 0 } }).clockTolerance).to.equal(0);
      expect(config({ idleTimeout: null, absoluteLifetime: null }).standard).to.deep.equal({ idleTimeout: null, absoluteLifetime: null });
    });

    it("does not mutate the options it was given", () => {
      const options = {
        store: new MemoryStore({ sweepInterval: 0 }),
        secret: SECRET,
        jwt: { issuer: "https://i.example" },
        cookie: { secure: false },
      };
      const copy = JSON.stringify({ ...options, store: undefined });
      sessionGuard(options);
      expect(JSON.stringify({ ...options, store: undefined })).to.equal(copy);
    });
  });
});
