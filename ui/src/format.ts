// How numbers, money and times read on screen: one place, so every page
// words them alike. Pure functions of their inputs (and the OS time zone).

/** USD at API prices; `null` is an unknown price, never "$0". */
export function money(usd: number | null | undefined, unpriced = 0): string {
  if (usd === null || usd === undefined) return "unknown price";
  const base = usd > 0 && usd < 0.01 ? "<$0.01" : `$${usd.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
  return unpriced > 0 ? `${base} + ${unpriced} unpriced` : base;
}

/** "1 request", "212 requests". */
export function plural(n: number, noun: string): string {
  return `${count(n)} ${noun}${n === 1 ? "" : "s"}`;
}

/** Money to the cent for tables of small amounts: "$0.0042" keeps 4 digits below a cent. */
export function moneyFine(usd: number | null): string {
  if (usd === null) return "unknown price";
  if (usd !== 0 && Math.abs(usd) < 0.01) return `$${usd.toFixed(4)}`;
  return money(usd);
}

/** Token counts: 950, 12.3k, 4.56M. */
export function tokens(n: number): string {
  if (n < 1000) return String(n);
  if (n < 1_000_000) return `${trim(n / 1000, n < 10_000 ? 2 : 1)}k`;
  if (n < 1_000_000_000) return `${trim(n / 1_000_000, n < 10_000_000 ? 2 : 1)}M`;
  return `${trim(n / 1_000_000_000, 2)}B`;
}

function trim(value: number, digits: number): string {
  return value.toFixed(digits).replace(/\.?0+$/, "");
}

/** Whole numbers with thousands separators. */
export function count(n: number): string {
  return n.toLocaleString("en-US");
}

/** A 0..1 fraction as a percentage: 0.625 -> "62.5%", 0.6 -> "60%". */
export function percent(fraction: number | null | undefined, digits = 0): string {
  if (fraction === null || fraction === undefined || Number.isNaN(fraction)) return "—";
  return `${(fraction * 100).toFixed(digits).replace(/\.0+$/, "")}%`;
}

/** A window delta (0..1) in percentage points: 0.031 -> "+3.1 pts"; tiny rises keep one digit. */
export function points(delta: number | null | undefined): string {
  if (delta === null || delta === undefined) return "—";
  const pts = delta * 100;
  if (pts === 0) return "0 pts";
  if (pts < 0.1) return "<0.1 pts";
  return `+${pts.toFixed(1)} pts`;
}

/** Milliseconds as "320 ms", "1.4 s", "2 min 5 s". No float noise. */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1).replace(/\.0$/, "")} s`;
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 60) {
    const seconds = Math.round((ms % 60_000) / 1000);
    return seconds ? `${minutes} min ${seconds} s` : `${minutes} min`;
  }
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return rest ? `${hours} h ${rest} min` : `${hours} h`;
}

const pad = (n: number) => String(n).padStart(2, "0");

/** A local date as YYYY-MM-DD (the OS time zone). */
export function localDay(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** Local clock time "14:02". */
export function clock(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** A moment relative to now, short: "14:02" today, "Sat 14:02" within a week, "3 Nov 14:02" otherwise. */
export function when(ms: number, now = Date.now()): string {
  const d = new Date(ms);
  if (localDay(ms) === localDay(now)) return clock(ms);
  if (Math.abs(ms - now) < 6 * 86_400_000) return `${WEEKDAYS[d.getDay()]} ${clock(ms)}`;
  return `${d.getDate()} ${MONTHS[d.getMonth()]} ${clock(ms)}`;
}

/** "3 Nov" for chart axes. */
export function shortDate(day: string): string {
  const [, m, d] = day.split("-").map(Number);
  return `${d} ${MONTHS[m - 1]}`;
}

/** Time until `ms`: "in 1 h 12 min"; a moment in the past says so. */
export function until(ms: number, now = Date.now()): string {
  const left = ms - now;
  if (left <= 0) return "passed";
  return `in ${duration(Math.max(60_000, Math.round(left / 60_000) * 60_000))}`;
}

/** Full local date and time for details: "2026-11-03 14:02:05". */
export function stamp(ms: number): string {
  const d = new Date(ms);
  return `${localDay(ms)} ${clock(ms)}:${pad(d.getSeconds())}`;
}

/** A model id without the "claude-" prefix and date suffix: "claude-sonnet-4-5-20250929" -> "sonnet-4-5". */
export function modelName(model: string): string {
  return model.replace(/^claude-/, "").replace(/-\d{8}$/, "");
}

/** The last path element of a project directory, for charts; the full path stays in titles. */
export function projectName(path: string): string {
  const parts = path.split("/").filter(Boolean);
  return parts.length ? parts[parts.length - 1] : path;
}

/** Bytes on disk as people read a download's size: "650 MB", "1.2 GB". */
export function size(bytes: number): string {
  const mb = bytes / 1_000_000;
  return mb >= 1000 ? `${trim(mb / 1000, 1)} GB` : `${Math.round(mb)} MB`;
}
