/** `SessionError`: one class, the codes and statuses the README documents. */
import { expect } from "chai";
import { ERROR_STATUS, SessionError } from "../../lib/index.js";

const DOCUMENTED_TABLE = {
  token_missing: 401,
  token_invalid: 401,
  token_expired: 401,
  session_inactive: 401,
  refresh_token_invalid: 401,
  refresh_token_reused: 401,
  invalid_credentials: 401,
  invalid_request: 400,
  csrf_failed: 403,
  not_found: 404,
  store_unavailable: 503,
};

describe("SessionError", () => {
  it("has exactly the documented codes and statuses", () => {
    expect({ ...ERROR_STATUS }).to.deep.equal(DOCUMENTED_TABLE);
  });

  for (const [code, status] of Object.entries(DOCUMENTED_TABLE)) {
    it(`${code} → ${status}, with a default message`, () => {
      const err = new SessionError(code as keyof typeof DOCUMENTED_TABLE);
      expect(err).to.be.instanceOf(Error);
      expect(err).to.be.instanceOf(SessionError);
      expect(err.name).to.equal("SessionError");
      expect(err.code).to.equal(code);
      expect(err.status).to.equal(status);
      expect(err.message).to.be.a("string").with.length.above(10);
    });
  }

  it("takes a message and a cause", () => {
    const cause = new Error("ECONNREFUSED");
    const err = new SessionError("store_unavailable", "Redis is down.", { cause });
    expect(err.message).to.equal("Redis is down.");
    expect(err.cause).to.equal(cause);
    expect(err.status).to.equal(503);
  });
});
