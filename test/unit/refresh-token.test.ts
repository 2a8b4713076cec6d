/** Refresh tokens (`lib/tokens/refresh.ts`): format, strict parsing, the MAC and digests. */
import { createSecretKey, randomBytes } from "node:crypto";
import { expect } from "chai";
import {
  digest,
  isGenuine,
  issueRefreshToken,
  MAX_REFRESH_TOKEN_LENGTH,
  newRefreshSeed,
  parseRefreshToken,
} from "../../lib/tokens/refresh.js";

const SID = "AbCdEfGhIjKlMnOpQrStUvWx";
const KEY = createSecretKey(Buffer.alloc(32, 7));
const OTHER_KEY = createSecretKey(Buffer.alloc(32, 8));

describe("refresh tokens", () => {
  it("issue and parse round-trip any user id, and the MAC verifies", () => {
    for (const userId of ["alice", "{a}:b c", "ü😀", "x".repeat(1024), "a.b.c"]) {
      const seed = newRefreshSeed();
      const token = issueRefreshToken(KEY, userId, SID, 7, seed);
      expect(token.split(".")).to.have.length(4);
      const parsed = parseRefreshToken(token)!;
      expect(parsed.userId).to.equal(userId);
      expect(parsed.sessionId).to.equal(SID);
      expect(parsed.generation).to.equal(7);
      expect(parsed.seed.equals(seed)).to.equal(true);
      expect(isGenuine(KEY, parsed)).to.equal(true);
      expect(isGenuine(OTHER_KEY, parsed)).to.equal(false);
    }
  });

  it("seeds are 16 random bytes; a token is deterministic in key, user, session, generation and seed", () => {
    const a = newRefreshSeed();
    expect(a).to.have.length(16);
    expect(a.equals(newRefreshSeed())).to.equal(false);
    const t = issueRefreshToken(KEY, "alice", SID, 3, a);
    expect(issueRefreshToken(KEY, "alice", SID, 3, a)).to.equal(t);
    for (const other of [
      issueRefreshToken(OTHER_KEY, "alice", SID, 3, a),
      issueRefreshToken(KEY, "alicf", SID, 3, a),
      issueRefreshToken(KEY, "alice", SID.replace("A", "B"), 3, a),
      issueRefreshToken(KEY, "alice", SID, 4, a),
      issueRefreshToken(KEY, "alice", SID, 3, newRefreshSeed()),
    ])
      expect(other).to.not.equal(t);
  });

  it("a token with a changed generation, session or user, or a made-up proof, fails the MAC", () => {
    const seed = newRefreshSeed();
    const parsed = parseRefreshToken(issueRefreshToken(KEY, "alice", SID, 2, seed))!;
    expect(isGenuine(KEY, { ...parsed, generation: 3 })).to.equal(false);
    expect(isGenuine(KEY, { ...parsed, sessionId: SID.replace("A", "B") })).to.equal(false);
    expect(isGenuine(KEY, { ...parsed, userId: "mallory" })).to.equal(false);
    expect(isGenuine(KEY, { ...parsed, mac: randomBytes(32) })).to.equal(false);
    expect(isGenuine(KEY, { ...parsed, seed: newRefreshSeed() })).to.equal(false);
  });

  it("the digest is a SHA-256 of the whole token and reveals nothing of it", () => {
    const token = issueRefreshToken(KEY, "alice", SID, 0, newRefreshSeed());
    const d = digest(token);
    expect(d).to.match(/^[A-Za-z0-9_-]{43}$/);
    expect(digest(token)).to.equal(d);
    expect(digest(issueRefreshToken(KEY, "alice", SID, 1, newRefreshSeed()))).to.not.equal(d);
    expect(token).to.not.include(d);
    expect(d).to.not.include(token.split(".")[3]!.slice(0, 10));
  });

  it("parsing rejects anything that cannot have been issued", () => {
    const proof = Buffer.alloc(48, 9).toString("base64url");
    const user = Buffer.from("alice").toString("base64url");
    const bad = [
      "",
      "a.b.c",
      `${user}.${SID}.0.${proof}.x`,
      `${user}.${SID}.01.${proof}`,
      `${user}.${SID}.-1.${proof}`,
      `${user}.${SID}.1e3.${proof}`,
      `${user}.${SID}.9999999999999999.${proof}`,
      `${user}.${SID}.0.${proof.slice(0, -1)}`,
      `${user}.${SID}.0.${proof}AA`,
      `${user}.${SID}.0.${Buffer.alloc(32, 9).toString("base64url")}`, // the old, shorter proof
      `${user}.${SID}.0.${proof.replace(/./, "+")}`,
      `${user}=.${SID}.0.${proof}`,
      `.${SID}.0.${proof}`,
      `${user}..0.${proof}`,
      `${Buffer.from([0xff, 0xfe]).toString("base64url")}.${SID}.0.${proof}`, // not UTF-8
      `${"A".repeat(MAX_REFRESH_TOKEN_LENGTH)}.${SID}.0.${proof}`,
    ];
    for (const token of bad) expect(parseRefreshToken(token), token.slice(0, 60)).to.equal(null);
    expect(parseRefreshToken(`${user}.${SID}.0.${proof}`)).to.not.equal(null);
  });
});
