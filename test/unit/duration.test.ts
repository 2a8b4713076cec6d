/** Duration parsing (milliseconds or "90s", "15m", "12h", "30d"; null disables a deadline). */
import { expect } from "chai";
import { describe as describeValue, parseDuration } from "../../lib/duration.js";

describe("parseDuration", () => {
  it("reads milliseconds and unit strings", () => {
    expect(parseDuration("x", 1500)).to.equal(1500);
    expect(parseDuration("x", "90s")).to.equal(90_000);
    expect(parseDuration("x", "15m")).to.equal(900_000);
    expect(parseDuration("x", "12h")).to.equal(43_200_000);
    expect(parseDuration("x", "30d")).to.equal(2_592_000_000);
    expect(parseDuration("x", "250ms")).to.equal(250);
    expect(parseDuration("x", "1.5h")).to.equal(5_400_000);
    expect(parseDuration("x", "2 days")).to.equal(172_800_000);
    expect(parseDuration("x", 1.6)).to.equal(2);
  });

  it("null only where a deadline may be switched off", () => {
    expect(parseDuration("idleTimeout", null, true)).to.equal(null);
    expect(() => parseDuration("accessTokenTtl", null)).to.throw(TypeError, /`accessTokenTtl`/);
  });

  it("rejects what is not a positive duration, naming the option", () => {
    for (const value of ["", " ", "abc", "15 parsecs", 0, -1, "-5m", Number.NaN, Number.POSITIVE_INFINITY, undefined, {}, [], true, "0s"]) {
      expect(() => parseDuration("storeTimeout", value), String(value)).to.throw(TypeError, /`storeTimeout` must be a positive duration/);
    }
    expect(() => parseDuration("idleTimeout", "nope", true)).to.throw(TypeError, /or null for no deadline/);
  });

  it("describes bad values briefly and never echoes a long string", () => {
    expect(describeValue("abc")).to.equal('"abc"');
    expect(describeValue("s".repeat(64))).to.equal("a string of 64 characters");
    expect(describeValue(null)).to.equal("null");
    expect(describeValue([1])).to.equal("an array");
    expect(describeValue({ a: 1 })).to.equal("an object");
    expect(describeValue(5)).to.equal("number 5");
    expect(() => parseDuration("x", "s".repeat(64))).to.throw(TypeError, /a string of 64 characters/);
  });
});
