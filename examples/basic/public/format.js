// What the page shows of a session: the device from its user agent
// (bowser, served from node_modules), and times as people say them.
import Bowser from "/vendor/bowser.mjs";

const PLATFORMS = { desktop: "Desktop", mobile: "Phone", tablet: "Tablet", tv: "TV", bot: "Bot" };

/** `{ browser: "Chrome 150", os: "Linux", type: "desktop", typeLabel: "Desktop" }` of a user agent (or of none). */
export function describeDevice(userAgent) {
  if (!userAgent) return { browser: "Unknown browser", os: "Unknown system", type: "unknown", typeLabel: "Unknown device" };
  const parsed = Bowser.parse(userAgent);
  const name = parsed.browser.name || "Unknown browser";
  const major = (parsed.browser.version || "").split(".")[0];
  const os = [parsed.os.name, parsed.os.versionName || parsed.os.version].filter(Boolean).join(" ") || "Unknown system";
  const type = parsed.platform.type || "unknown";
  const model = parsed.platform.model ? ` · ${parsed.platform.model}` : "";
  return { browser: major ? `${name} ${major}` : name, os, type, typeLabel: (PLATFORMS[type] ?? "Unknown device") + model };
}

const relative = new Intl.RelativeTimeFormat("en", { numeric: "auto" });
const STEPS = [
  ["year", 365 * 24 * 3600],
  ["month", 45 * 24 * 3600, 30 * 24 * 3600],
  ["day", 24 * 3600],
  ["hour", 3600],
  ["minute", 60],
];

/** "just now", "3 minutes ago", "tomorrow", "in 30 days", "in 2 months". */
export function fromNow(date, now = Date.now()) {
  const seconds = Math.round((new Date(date).getTime() - now) / 1000);
  if (Math.abs(seconds) < 45) return "just now";
  for (const [unit, from, size = from] of STEPS) {
    if (Math.abs(seconds) >= from) return relative.format(Math.round(seconds / size), unit);
  }
  return relative.format(Math.round(seconds / 60), "minute");
}

const absolute = new Intl.DateTimeFormat("en", { dateStyle: "medium", timeStyle: "short" });

/** "Dec 2, 2025, 2:41 PM". */
export function formatDate(date) {
  return absolute.format(new Date(date));
}

/** "14 s", "3 min 5 s", "2 h 4 min". */
export function duration(seconds) {
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
}
