/**
 * Reading Prometheus text format back: every sample as `name{a="1",b="2"}`
 * (labels sorted by name) to its value, so tests compare exact numbers.
 *
 * @module
 */

/** The samples of an exposition, by `name{labels}` with the labels sorted. */
export function parseExposition(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const [, name, labels = "", value] = match;
    const sorted = [...labels.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map(([, key, val]) => `${key}="${val}"`).sort();
    samples.set(sorted.length === 0 ? name! : `${name}{${sorted.join(",")}}`, Number(value));
  }
  return samples;
}

/** The samples whose name starts with `prefix`, as a plain object (for deep-equal assertions). */
export function samplesOf(samples: Map<string, number>, prefix: string): Record<string, number> {
  return Object.fromEntries([...samples].filter(([key]) => key.startsWith(prefix)).sort(([a], [b]) => (a < b ? -1 : 1)));
}
