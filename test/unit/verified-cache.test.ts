/**
 * The verified-token cache (`lib/tokens/verified-cache.ts`): a token checked
 * once skips the signature check on later requests, but never outside the
 * window the full check accepts, never for another string, and never for
 * its session's state.
 */
import { expect } from "chai";
import { MemoryStore, SessionError, sessionGuard, type Guard } from "../../lib/index.js";
import type { AccessClaims } from "../../lib/tokens/access.js";
import { VerifiedTokenCache } from "../../lib/tokens/verified-cache.js";
import { EPOCH, MINUTE, SECOND, fakeClock, type FakeClock } from "../support/clock.js";

const SECRET = "unit-secret-0123456789-abcdefghijklmnopqrstuvwxyz";

function claimsAt(iat: number, extra: Record<string, unknown> = {}): AccessClaims {
  return { sub: "alice", sid: "AbCdEfGhIjKlMnOpQrStUvWx", jti: "j", iat, exp: iat + 900, ...extra };
}

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  try {
    await promise;
  } catch (err) {
    expect(err).to.be.instanceOf(SessionError);
    expect((err as SessionError).code).to.equal(code);
    return;
  }
  expect.fail(`expected ${code}`);
}

describe("verified-token cache", () => {
  describe("VerifiedTokenCache", () => {
    it("answers only between iat − tolerance and exp + tolerance, and forgets a token outside", () => {
      const cache = new VerifiedTokenCache(30);
      const iat = EPOCH / 1000;
      const claims = cache.add("t", claimsAt(iat));
      expect(cache.get("t", EPOCH)).to.equal(claims);
      expect(cache.get("t", EPOCH - 30 * SECOND)).to.equal(claims);
      expect(cache.get("t", EPOCH + 930 * SECOND - 1)).to.equal(claims);
      expect(cache.get("t", EPOCH + 930 * SECOND)).to.equal(undefined);
      expect(cache.size).to.equal(0);
      cache.add("u", claimsAt(iat));
      expect(cache.get("u", EPOCH - 30 * SECOND - 1)).to.equal(undefined);
      expect(cache.size).to.equal(0);
    });

    it("rounds a fractional tolerance as jsonwebtoken does (whole-second clock)", () => {
      const cache = new VerifiedTokenCache(1.5);
      const iat = EPOCH / 1000;
      cache.add("t", claimsAt(iat));
      // jsonwebtoken: expired when floor(now / 1000) >= exp + 1.5, i.e. from exp + 2 s.
      expect(cache.get("t", EPOCH + 902 * SECOND - 1)).to.not.equal(undefined);
      expect(cache.get("t", EPOCH + 902 * SECOND)).to.equal(undefined);
    });

    it("hits only the exact string", () => {
      const cache = new VerifiedTokenCache(0);
      cache.add("abc.def.ghi", claimsAt(EPOCH / 1000));
      expect(cache.get("abc.def.ghj", EPOCH)).to.equal(undefined);
      expect(cache.get("abc.def.gh", EPOCH)).to.equal(undefined);
      expect(cache.get("abc.def.ghi", EPOCH)).to.not.equal(undefined);
    });

    it("holds at most its capacity, dropping the oldest first", () => {
      const cache = new VerifiedTokenCache(0, 2);
      for (const token of ["a", "b", "c"]) cache.add(token, claimsAt(EPOCH / 1000));
      expect(cache.size).to.equal(2);
      expect(cache.get("a", EPOCH)).to.equal(undefined);
      expect(cache.get("b", EPOCH)).to.not.equal(undefined);
      expect(cache.get("c", EPOCH)).to.not.equal(undefined);
    });

    it("a token added again takes one entry and one place in the first-in, first-out order", () => {
      const cache = new VerifiedTokenCache(0, 2);
      cache.add("a", claimsAt(EPOCH / 1000));
      cache.add("a", claimsAt(EPOCH / 1000));
      cache.add("b", claimsAt(EPOCH / 1000));
      expect(cache.size).to.equal(2);
      expect(cache.get("a", EPOCH)).to.not.equal(undefined);
      cache.add("c", claimsAt(EPOCH / 1000));
      expect(cache.get("a", EPOCH)).to.equal(undefined);
      expect(cache.get("b", EPOCH)).to.not.equal(undefined);
      expect(cache.get("c", EPOCH)).to.not.equal(undefined);
      expect(cache.size).to.equal(2);
    });

    it("freezes the claims deeply, and does not keep tokens with nbf or longer than any access token", () => {
      const cache = new VerifiedTokenCache(0);
      const claims = cache.add("t", claimsAt(EPOCH / 1000, { roles: ["user"], org: { id: 1 } }));
      expect(Object.isFrozen(claims)).to.equal(true);
      expect(() => (claims.roles as string[]).push("admin")).to.throw(TypeError);
      expect(() => {
        (claims.org as { id: number }).id = 2;
      }).to.throw(TypeError);
      cache.add("n", claimsAt(EPOCH / 1000, { nbf: EPOCH / 1000 }));
      expect(cache.get("n", EPOCH)).to.equal(undefined);
      const long = "x".repeat(8193);
      cache.add(long, claimsAt(EPOCH / 1000));
      expect(cache.get(long, EPOCH)).to.equal(undefined);
    });
  });

  describe("through the guard", () => {
    let clock: FakeClock;
    let guard: Guard;
    beforeEach(() => {
      clock = fakeClock();
      guard = sessionGuard({ store: new MemoryStore({ sweepInterval: 0 }), secret: SECRET, now: clock.now, accessTokenTtl: "15m" });
    });
    afterEach(() => guard.close());

    it("a token seen before gives the very same claims, and still expires on time", async () => {
      const { access_token } = await guard.sessions.create("alice", { claims: { roles: ["user"] } });
      const first = await guard.sessions.verify(access_token);
      const second = await guard.sessions.verify(access_token);
      expect(second.claims).to.equal(first.claims);
      expect(second.claims.roles).to.deep.equal(["user"]);
      clock.advance(15 * MINUTE + 30 * SECOND - 1);
      expect((await guard.sessions.verify(access_token)).userId).to.equal("alice");
      clock.advance(1);
      await rejectsWith(guard.sessions.verify(access_token), "token_expired");
    });

    it("a cached token of a revoked session is refused at once: only the signature is cached", async () => {
      const { access_token } = await guard.sessions.create("alice");
      const handle = await guard.sessions.verify(access_token);
      await handle.revoke();
      await rejectsWith(guard.sessions.verify(access_token), "session_inactive");
    });

    it("a tampered copy of a cached token is still refused", async () => {
      const { access_token } = await guard.sessions.create("alice");
      await guard.sessions.verify(access_token);
      const [header, payload, signature] = access_token.split(".");
      const forged = `${header}.${payload}.${signature.slice(0, -2)}${signature.endsWith("AA") ? "BB" : "AA"}`;
      await rejectsWith(guard.sessions.verify(forged), "token_invalid");
      const claims = JSON.parse(Buffer.from(payload, "base64url").toString());
      const other = Buffer.from(JSON.stringify({ ...claims, sub: "mallory" })).toString("base64url");
      await rejectsWith(guard.sessions.verify(`${header}.${other}.${signature}`), "token_invalid");
    });

    it("a route cannot change the claims the next request sees", async () => {
      const { access_token } = await guard.sessions.create("alice", { claims: { roles: ["user"] } });
      const handle = await guard.sessions.verify(access_token);
      expect(() => (handle.claims.roles as string[]).push("admin")).to.throw(TypeError);
      expect(() => {
        (handle.claims as Record<string, unknown>).sub = "root";
      }).to.throw(TypeError);
      expect((await guard.sessions.verify(access_token)).claims.roles).to.deep.equal(["user"]);
    });
  });
});
