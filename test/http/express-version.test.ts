// The suites run on Express 5 (`npm test`) and on Express 4
// (`npm run test:express4`); this proves which one the tests and the
// library actually loaded.
import express from "express";
import { createRequire } from "node:module";
import { expect } from "chai";

describe("Express under test", function () {
  const expected = process.env.SESSION_GUARD_TEST_EXPRESS ?? "5";

  it(`is Express ${expected}, for the tests and the library alike`, function () {
    const require = createRequire(import.meta.url);
    const version = (require(expected === "4" ? "express4/package.json" : "express/package.json") as { version: string }).version;
    expect(version.split(".")[0]).to.equal(expected);
    // express.query() exists in Express 4 only.
    expect(typeof (express as unknown as { query?: unknown }).query === "function").to.equal(expected === "4");
  });
});
