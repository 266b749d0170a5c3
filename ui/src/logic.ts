// The dashboard's logic that is not drawing: date ranges in the OS time
// zone, sorting and filtering tables, exports, log lines, projections and
// the colour of each model. Pure, and tested with vitest.

import { clock, count, duration, localDay, modelName, money, moneyFine, percent, when } from "./format";
import type { ClassShare, DayRange, EngineRun, FieldProblem, InstallPhase, LogLine, ServedUpstream, SettingsForm, SpendRow, TeamKeyInfo, WindowSeries } from "./types";

// ---------- date ranges ----------

/** Midnight at the start of a local day, as Unix ms (DST-safe: built from the date parts). */
export function dayStart(day: string): number {
  const [y, m, d] = day.split("-").map(Number);
  return new Date(y, m - 1, d).getTime();
}

/** The local day `n` days after `day` (negative goes back). */
export function addDays(day: string, n: number): string {
  const [y, m, d] = day.split("-").map(Number);
  return localDay(new Date(y, m - 1, d + n, 12).getTime());
}

/** The last `days` local days, today included. */
export function lastDays(days: number, now = Date.now()): DayRange {
  const last_day = localDay(now);
  return { first_day: addDays(last_day, -(days - 1)), last_day };
}

/** Checks a range typed by hand; the message says what to change. */
export function validateRange(range: DayRange, now = Date.now()): string | null {
  const re = /^\d{4}-\d{2}-\d{2}$/;
  if (!re.test(range.first_day) || !re.test(range.last_day)) return "Pick both a start and an end date.";
  if (range.first_day > range.last_day) return "The start date is after the end date: swap them.";
  if (range.first_day > localDay(now)) return "The range starts in the future: nothing is recorded yet.";
  return null;
}

// ---------- tables ----------

/** New rows on top of a list, each id once, newest first, at most `limit`. */
export function mergeNewest<T extends { id: number }>(landed: readonly T[], shown: readonly T[], limit: number): T[] {
  const seen = new Set(landed.map((r) => r.id));
  return [...landed, ...shown.filter((r) => !seen.has(r.id))].sort((a, b) => b.id - a.id).slice(0, limit);
}

export type SortDir = "asc" | "desc";

/** Sorts rows by a column; unknown costs (null) always sort last, whatever the direction. */
export function sortRows<T>(rows: readonly T[], key: keyof T, dir: SortDir): T[] {
  const sign = dir === "asc" ? 1 : -1;
  return [...rows].sort((a, b) => {
    const x = a[key];
    const y = b[key];
    if (x === y) return 0;
    if (x === null || x === undefined) return 1;
    if (y === null || y === undefined) return -1;
    if (typeof x === "number" && typeof y === "number") return (x - y) * sign;
    return String(x).localeCompare(String(y)) * sign;
  });
}

/** Rows whose label or key contains every word of the filter (case-insensitive). */
export function filterRows<T extends { key: string | null; label: string }>(rows: readonly T[], filter: string): T[] {
  const words = filter.toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) return [...rows];
  return rows.filter((row) => {
    const text = `${row.label} ${row.key ?? ""}`.toLowerCase();
    return words.every((word) => text.includes(word));
  });
}

/** The sum over rows, with unknown costs counted apart (never as $0). Summed
 * in whole nano-dollars (as the core keeps them), so the billed and the
 * subscription-equivalent sums add up to the cost exactly. */
export function sumRows(rows: readonly SpendRow[]): {
  cost_usd: number;
  billed_usd: number;
  subscription_usd: number;
  requests: number;
  unpriced_requests: number;
} {
  const nanos = (usd: number | null) => Math.round((usd ?? 0) * 1e9);
  let billed = 0;
  let subscription = 0;
  let requests = 0;
  let unpriced = 0;
  for (const row of rows) {
    billed += nanos(row.billed_usd);
    subscription += nanos(row.subscription_usd);
    requests += row.requests;
    unpriced += row.unpriced_requests;
  }
  return { cost_usd: (billed + subscription) / 1e9, billed_usd: billed / 1e9, subscription_usd: subscription / 1e9, requests, unpriced_requests: unpriced };
}

// ---------- billed and subscription-equivalent ----------

/** What the two kinds of dollars are, for tooltips. */
export const BILLED_HELP =
  "Billed: requests served with an API key (a paid upstream's, the gateway's own, or the client's own), paid per token. " +
  "Subscription-equivalent: requests served by Claude Code's subscription login, at what they would have cost at API list prices. " +
  "Requests imported from Claude Code's transcripts say nothing of their key and count as subscription-equivalent.";

/** "billed $0.80" beside a total; `null` when nothing was billed (all of it is subscription-equivalent). */
export function billedNote(t: { billed_usd: number | null; subscription_usd: number | null; billed_requests: number }): { text: string; title: string } | null {
  if (t.billed_requests === 0) return null;
  const subscription = t.subscription_usd === null ? "" : `; subscription-equivalent ${money(t.subscription_usd)}`;
  const text = t.billed_usd === null ? `${count(t.billed_requests)} billed, unknown price` : `billed ${money(t.billed_usd)}`;
  return { text, title: `Billed ${money(t.billed_usd)} (${t.billed_requests} request${t.billed_requests === 1 ? "" : "s"})${subscription}.\n\n${BILLED_HELP}` };
}

// ---------- logs ----------

export type Level = "ERROR" | "WARN" | "INFO" | "DEBUG" | "TRACE";

const RANK: Record<string, number> = { ERROR: 0, WARN: 1, INFO: 2, DEBUG: 3, TRACE: 4 };

/** Rounds float noise in a log message (`ttfb_ms=1.4631150000000002` reads `ttfb_ms=1.46`). */
export function tidy(message: string): string {
  return message.replace(/(\d+\.\d{2})\d{3,}/g, "$1");
}

/** Lines at `level` or more severe that contain `search` (in the message or the source), in the order given. */
export function filterLogs(lines: readonly LogLine[], level: Level | "ALL", search: string): LogLine[] {
  const needle = search.trim().toLowerCase();
  return lines.filter((line) => {
    if (level !== "ALL" && (RANK[line.level] ?? RANK.INFO) > RANK[level]) return false;
    return !needle || line.message.toLowerCase().includes(needle) || line.source.toLowerCase().includes(needle);
  });
}

/** A log line's time: "14:02:05" today, else with its date. */
export function logTime(ms: number | null, now = Date.now()): string {
  if (ms === null) return "";
  const seconds = `:${String(new Date(ms).getSeconds()).padStart(2, "0")}`;
  return localDay(ms) === localDay(now) ? clock(ms) + seconds : `${localDay(ms)} ${clock(ms)}${seconds}`;
}

// ---------- windows ----------

/** What a window's gauge says under its percentage. */
export function windowCaption(w: { rejected: boolean; passed: boolean; resets_at_ms: number | null }, now = Date.now()): string {
  if (w.resets_at_ms === null) return w.rejected ? "rejected; reset time not sent" : "reset time not sent";
  if (w.passed || w.resets_at_ms <= now) return `reset passed at ${when(w.resets_at_ms, now)}`;
  if (w.rejected) return `rejected until ${when(w.resets_at_ms, now)}`;
  return `resets ${when(w.resets_at_ms, now)}`;
}

/** The projection in words: when the window fills at the recent burn rate, if before it resets. */
export function projectionText(w: WindowSeries, now = Date.now()): string {
  if (w.now.passed) return "This window is over; the next request starts a new one.";
  if (w.now.rejected) return "Full: requests are refused until it resets.";
  const p = w.projection;
  if (p === null || p.rate_per_hour <= 0) return "Not filling at the recent rate.";
  const perHour = `${percent(p.rate_per_hour, p.rate_per_hour < 0.1 ? 1 : 0)} an hour`;
  if (p.fills_at_ms === null) return `At ${perHour}, it resets before it fills.`;
  return `At ${perHour}, full at ${when(p.fills_at_ms, now)} (in ${duration(Math.max(0, p.fills_at_ms - now))}).`;
}

/** Gauge colour class for a utilization. */
export function level(utilization: number | null, rejected: boolean): "ok" | "warn" | "high" | "full" {
  if (rejected) return "full";
  const u = utilization ?? 0;
  if (u >= 0.95) return "high";
  if (u >= 0.8) return "warn";
  return "ok";
}

/**
 * A window's readings as chart points in percent, with a gap (null)
 * between instances: each reset shows as the line breaking and starting
 * again low.
 */
export function windowLine(w: WindowSeries): { x: number; y: number | null }[] {
  const out: { x: number; y: number | null }[] = [];
  w.instances.forEach((instance, i) => {
    if (i > 0 && instance.points.length) out.push({ x: instance.points[0].ts_ms - 1, y: null });
    for (const p of instance.points) out.push({ x: p.ts_ms, y: Math.round(p.utilization * 1000) / 10 });
  });
  return out;
}

/** The resets between the instances shown (the chart's reset markers). */
export function resetsWithin(w: WindowSeries): number[] {
  return w.instances
    .slice(0, -1)
    .map((instance) => instance.resets_at_ms)
    .filter((ms): ms is number => ms !== null);
}

// ---------- request classes ----------

/** "Subagents cost 38% of today": each kind's share of the day's priced cost, biggest first. */
export function classShares(shares: readonly ClassShare[]): { label: string; share: number; cost_usd: number | null; unpriced: number }[] {
  return shares
    .filter((s) => s.share_of_cost !== null)
    .map((s) => ({ label: s.label, share: s.share_of_cost ?? 0, cost_usd: s.cost_usd, unpriced: s.unpriced_requests }))
    .sort((a, b) => b.share - a.share);
}

export function classLabel(requestClass: string | null, agentType: string | null): string {
  switch (requestClass) {
    case null:
    case "":
      return "Unclassified";
    case "main":
      return "Main conversation";
    case "subagent":
      return agentType ? `Subagent: ${agentType}` : "Subagents";
    case "compaction":
      return "Compaction";
    default:
      return requestClass.charAt(0).toUpperCase() + requestClass.slice(1);
  }
}

// ---------- colours ----------

// One colour per model everywhere: a family keeps its hue (Opus violet,
// Sonnet blue, Haiku teal), each version its own shade; other models take
// warm colours. Chosen to read on light and dark backgrounds.
const FAMILY: Record<string, string[]> = {
  opus: ["#7c5cff", "#a48bff", "#5a3fd6"],
  sonnet: ["#2f7cf6", "#5fa2ff", "#1d5bc4"],
  haiku: ["#12a594", "#3cc7b4", "#0b7d70"],
};
const OTHER = ["#e5883a", "#d4587a", "#b8a13a", "#8a6f5c", "#6b8e23"];

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

export function modelColor(model: string): string {
  const name = modelName(model).toLowerCase();
  for (const [family, shades] of Object.entries(FAMILY)) {
    if (name.includes(family)) return shades[hash(name) % shades.length];
  }
  return OTHER[hash(name) % OTHER.length];
}

const WINDOW_COLORS: Record<string, string> = { "5h": "#2f7cf6", "7d": "#7c5cff", "7d_oi": "#e5883a", "7d_opus": "#d4587a" };

export function windowColor(name: string): string {
  return WINDOW_COLORS[name] ?? OTHER[hash(name) % OTHER.length];
}

/** The total of a spend figure for the Overview's cards, saying what is unknown. */
export function spendFigure(cost: number | null, unpriced: number): { value: string; note: string | null } {
  return { value: money(cost), note: unpriced > 0 ? `+ ${unpriced} with unknown price` : null };
}

// ---------- settings ----------

/** Anthropic's cache prices as multiples of the input price. */
export const CACHE_RATIOS = { cache_read: 0.1, cache_write_5m: 1.25, cache_write_1h: 2 };
const round = (usd: number) => Math.round(usd * 1e6) / 1e6;

/** A price override as typed: empty fields are `null` until checked. */
export type PriceDraft = { [K in keyof PriceOverrideFields]: number | null } & { model: string };
type PriceOverrideFields = { input: number; output: number; cache_write_5m: number; cache_write_1h: number; cache_read: number };

/**
 * Checks the settings form before saving (the core checks again, in
 * config/check.rs); each problem names its field, as the core's do.
 */
export function validateSettings(
  form: Omit<SettingsForm, "price_overrides">,
  thresholdsText: string,
  prices: readonly PriceDraft[],
): { form: SettingsForm; problems: FieldProblem[] } {
  const problems: FieldProblem[] = [];
  if (!Number.isInteger(form.port) || form.port < 1 || form.port > 65535) problems.push({ field: "port", message: "A port is a whole number from 1 to 65535." });
  if (!Number.isInteger(form.fail_open_after_secs) || form.fail_open_after_secs < 1) problems.push({ field: "fail_open_after_secs", message: "The timeout is a whole number of seconds, 1 or more." });
  const parts = thresholdsText.split(/[\s,%]+/).filter(Boolean);
  const thresholds = parts.map(Number);
  if (thresholds.some((t) => !Number.isInteger(t) || t < 1 || t > 100)) {
    problems.push({ field: "notifications.window_thresholds", message: "Each threshold is a whole percentage from 1 to 100, e.g. 80, 95." });
  }
  const seen = new Set<string>();
  // As the core checks: above this a price is a typo (its MAX_PRICE).
  const MAX_PRICE = 10_000;
  const overrides = prices.map((p, i) => {
    const model = p.model.trim();
    if (!model) problems.push({ field: `price_overrides.${i}.model`, message: "Name the model, e.g. claude-sonnet-4-5." });
    else if (seen.has(model)) problems.push({ field: `price_overrides.${i}.model`, message: `${model} has two prices: keep one.` });
    seen.add(model);
    for (const key of ["input", "output", "cache_read", "cache_write_5m", "cache_write_1h"] as const) {
      const v = p[key];
      // Empty cache prices follow the input price by Anthropic's usual ratios.
      if (v === null && key.startsWith("cache") && p.input !== null) continue;
      if (v === null) problems.push({ field: `price_overrides.${i}.${key}`, message: "Needed: USD per million tokens." });
      else if (!Number.isFinite(v) || v < 0 || v > MAX_PRICE) problems.push({ field: `price_overrides.${i}.${key}`, message: "A price is a number of dollars per million tokens, from 0 to 10,000." });
    }
    const input = p.input ?? 0;
    return {
      model,
      input,
      output: p.output ?? 0,
      cache_read: p.cache_read ?? round(input * CACHE_RATIOS.cache_read),
      cache_write_5m: p.cache_write_5m ?? round(input * CACHE_RATIOS.cache_write_5m),
      cache_write_1h: p.cache_write_1h ?? round(input * CACHE_RATIOS.cache_write_1h),
    };
  });
  const sorted = [...new Set(thresholds)].sort((a, b) => a - b);
  return { form: { ...form, notifications: { ...form.notifications, window_thresholds: sorted }, price_overrides: overrides }, problems };
}

/** What an install of LiteLLM is doing, by its phase (the core's message says the detail). */
export const INSTALL_PHASES: Record<InstallPhase, string> = {
  python: "Looking for Python",
  venv: "Creating the venv",
  uv: "Installing uv",
  packages: "Installing LiteLLM and its dependencies",
  verify: "Checking the install",
  done: "Done",
};

/** What the running gateway's LiteLLM engine is doing, in one line. */
export function engineRunLine(run: EngineRun): { text: string; dot: "running" | "degraded" | "" } {
  switch (run) {
    case "idle":
      return { text: "Not running: it starts with the first request that needs it (Chat Completions, or a Bedrock upstream's).", dot: "" };
    case "starting":
      return { text: "Starting behind the gateway (10 to 30 s)…", dot: "degraded" };
    case "ready":
      return { text: "Running behind the gateway: it serves Chat Completions (/v1/chat/completions) and Bedrock.", dot: "running" };
    case "down":
      return { text: "Down: see logs/litellm.log (Open logs) for why.", dot: "degraded" };
  }
}

/** "Key alice-laptop: $12.35 of a $50.00 budget (25%), resets 2027-01-01": a team proxy's word on its key. */
export function teamSpendLine(info: TeamKeyInfo): string {
  const key = info.key_alias ? `Key ${info.key_alias}` : "This key";
  const reset = info.budget_reset_at ? `, resets ${info.budget_reset_at.slice(0, 10)}` : "";
  if (info.max_budget_usd === null) return `${key}: ${moneyFine(info.spend_usd)} spent, no budget${reset}`;
  const share = info.max_budget_usd > 0 ? ` (${Math.round((100 * info.spend_usd) / info.max_budget_usd)}%)` : "";
  return `${key}: ${moneyFine(info.spend_usd)} of a ${money(info.max_budget_usd)} budget${share}${reset}`;
}

/** "aws — ready", "aws — the LiteLLM engine is starting (12 s so far…)": one upstream the engine serves. */
export function servedLine(served: ServedUpstream): { text: string; ready: boolean } {
  const state = served.engine;
  return state.state === "ready" ? { text: `${served.name} — ready`, ready: true } : { text: `${served.name} — ${state.detail}`, ready: false };
}
