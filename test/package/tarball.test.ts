// The package as users get it: `npm pack` (which builds it through
// `prepack`), then the tarball installed into throwaway projects of every
// kind the package claims to support. In each, the app code is compiled
// (TypeScript: strict, `skipLibCheck: false`, no @types/jsonwebtoken) and
// run: a login through the router, a guarded request with the token, one
// without it. Projects without ioredis also check that a RedisStore from a
// URL refuses to construct, saying what to install. Projects with
// prom-client also compile and run session-guard/metrics; those without it
// get a clear error from it, and the root import works all the same.
//
// Run with `npm run test:package` (its own mocha config: it needs minutes
// and the npm cache, not only the repository).
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "chai";
import { sharedRedis, type RedisNode } from "../support/redis-server.js";
import { appSource, METRICS_WITHOUT_PROM_CLIENT, metricsSource, type AppFlavour } from "./app-source.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
const npm = process.platform === "win32" ? "npm.cmd" : "npm";

interface ProjectKind {
  name: string;
  /** The project's own package.json `type`. */
  type: "module" | "commonjs";
  /** Compiler options besides the strict ones every TypeScript project gets; none for a JavaScript project. */
  typescript?: Record<string, unknown>;
  express: 4 | 5;
  ioredis: boolean;
  promClient: boolean;
}

const KINDS: ProjectKind[] = [
  { name: "ESM JavaScript, Express 5, ioredis, prom-client", type: "module", express: 5, ioredis: true, promClient: true },
  { name: "CommonJS JavaScript, Express 4, no ioredis", type: "commonjs", express: 4, ioredis: false, promClient: false },
  {
    name: "TypeScript nodenext (ESM), Express 5, ioredis, prom-client",
    type: "module",
    typescript: { module: "nodenext", moduleResolution: "nodenext" },
    express: 5,
    ioredis: true,
    promClient: true,
  },
  {
    name: "TypeScript nodenext (CommonJS), Express 4, no ioredis",
    type: "commonjs",
    typescript: { module: "nodenext", moduleResolution: "nodenext" },
    express: 4,
    ioredis: false,
    promClient: false,
  },
  {
    name: "TypeScript bundler, Express 5, no ioredis, prom-client",
    type: "module",
    typescript: { module: "esnext", moduleResolution: "bundler" },
    express: 5,
    ioredis: false,
    promClient: true,
  },
  {
    name: "TypeScript commonjs (node10 resolution), Express 4, ioredis, prom-client",
    type: "commonjs",
    typescript: { module: "commonjs", moduleResolution: "node10", esModuleInterop: true },
    express: 4,
    ioredis: true,
    promClient: true,
  },
];

/** What the tarball may hold besides `dist/`. */
const TOP_LEVEL_FILES = ["package.json", "README.md", "LICENSE", "CHANGELOG.md"];

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  const result = spawnSync(command, args, { cwd, env, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(" ")} exited with ${String(result.status)}\n${result.stdout}\n${result.stderr}`);
  }
  return result.stdout;
}

describe("the packed package", function () {
  let work: string;
  let tarball: string;
  let files: Array<{ path: string; size: number }>;
  let redis: RedisNode;

  before(async function () {
    work = mkdtempSync(join(tmpdir(), "session-guard-package-"));
    // `npm pack` runs `prepack`, which builds: the tarball is never stale.
    // The build's own output comes first; the JSON report is the rest.
    const output = run(npm, ["pack", "--json", "--pack-destination", work], root);
    const packed = JSON.parse(output.slice(output.search(/^\[/m))) as Array<{
      filename: string;
      files: Array<{ path: string; size: number }>;
    }>;
    tarball = join(work, packed[0].filename);
    files = packed[0].files;
    redis = await sharedRedis();
  });

  after(function () {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  describe("tarball", function () {
    it("holds the build, README, LICENSE, CHANGELOG and package.json, and nothing else", function () {
      const strays = files.map((f) => f.path).filter((p) => !p.startsWith("dist/") && !TOP_LEVEL_FILES.includes(p));
      expect(strays).to.deep.equal([]);
      const paths = new Set(files.map((f) => f.path));
      for (const needed of [
        ...TOP_LEVEL_FILES,
        "dist/esm/index.js",
        "dist/esm/index.d.ts",
        "dist/cjs/index.js",
        "dist/cjs/index.d.ts",
        "dist/cjs/package.json",
        "dist/esm/testing/index.js",
        "dist/esm/testing/index.d.ts",
        "dist/cjs/testing/index.js",
        "dist/cjs/testing/index.d.ts",
        "dist/esm/metrics/index.js",
        "dist/esm/metrics/index.d.ts",
        "dist/cjs/metrics/index.js",
        "dist/cjs/metrics/index.d.ts",
      ]) {
        expect(paths.has(needed), needed).to.equal(true);
      }
    });

    it("ships no internal declaration files, such as those of the embedded Lua scripts", function () {
      const declarations = files.filter((f) => f.path.endsWith(".d.ts"));
      expect(declarations.filter((f) => f.path.includes("/stores/scripts/")).map((f) => f.path)).to.deep.equal([]);
      expect(declarations.filter((f) => f.path.includes("record-codec") || f.path.endsWith("redis/scripts.d.ts"))).to.deep.equal([]);
      // The largest public declaration file is the guard's options, far below the 60 KB of the embedded scripts.
      expect(Math.max(...declarations.map((f) => f.size))).to.be.below(16 * 1024);
    });

    it("ships no test, benchmark, example or source file", function () {
      expect(files.filter((f) => /\.(ts|lua|mjs)$/.test(f.path) && !f.path.endsWith(".d.ts")).map((f) => f.path)).to.deep.equal([]);
    });
  });

  for (const kind of KINDS) {
    describe(kind.name, function () {
      let dir: string;

      before(function () {
        dir = join(work, kind.name.replace(/[^a-z0-9]+/gi, "-").toLowerCase());
        mkdirSync(join(dir, "src"), { recursive: true });
        writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "consumer", private: true, type: kind.type }, null, 2));
        const flavour: AppFlavour = kind.typescript ? "typescript" : kind.type === "module" ? "esm" : "cjs";
        writeFileSync(join(dir, "src", kind.typescript ? "app.ts" : "app.js"), appSource(flavour));
        if (kind.promClient) writeFileSync(join(dir, "src", kind.typescript ? "metrics.ts" : "metrics.js"), metricsSource(flavour));
        const deps = [tarball, `express@^${kind.express}`];
        if (kind.ioredis) deps.push("ioredis@^5");
        if (kind.promClient) deps.push("prom-client@^15");
        if (kind.typescript) deps.push(`@types/express@^${kind.express}`, "@types/node@^20");
        // The tarball comes from the file; the rest from the npm cache when it has them.
        run(npm, ["install", "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts", ...deps], dir);
        if (kind.typescript) {
          const compilerOptions = {
            target: "ES2022",
            strict: true,
            skipLibCheck: false,
            outDir: "out",
            rootDir: "src",
            types: ["node"],
            ...kind.typescript,
          };
          writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions, include: ["src"] }, null, 2));
        }
      });

      it(kind.ioredis ? "has ioredis installed" : "has no ioredis installed", function () {
        const found = spawnSync(process.execPath, ["-e", "require.resolve('ioredis')"], { cwd: dir }).status === 0;
        expect(found).to.equal(kind.ioredis);
        const typings = spawnSync(process.execPath, ["-e", "require.resolve('@types/jsonwebtoken/package.json')"], { cwd: dir });
        expect(typings.status, "@types/jsonwebtoken must not be installed").to.not.equal(0);
      });

      if (kind.typescript) {
        it("compiles under strict with skipLibCheck off", function () {
          const result = spawnSync(process.execPath, [tsc, "-p", dir], { cwd: dir, encoding: "utf8" });
          expect(result.stdout + result.stderr).to.equal("");
          expect(result.status).to.equal(0);
        });
      }

      it("has the session-guard command", function () {
        const help = spawnSync(join(dir, "node_modules", ".bin", "session-guard"), ["--help"], { cwd: dir, encoding: "utf8" });
        expect(help.status, help.stderr).to.equal(0);
        expect(help.stdout).to.match(/^Usage: session-guard <command>/);
        const stats = spawnSync(
          join(dir, "node_modules", ".bin", "session-guard"),
          ["stats", "--json", "--redis-url", redis.url, "--prefix", "none:"],
          {
            cwd: dir,
            encoding: "utf8",
          },
        );
        // Without ioredis it cannot talk to Redis, and says what to install.
        if (kind.ioredis) expect([stats.status, JSON.parse(stats.stdout).sessions]).to.deep.equal([0, 0]);
        else expect([stats.status, stats.stderr]).to.match(/^3,session-guard: cannot reach Redis: .*npm install ioredis/);
      });

      it("logs in and passes the guard with the token, and refuses a request without one", function () {
        const entry = kind.typescript ? join(dir, "out", "app.js") : join(dir, "src", "app.js");
        const env = { ...process.env, REDIS_URL: kind.ioredis ? redis.url : "", KEY_PREFIX: `pkg-${Date.now()}:` };
        const out = execFileSync(process.execPath, [entry], { cwd: dir, env, encoding: "utf8", timeout: 30_000 });
        const report = JSON.parse(out.trim().split("\n").pop()!) as Record<string, unknown>;
        expect(report.login).to.equal(200);
        expect(report.tokenType).to.equal("Bearer");
        expect(report.me).to.deep.equal({ status: 200, body: { user: "user-1", role: "admin" } });
        expect(report.denied).to.deep.equal({ status: 401, code: "token_missing", wwwAuthenticate: true });
        expect(report.store).to.equal(kind.ioredis ? "RedisStore" : "MemoryStore");
        // session-guard/testing resolves, and without a test runner's globals says to pass one.
        expect(report.testing).to.match(/^TypeError: session-guard\/testing: no global describe, it, beforeEach, afterEach; pass `runner`/);
        if (kind.ioredis) {
          expect(report.urlStore).to.equal("constructed");
        } else {
          expect(report.urlStore).to.match(/^TypeError: RedisStore: `url` needs the ioredis package.*npm install ioredis/);
          expect(report.fromEnv).to.match(/^TypeError: RedisStore: `url` needs the ioredis package/);
        }
      });

      it(kind.promClient ? "has prom-client installed" : "has no prom-client installed", function () {
        const found = spawnSync(process.execPath, ["-e", "require.resolve('prom-client')"], { cwd: dir }).status === 0;
        expect(found).to.equal(kind.promClient);
      });

      if (kind.promClient) {
        it("counts a login with session-guard/metrics on the app's own prom-client registry", function () {
          const entry = kind.typescript ? join(dir, "out", "metrics.js") : join(dir, "src", "metrics.js");
          const out = execFileSync(process.execPath, [entry], { cwd: dir, encoding: "utf8", timeout: 30_000 });
          expect(JSON.parse(out.trim().split("\n").pop()!)).to.deep.equal({
            logins: 'app_logins_total{remember_me="false"} 1',
            sameRegistry: true,
            channel: "session-guard:rejected",
          });
        });
      } else {
        it("says to install prom-client when session-guard/metrics is used without it, by import and by require", function () {
          const out = execFileSync(process.execPath, ["-e", METRICS_WITHOUT_PROM_CLIENT], { cwd: dir, encoding: "utf8", timeout: 30_000 });
          const message =
            "TypeError: session-guard/metrics needs the prom-client package, which is not installed. Run `npm install prom-client`.";
          expect(JSON.parse(out.trim().split("\n").pop()!)).to.deep.equal({ require: message, import: message });
        });
      }
    });
  }
});
