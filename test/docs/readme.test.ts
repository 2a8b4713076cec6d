// Docs that cannot drift: every option (with its default), error code,
// event, route, warning and environment variable the code knows must appear
// in the README.
import { readFileSync } from "node:fs";
import { expect } from "chai";
import { COOKIE_OPTION_NAMES, DEFAULTS, JWT_OPTION_NAMES, OPTION_NAMES } from "../../lib/config/defaults.js";
import { ERROR_STATUS } from "../../lib/errors.js";
import { WARNING_CODES } from "../../lib/warnings.js";

const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
const source = (path: string) => readFileSync(new URL(`../../lib/${path}`, import.meta.url), "utf8");

/** The README's options-table row of `name`. */
function optionRow(name: string): string {
  const row = readme.split("\n").find((line) => line.startsWith(`| \`${name}\` |`));
  expect(row, `the options table has a row for ${name}`).to.not.equal(undefined);
  return row!;
}

/** How the README writes a default: strings quoted, numbers and booleans bare, all in backticks. */
const written = (value: unknown) => `\`${typeof value === "string" ? JSON.stringify(value) : String(value)}\``;

describe("README", () => {
  it("documents every option of sessionGuard(), jwt and cookie", () => {
    for (const name of OPTION_NAMES) optionRow(name);
    for (const name of [...JWT_OPTION_NAMES, ...COOKIE_OPTION_NAMES]) expect(readme, `option ${name}`).to.contain(`\`${name}\``);
  });

  it("documents every default as the code has it", () => {
    for (const [name, value] of Object.entries(DEFAULTS)) {
      const row = optionRow(name);
      if (Array.isArray(value)) expect(row, `default of ${name}`).to.contain("`[]`");
      else if (typeof value !== "object") expect(row, `default of ${name}`).to.contain(written(value));
      // Group defaults are written inside the row, e.g. `{ idleTimeout: "30d", … }` or `secure` (`true`).
      else for (const [key, v] of Object.entries(value)) expect(row, `default of ${name}.${key}`).to.contain(JSON.stringify(v));
    }
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
    expect(variables.size).to.equal(12);
    for (const variable of variables) expect(readme, `variable ${variable}`).to.contain(`\`${variable}\``);
    for (const code of WARNING_CODES) expect(readme, `warning ${code}`).to.contain(`\`${code}\``);
  });

  it("documents every route of the router", () => {
    const routes = source("http/router.ts");
    const paths = [...routes.matchAll(/^ {2}\w+: "(\/[^"]*)",$/gm)].map((m) => m[1]!);
    expect(paths).to.have.length(6);
    for (const path of paths) expect(readme, `route ${path}`).to.contain(` ${path}\``);
  });
});
