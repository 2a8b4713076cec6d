// Every `ts` block of the README compiles against the built package, in a
// strict project (`strict`, `skipLibCheck: false`, `nodenext`), as a user's
// would. Blocks are separate modules; the recipes' `app`, `guard`, `users`
// and `redis` (the quickstart's) are declared for them in a prelude.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "chai";

const root = fileURLToPath(new URL("../../", import.meta.url));
// Inside the repository, so that `session-guard` resolves to the package
// itself (by its `exports`) and its peers to the repository's node_modules.
const dir = join(root, ".scratch", "readme-types");

const USERS = `
export interface User { id: string; role: string }
export const users = {
  async check(email: unknown, password: unknown): Promise<User | null> {
    return email === "ada@example.com" && password === "correct horse" ? { id: "user-1", role: "admin" } : null;
  },
  async setPassword(id: string, password: unknown): Promise<void> {
    void id;
    void password;
  },
};
`;

const PRELUDE = `
import type { Express } from "express";
import type { Redis } from "ioredis";
import type { Guard } from "session-guard";
import type { users as Users } from "./users.js";
declare global {
  const app: Express;
  const guard: Guard;
  const redis: Redis;
  const users: typeof Users;
}
`;

const TSCONFIG = {
  compilerOptions: {
    target: "ES2022",
    module: "NodeNext",
    moduleResolution: "NodeNext",
    strict: true,
    skipLibCheck: false,
    noEmit: true,
    types: ["node"],
  },
  include: ["*.ts"],
};

/** The latest modification time of any file under `path`. */
function newestSource(path: string): number {
  return readdirSync(path, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .reduce((newest, entry) => Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs), 0);
}

function readmeBlocks(): string[] {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  return [...readme.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

describe("README TypeScript", function () {
  this.timeout(120_000);

  before(() => {
    const built = join(root, "dist", "esm", "index.d.ts");
    if (!existsSync(built) || newestSource(join(root, "lib")) > statSync(built).mtimeMs) {
      execFileSync("npm", ["run", "build"], { cwd: root, stdio: "ignore" });
    }
  });

  it("has the quickstart and the recipes as ts blocks", () => {
    const blocks = readmeBlocks();
    expect(blocks.length).to.be.at.least(7);
    expect(blocks[0]).to.contain("app.listen(").and.contain("guard.errorHandler");
  });

  it("every ts block compiles in a strict nodenext project against the built package", () => {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "tsconfig.json"), JSON.stringify(TSCONFIG, null, 2));
    writeFileSync(join(dir, "users.ts"), USERS);
    writeFileSync(join(dir, "prelude.ts"), PRELUDE);
    readmeBlocks().forEach((block, i) => writeFileSync(join(dir, `block-${i + 1}.ts`), `${block}\nexport {};\n`));
    const tsc = spawnSync(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", dir], { encoding: "utf8" });
    expect(tsc.stdout + tsc.stderr, "tsc output").to.equal("");
    expect(tsc.status).to.equal(0);
  });
});
