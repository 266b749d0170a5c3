// The dashboard's logic that is not drawing: date ranges in the OS time
// zone, sorting and filtering tables, exports, log lines, projections and
// the colour of each model. Pure, and tested with vitest.

import { clock, duration, localDay, modelName, money, percent, when } from "./format";
import type { ClassShare, FieldError, Settings, SpendRow, WindowSeries } from "./types";

// ---------- date ranges ----------

export interface Range {
  /** First local day, YYYY-MM-DD, inclusive. */
  from: string;
  /** Last local day, inclusive. */
  to: string;
}

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
export function lastDays(days: number, now = Date.now()): Range {
  const to = localDay(now);
  return { from: addDays(to, -(days - 1)), to };
}

/** The half-open Unix ms interval a range covers: [start of `from`, start of the day after `to`). */
export function rangeMs(range: Range): { since_ms: number; until_ms: number } {
  return { since_ms: dayStart(range.from), until_ms: dayStart(addDays(range.to, 1)) };
}

/** Checks a range typed by hand; the message says what to change. */
export function validateRange(range: Range, now = Date.now()): string | null {
  const re = /^\d{4}-\d{2}-\d{2}$/;
  if (!re.test(range.from) || !re.test(range.to)) return "Pick both a start and an end date.";
  if (range.from > range.to) return "The start date is after the end date: swap them.";
  if (range.from > localDay(now)) return "The range starts in the future: nothing is recorded yet.";
  return null;
}

/** Every local day of a range, in order. */
export function daysOf(range: Range): string[] {
  const days: string[] = [];
  for (let day = range.from; day <= range.to; day = addDays(day, 1)) days.push(day);
  return days;
}

// ---------- tables ----------

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
export function filterRows<T extends { key: string; label: string }>(rows: readonly T[], filter: string): T[] {
  const words = filter.toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) return [...rows];
  return rows.filter((row) => {
    const text = `${row.label} ${row.key}`.toLowerCase();
    return words.every((word) => text.includes(word));
  });
}

/** The sum over rows, with unknown costs counted apart (never as $0). */
export function sumRows(rows: readonly SpendRow[]): { cost_usd: number; requests: number; unpriced_requests: number } {
  let cost = 0;
  let requests = 0;
  let unpriced = 0;
  for (const row of rows) {
    cost += row.cost_usd ?? 0;
    requests += row.requests;
    unpriced += row.unpriced_requests;
  }
  return { cost_usd: cost, requests, unpriced_requests: unpriced };
}

// ---------- export ----------

const COLUMNS: (keyof SpendRow)[] = [
  "label",
  "requests",
  "input_tokens",
  "output_tokens",
  "cache_read_tokens",
  "cache_write_tokens",
  "cost_usd",
  "unpriced_requests",
];

function csvField(value: unknown): string {
  const text = value === null || value === undefined ? "" : String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/**
 * The table as CSV, one line per row as shown: an unknown cost is an empty
 * field (never 0), and `unpriced_requests` says how many requests it lacks.
 */
export function toCsv(rows: readonly SpendRow[], groupBy: string): string {
  const header = [groupBy, ...COLUMNS.slice(1)].join(",");
  const lines = rows.map((row) => COLUMNS.map((column) => csvField(row[column])).join(","));
  return [header, ...lines].join("\n") + "\n";
}

/** The table as JSON, with the range and grouping it was made for. */
export function toJson(rows: readonly SpendRow[], groupBy: string, range: Range): string {
  const out = rows.map((row) => Object.fromEntries([[groupBy, row.label], ...COLUMNS.slice(1).map((c) => [c, row[c]])]));
  return JSON.stringify({ from: range.from, to: range.to, group_by: groupBy, rows: out }, null, 2) + "\n";
}

export function exportName(groupBy: string, range: Range, format: "csv" | "json"): string {
  return `gatehouse-spend-by-${groupBy.replace(/_/g, "-")}-${range.from}-to-${range.to}.${format}`;
}

// ---------- logs ----------

export type Level = "ERROR" | "WARN" | "INFO" | "DEBUG" | "TRACE";

export interface LogLine {
  time: string | null;
  level: Level | null;
  text: string;
}

const LOG_LINE = /^(\S+T\S+)\s+(ERROR|WARN|INFO|DEBUG|TRACE)\s+(.*)$/;

/**
 * One gateway log line in one format: its time, level and message, with
 * float noise rounded (`ttfb_ms=1.4631150000000002` reads `ttfb_ms=1.46`)
 * and ANSI colour codes dropped.
 */
export function parseLogLine(raw: string): LogLine {
  // eslint-disable-next-line no-control-regex
  const line = raw.replace(/\x1b\[[0-9;]*m/g, "").trimEnd();
  const match = LOG_LINE.exec(line);
  const text = (match ? match[3] : line).replace(/(\d+\.\d{2})\d{3,}/g, "$1");
  if (!match) return { time: null, level: null, text };
  const date = new Date(match[1]);
  return { time: Number.isNaN(date.getTime()) ? match[1] : `${localDay(date.getTime())} ${clock(date.getTime())}:${String(date.getSeconds()).padStart(2, "0")}`, level: match[2] as Level, text };
}

const RANK: Record<Level, number> = { ERROR: 0, WARN: 1, INFO: 2, DEBUG: 3, TRACE: 4 };

/** Lines at `level` or more severe that contain `search`, newest first (the tail comes oldest first). */
export function filterLogs(raw: readonly string[], level: Level | "ALL", search: string): LogLine[] {
  const needle = search.trim().toLowerCase();
  const out: LogLine[] = [];
  for (let i = raw.length - 1; i >= 0; i--) {
    const line = parseLogLine(raw[i]);
    if (level !== "ALL" && line.level !== null && RANK[line.level] > RANK[level]) continue;
    if (level !== "ALL" && line.level === null) continue;
    if (needle && !line.text.toLowerCase().includes(needle) && !(line.level ?? "").toLowerCase().includes(needle)) continue;
    out.push(line);
  }
  return out;
}

// ---------- windows ----------

/** What a window's gauge says under its percentage. */
export function windowCaption(w: { rejected: boolean; passed: boolean; resets_at_ms: number | null }, now = Date.now()): string {
  if (w.resets_at_ms === null) return "reset time not sent";
  if (w.passed || w.resets_at_ms <= now) return `reset passed at ${when(w.resets_at_ms, now)}`;
  if (w.rejected) return `rejected until ${when(w.resets_at_ms, now)}`;
  return `resets ${when(w.resets_at_ms, now)}`;
}

/** The projection in words: when the window fills at the recent burn rate, if before it resets. */
export function projectionText(w: WindowSeries, now = Date.now()): string {
  if (w.rejected) return "Full: requests are refused until it resets.";
  const rate = w.projection.rate_per_hour;
  if (rate === null || rate <= 0 || w.projection.fills_at_ms === null) return "Not filling at the recent rate.";
  const perHour = `${percent(rate, rate < 0.1 ? 1 : 0)} an hour`;
  const fills = w.projection.fills_at_ms;
  if (w.resets_at_ms !== null && fills >= w.resets_at_ms) return `At ${perHour}, it resets before it fills.`;
  return `At ${perHour}, full at ${when(fills, now)} (in ${duration(Math.max(0, fills - now))}).`;
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
 * A window's readings as chart points, a gap (null) between instances so
 * each reset shows as the line breaking and starting again low.
 */
export function windowLine(w: WindowSeries): { x: number; y: number | null }[] {
  const out: { x: number; y: number | null }[] = [];
  let instance: number | null = null;
  for (const p of w.points) {
    if (instance !== null && p.resets_at_ms !== instance) out.push({ x: instance, y: null });
    instance = p.resets_at_ms;
    out.push({ x: p.ts_ms, y: Math.round(p.utilization * 1000) / 10 });
  }
  return out;
}

/** Reset moments that fall inside the readings (for the chart's reset markers). */
export function resetsWithin(w: WindowSeries): number[] {
  const seen = new Set<number>();
  const first = w.points[0]?.ts_ms ?? Infinity;
  const last = w.points[w.points.length - 1]?.ts_ms ?? -Infinity;
  for (const p of w.points) if (p.resets_at_ms >= first && p.resets_at_ms <= last) seen.add(p.resets_at_ms);
  return [...seen].sort((a, b) => a - b);
}

// ---------- request classes ----------

/** "Subagents cost 38% of today": the share of the non-main classes, biggest first. */
export function classShares(shares: readonly ClassShare[]): { label: string; share: number; cost_usd: number }[] {
  const total = shares.reduce((sum, s) => sum + s.cost_usd, 0);
  if (total <= 0) return [];
  const byLabel = new Map<string, number>();
  for (const s of shares) {
    const label = classLabel(s.request_class, s.agent_type);
    byLabel.set(label, (byLabel.get(label) ?? 0) + s.cost_usd);
  }
  return [...byLabel]
    .map(([label, cost]) => ({ label, share: cost / total, cost_usd: cost }))
    .sort((a, b) => b.cost_usd - a.cost_usd);
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
export function spendFigure(cost: number, unpriced: number): { value: string; note: string | null } {
  return { value: money(cost), note: unpriced > 0 ? `+ ${unpriced} request${unpriced === 1 ? "" : "s"} with unknown price` : null };
}

// ---------- settings ----------


/** Checks the settings form before saving; the core checks again (config/check.rs). */
export function validateSettings(s: Settings, thresholdsText: string): { settings: Settings; errors: FieldError[] } {
  const errors: FieldError[] = [];
  if (!Number.isInteger(s.port) || s.port < 1 || s.port > 65535) errors.push({ field: "port", message: "A port is a whole number from 1 to 65535." });
  if (!(s.fail_open_timeout_secs > 0)) errors.push({ field: "fail_open_timeout_secs", message: "The timeout is a number of seconds above 0." });
  const parts = thresholdsText.split(/[\s,]+/).filter(Boolean);
  const thresholds = parts.map(Number);
  if (thresholds.some((t) => !Number.isFinite(t) || t <= 0 || t > 100)) {
    errors.push({ field: "window_thresholds", message: "Each threshold is a percentage above 0 and at most 100, e.g. 80, 95." });
  }
  const seen = new Set<string>();
  s.price_overrides.forEach((p, i) => {
    const model = p.model.trim();
    if (!model) errors.push({ field: `price_overrides.${i}.model`, message: "Name the model, e.g. claude-sonnet-4-5." });
    else if (seen.has(model)) errors.push({ field: `price_overrides.${i}.model`, message: `${model} has two prices: keep one.` });
    seen.add(model);
    for (const key of ["input", "output", "cache_read", "cache_write_5m", "cache_write_1h"] as const) {
      const v = p[key];
      if (v !== null && (!Number.isFinite(v) || v < 0)) errors.push({ field: `price_overrides.${i}.${key}`, message: "A price is a number of dollars, 0 or more." });
    }
    if (p.input === null || p.output === null) errors.push({ field: `price_overrides.${i}.${p.input === null ? "input" : "output"}`, message: "Input and output prices are needed." });
  });
  const sorted = [...new Set(thresholds)].sort((a, b) => a - b);
  return { settings: { ...s, notifications: { ...s.notifications, window_thresholds: sorted }, price_overrides: s.price_overrides.map((p) => ({ ...p, model: p.model.trim() })) }, errors };
}
