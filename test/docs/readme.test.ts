// Docs that cannot drift: every option, error code, event, route and
// environment variable the code knows must appear in the README.
import { readFileSync } from "node:fs";
import { expect } from "chai";
import { ERROR_STATUS } from "../../lib/errors.js";

const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
const source = (path: string) => readFileSync(new URL(`../../lib/${path}`, import.meta.url), "utf8");

/** The names listed in a `const NAME = [ "a", "b" ]` array of a source file. */
function listedNames(text: string, constant: string): string[] {
  const match = new RegExp(`const ${constant} = \\[([^\\]]*)\\]`).exec(text);
  expect(match, `${constant} not found`).to.not.equal(null);
  return [...match![1]!.matchAll(/"([^"]+)"/g)].map((m) => m[1]!);
}

describe("README", () => {
  it("documents every option of sessionGuard(), jwt and cookie", () => {
    const options = source("options.ts");
    const names = [
      ...listedNames(options, "OPTION_NAMES"),
      ...listedNames(options, "JWT_OPTION_NAMES"),
      ...listedNames(options, "COOKIE_OPTION_NAMES"),
    ];
    expect(names.length).to.be.greaterThan(25);
    for (const name of names) expect(readme, `option ${name}`).to.contain(`\`${name}\``);
  });

  it("documents every error code with its status", () => {
    for (const [code, status] of Object.entries(ERROR_STATUS)) {
      expect(readme, `error ${code}`).to.match(new RegExp(`\\| \`${code}\` \\| ${status} \\|`));
    }
  });

  it("documents every event, environment variable and warning code", () => {
    const events = [...source("options.ts").matchAll(/^ {2}(\w+): \{ (?:sessionId|error)/gm)].map((m) => m[1]!);
    expect(events).to.have.members(["login", "refresh", "logout", "revoke", "reuse_detected", "store_error"]);
    for (const event of events) expect(readme, `event ${event}`).to.contain(`| \`${event}\` |`);
    const variables = new Set([...source("env.ts").matchAll(/\b((?:SESSION_(?!GUARD)|REDIS_)[A-Z_]+)\b/g)].map((m) => m[1]!));
    expect(variables.size).to.equal(10);
    for (const variable of variables) expect(readme, `variable ${variable}`).to.contain(`\`${variable}\``);
    const lib = ["options.ts", "sessions/engine.ts", "stores/redis.ts"].map(source).join("\n");
    const warnings = new Set([...lib.matchAll(/"(SESSION_GUARD_[A-Z_]+)"/g)].map((m) => m[1]!));
    expect(warnings.size).to.be.greaterThan(3);
    for (const code of warnings) expect(readme, `warning ${code}`).to.contain(`\`${code}\``);
  });

  it("documents every route of the router", () => {
    const routes = source("http/router.ts");
    const paths = [...routes.matchAll(/^ {2}\w+: "(\/[^"]*)",$/gm)].map((m) => m[1]!);
    expect(paths).to.have.length(6);
    for (const path of paths) expect(readme, `route ${path}`).to.contain(` ${path}\``);
  });
});
