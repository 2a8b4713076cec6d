/** Refresh tokens (`lib/tokens/refresh.ts`): format, strict parsing and the hash chain (SPEC 3.4, 3.8). */
import { expect } from "chai";
import { digest, formatRefreshToken, MAX_REFRESH_TOKEN_LENGTH, newRefreshSecret, nextSecret, parseRefreshToken } from "../../lib/tokens/refresh.js";

const SID = "AbCdEfGhIjKlMnOpQrStUvWx";

describe("refresh tokens", () => {
  it("format and parse round-trip any user id", () => {
    for (const userId of ["alice", "{a}:b c", "ü😀", "x".repeat(1024), "a.b.c"]) {
      const secret = newRefreshSecret();
      const token = formatRefreshToken(userId, SID, 7, secret);
      expect(token.split(".")).to.have.length(4);
      const parsed = parseRefreshToken(token)!;
      expect(parsed.userId).to.equal(userId);
      expect(parsed.sessionId).to.equal(SID);
      expect(parsed.generation).to.equal(7);
      expect(parsed.secret.equals(secret)).to.equal(true);
    }
  });

  it("secrets are 32 random bytes", () => {
    const a = newRefreshSecret();
    const b = newRefreshSecret();
    expect(a).to.have.length(32);
    expect(a.equals(b)).to.equal(false);
  });

  it("the successor is derived, deterministic and different", () => {
    const s0 = newRefreshSecret();
    const s1 = nextSecret(s0);
    expect(s1).to.have.length(32);
    expect(nextSecret(s0).equals(s1)).to.equal(true);
    expect(s1.equals(s0)).to.equal(false);
    expect(nextSecret(s1).equals(s1)).to.equal(false);
  });

  it("the digest binds user, session, generation and secret, and hides the token", () => {
    const s = newRefreshSecret();
    const base = digest("alice", SID, 0, s);
    expect(base).to.match(/^[A-Za-z0-9_-]{43}$/);
    expect(digest("alice", SID, 0, s)).to.equal(base);
    expect(digest("alicf", SID, 0, s)).to.not.equal(base);
    expect(digest("alice", SID.replace("A", "B"), 0, s)).to.not.equal(base);
    expect(digest("alice", SID, 1, s)).to.not.equal(base);
    expect(digest("alice", SID, 0, nextSecret(s))).to.not.equal(base);
    expect(formatRefreshToken("alice", SID, 0, s)).to.not.include(base);
    expect(base).to.not.include(s.toString("base64url"));
  });

  it("parsing rejects anything that cannot have been issued", () => {
    const secret = Buffer.alloc(32, 9).toString("base64url");
    const user = Buffer.from("alice").toString("base64url");
    const bad = [
      "",
      "a.b.c",
      `${user}.${SID}.0.${secret}.x`,
      `${user}.${SID}.01.${secret}`,
      `${user}.${SID}.-1.${secret}`,
      `${user}.${SID}.1e3.${secret}`,
      `${user}.${SID}.9999999999999999.${secret}`,
      `${user}.${SID}.0.${secret.slice(0, -1)}`,
      `${user}.${SID}.0.${secret}AA`,
      `${user}.${SID}.0.${secret.slice(0, -1)}B`, // non-canonical trailing bits
      `${user}.${SID}.0.${secret.replace(/./, "+")}`,
      `${user}=.${SID}.0.${secret}`,
      `.${SID}.0.${secret}`,
      `${user}..0.${secret}`,
      `${Buffer.from([0xff, 0xfe]).toString("base64url")}.${SID}.0.${secret}`, // not UTF-8
      `${"A".repeat(MAX_REFRESH_TOKEN_LENGTH)}.${SID}.0.${secret}`,
    ];
    for (const token of bad) expect(parseRefreshToken(token), token.slice(0, 60)).to.equal(null);
    expect(parseRefreshToken(`${user}.${SID}.0.${secret}`)).to.not.equal(null);
  });
});
