/**
 * Headless Chromium for the browser tests: Debian's `chromium` (from
 * `$CHROMIUM_PATH`, else the `chromium` on the PATH), driven by
 * playwright-core. Never a browser download. Playwright gives each launch a
 * fresh, temporary user-data-dir and removes it on close.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { chromium, type Browser, type ConsoleMessage, type Page } from "playwright-core";

/** The Chromium binary: `$CHROMIUM_PATH`, else `command -v chromium`. */
export function chromiumPath(): string {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) {
    accessSync(fromEnv, constants.X_OK);
    return fromEnv;
  }
  const found = spawnSync("sh", ["-c", "command -v chromium"], { encoding: "utf8" });
  const path = found.stdout.trim();
  if (found.status !== 0 || path === "") {
    throw new Error(
      "chromium was not found: install Debian's package (apt-get install -y chromium; .ci/run does this) or set CHROMIUM_PATH",
    );
  }
  return path;
}

/** Flags for a quiet, isolated headless browser that phones nowhere. */
export const CHROMIUM_ARGS = [
  "--headless=new",
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-default-apps",
  "--disable-extensions",
  "--mute-audio",
];

export async function launchChromium(): Promise<Browser> {
  // `headless: false` so that Playwright adds no headless flag of its own: `--headless=new` above is the one.
  return chromium.launch({ executablePath: chromiumPath(), headless: false, args: CHROMIUM_ARGS, timeout: 20_000 });
}

/** What a page printed as errors: its scripts' (console.error, uncaught exceptions) and the browser's own lines about failed loads. */
export interface ConsoleErrors {
  /** console.error / console.warn from scripts, and uncaught exceptions. */
  script: string[];
  /** "Failed to load resource" lines, as `<status> <path>` (the browser logs every 4xx/5xx answer). */
  failedLoads: string[];
}

/** Starts collecting a page's console errors and warnings. */
export function collectConsole(page: Page): ConsoleErrors {
  const out: ConsoleErrors = { script: [], failedLoads: [] };
  page.on("console", (msg: ConsoleMessage) => {
    if (msg.type() !== "error" && msg.type() !== "warning") return;
    const failed = /^Failed to load resource: the server responded with a status of (\d+)/.exec(msg.text());
    if (failed) out.failedLoads.push(`${failed[1]} ${new URL(msg.location().url).pathname}`);
    else out.script.push(`${msg.type()}: ${msg.text()}`);
  });
  page.on("pageerror", (err) => out.script.push(`uncaught: ${err.message}`));
  return out;
}
