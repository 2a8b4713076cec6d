/**
 * An example server (`examples/basic/server.ts` unless told another) as a
 * child process: on a free port it picks itself (PORT=0, read back from its
 * first line), with the environment a test gives it, stopped by its pid.
 *
 * @module
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 5_000;

export interface ExampleApp {
  /** `http://localhost:<port>` */
  url: string;
  port: number;
  pid: number;
  /** What the app printed (for failure messages). */
  output(): string;
  /** SIGTERM by pid, SIGKILL after a deadline; resolves when it has exited. Idempotent. */
  stop(): Promise<void>;
}

export async function startExample(env: Record<string, string>, script = "examples/basic/server.ts"): Promise<ExampleApp> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, PORT: "0", ...env };
  if (env.REDIS_URL === undefined) delete childEnv.REDIS_URL;
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", script], {
    cwd: root,
    env: childEnv,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let hasExited = false;
  void exited.then(() => (hasExited = true));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the example did not start within ${START_TIMEOUT_MS} ms:\n${log}`)), START_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      log += chunk.toString("utf8");
      const match = /on (http:\/\/localhost:\d+)/.exec(log);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", (chunk: Buffer) => (log += chunk.toString("utf8")));
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the example exited (${code}) before listening:\n${log}`));
    });
  });
  const pid = child.pid!;
  let stopping: Promise<void> | undefined;
  return {
    url,
    port: Number(new URL(url).port),
    pid,
    output: () => log,
    stop: () => {
      stopping ??= (async () => {
        if (hasExited) return;
        process.kill(pid, "SIGTERM");
        const timer = setTimeout(() => {
          if (!hasExited) process.kill(pid, "SIGKILL");
        }, STOP_TIMEOUT_MS);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}
