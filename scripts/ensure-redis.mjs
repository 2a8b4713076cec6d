// Before the tests: they start their own redis-server, so one must be on the
// PATH. On a fresh Debian machine (as root) it is installed from Debian's
// packages; elsewhere this says what to install and stops.
import { execFileSync, spawnSync } from "node:child_process";

const has = (cmd) => spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;

if (!has("redis-server") || !has("redis-cli")) {
  const root = typeof process.getuid === "function" && process.getuid() === 0;
  if (root && has("apt-get")) {
    console.log("redis-server is missing: installing it from Debian's packages (apt-get install redis-server)");
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    execFileSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
    execFileSync("apt-get", ["install", "-y", "-qq", "redis-server"], { stdio: "inherit", env });
  } else {
    console.error(
      "The tests need redis-server and redis-cli on the PATH (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis).",
    );
    process.exit(1);
  }
}
