// UI logic: formatting, date ranges in the OS zone, sorting and filtering,
// log lines, window lines and projections, settings checks.
// Run with TZ=Europe/Berlin (scripts/test-ui sets it) so days cross a DST change.

import { describe, expect, test } from "vitest";
import { count, duration, modelName, money, moneyFine, percent, points, size, tokens, until, when } from "./format";
import {
  addDays,
  billedNote,
  classShares,
  dayStart,
  filterLogs,
  filterRows,
  lastDays,
  level,
  mergeNewest,
  modelColor,
  projectionText,
  resetsWithin,
  engineRunLine,
  servedLine,
  teamSpendLine,
  sortRows,
  sumRows,
  tidy,
  validateRange,
  validateSettings,
  windowCaption,
  windowLine,
} from "./logic";
import type { ClassShare, LogLine, SpendRow, WindowSeries } from "./types";

const local = (y: number, m: number, d: number, h = 0, min = 0) => new Date(y, m - 1, d, h, min).getTime();

describe("format", () => {
  test("money: unknown is never $0, tiny is <$0.01", () => {
    expect(money(null)).toBe("unknown price");
    expect(money(0)).toBe("$0.00");
    expect(money(0.004)).toBe("<$0.01");
    expect(money(1234.5)).toBe("$1,234.50");
    expect(money(3, 2)).toBe("$3.00 + 2 unpriced");
    expect(moneyFine(0.0042)).toBe("$0.0042");
    expect(moneyFine(null)).toBe("unknown price");
  });
  test("tokens, counts, percentages and points", () => {
    expect(tokens(950)).toBe("950");
    expect(tokens(1000)).toBe("1k");
    expect(tokens(12_345)).toBe("12.3k");
    expect(tokens(4_560_000)).toBe("4.56M");
    expect(count(1234567)).toBe("1,234,567");
    expect(percent(0.625, 1)).toBe("62.5%");
    expect(percent(0.6)).toBe("60%");
    expect(percent(null)).toBe("—");
    expect(points(0.031)).toBe("+3.1 pts");
    expect(points(0.0004)).toBe("<0.1 pts");
    expect(points(0)).toBe("0 pts");
    expect(points(null)).toBe("—");
  });
  test("durations have no float noise", () => {
    expect(duration(1.4631150000000002)).toBe("1 ms");
    expect(duration(1463.115)).toBe("1.5 s");
    expect(duration(125_000)).toBe("2 min 5 s");
    expect(duration(2 * 3_600_000 + 60_000)).toBe("2 h 1 min");
    expect(duration(null)).toBe("—");
  });
  test("times are local: today as a clock, this week with the weekday", () => {
    const now = local(2026, 11, 30, 15);
    expect(when(local(2026, 11, 30, 9, 5), now)).toBe("09:05");
    expect(when(local(2026, 12, 3, 9), now)).toBe("Thu 09:00");
    expect(when(local(2026, 11, 2, 9), now)).toBe("2 Nov 09:00");
    expect(until(now + 72 * 60_000, now)).toBe("in 1 h 12 min");
    expect(until(now - 1, now)).toBe("passed");
  });
  test("model names lose the prefix and the date", () => {
    expect(modelName("claude-sonnet-4-5-20250929")).toBe("sonnet-4-5");
    expect(modelName("gpt-x")).toBe("gpt-x");
  });
});

describe("date ranges follow the OS time zone", () => {
  test("a day across the autumn clock change is 25 hours", () => {
    expect(Intl.DateTimeFormat().resolvedOptions().timeZone).toBe("Europe/Berlin");
    expect(dayStart("2026-10-26") - dayStart("2026-10-25")).toBe(25 * 3_600_000);
    expect(addDays("2026-10-24", 2)).toBe("2026-10-26");
    expect(addDays("2026-03-01", -1)).toBe("2026-02-28");
  });
  test("the last n days end today", () => {
    expect(lastDays(7, local(2026, 11, 30, 0, 30))).toEqual({ first_day: "2026-11-24", last_day: "2026-11-30" });
    expect(lastDays(1, local(2026, 11, 30, 23, 59))).toEqual({ first_day: "2026-11-30", last_day: "2026-11-30" });
  });
  test("a typed range is checked with a message that says what to do", () => {
    const now = local(2026, 11, 30, 12);
    expect(validateRange({ first_day: "2026-11-01", last_day: "2026-11-30" }, now)).toBeNull();
    expect(validateRange({ first_day: "2026-11-20", last_day: "2026-11-10" }, now)).toMatch(/swap them/);
    expect(validateRange({ first_day: "", last_day: "2026-11-10" }, now)).toMatch(/both/);
    expect(validateRange({ first_day: "2026-12-05", last_day: "2026-12-06" }, now)).toMatch(/future/);
  });
});

const row = (label: string, cost: number | null, requests = 1, unpriced = 0, billed = 0): SpendRow => ({
  key: label === "(none)" ? null : label,
  label,
  first_ms: 0,
  last_ms: 0,
  requests,
  cost_usd: cost,
  billed_usd: cost === null ? null : billed,
  subscription_usd: cost === null ? null : Math.round((cost - billed) * 1e9) / 1e9,
  billed_requests: billed > 0 ? 1 : 0,
  unpriced_requests: unpriced,
  input_tokens: 0,
  output_tokens: 0,
  cache_write_tokens: 0,
  cache_read_tokens: 0,
  cache_savings_usd: null,
});

describe("tables", () => {
  const rows = [row("~/src/webshop", 3), row("~/notes", null, 4, 4), row("~/src/gatehouse", 10), row("(none)", 1)];
  test("sorting puts unknown costs last in both directions", () => {
    expect(sortRows(rows, "cost_usd", "desc").map((r) => r.label)).toEqual(["~/src/gatehouse", "~/src/webshop", "(none)", "~/notes"]);
    expect(sortRows(rows, "cost_usd", "asc").map((r) => r.label)).toEqual(["(none)", "~/src/webshop", "~/src/gatehouse", "~/notes"]);
    expect(sortRows(rows, "label", "asc").map((r) => r.label)[0]).toBe("(none)");
  });
  test("filtering matches every word, in the label or the key", () => {
    expect(filterRows(rows, "src WEB").map((r) => r.label)).toEqual(["~/src/webshop"]);
    expect(filterRows(rows, "  ")).toHaveLength(4);
    expect(filterRows(rows, "none")).toHaveLength(1);
  });
  test("rows that land go on top, once each, and the list keeps its length", () => {
    const ids = (rows: { id: number }[]) => rows.map((r) => r.id);
    expect(ids(mergeNewest([{ id: 5 }, { id: 4 }], [{ id: 4 }, { id: 3 }, { id: 2 }], 3))).toEqual([5, 4, 3]);
    expect(ids(mergeNewest([], [{ id: 2 }, { id: 1 }], 3))).toEqual([2, 1]);
    expect(ids(mergeNewest([{ id: 9 }], [], 3))).toEqual([9]);
  });
  test("sums keep unknown prices apart", () => {
    expect(sumRows(rows)).toEqual({ cost_usd: 14, billed_usd: 0, subscription_usd: 14, requests: 7, unpriced_requests: 4 });
  });
  test("billed and subscription-equivalent sums add up to the cost to the nano-dollar", () => {
    // 0.1 + 0.2 is 0.30000000000000004 in floating point; in nano-dollars it is 0.3.
    const split = [row("a", 0.1, 1, 0, 0.1), row("b", 0.2, 1, 0, 0.2), row("c", 0.700000001, 1, 0, 0.000000001), row("d", null, 2, 2)];
    const sum = sumRows(split);
    expect(sum).toEqual({ cost_usd: 1.000000001, billed_usd: 0.300000001, subscription_usd: 0.7, requests: 5, unpriced_requests: 2 });
    expect(Math.round(sum.billed_usd * 1e9) + Math.round(sum.subscription_usd * 1e9)).toBe(Math.round(sum.cost_usd * 1e9));
  });
  test("a billed part shows beside a total only when something was billed", () => {
    expect(billedNote({ billed_usd: 0, subscription_usd: 4.21, billed_requests: 0 })).toBeNull();
    const note = billedNote({ billed_usd: 0.8, subscription_usd: 3.41, billed_requests: 3 })!;
    expect(note.text).toBe("billed $0.80");
    expect(note.title).toContain("subscription-equivalent $3.41");
    expect(note.title).toContain("API key");
    expect(billedNote({ billed_usd: null, subscription_usd: null, billed_requests: 1 })!.text).toBe("1 billed, unknown price");
  });
});

describe("logs", () => {
  const lines: LogLine[] = [
    { ts_ms: 3, level: "ERROR", source: "gateway::proxy", message: "upstream reset" },
    { ts_ms: 2, level: "INFO", source: "gateway::proxy", message: "POST /v1/messages ttfb_ms=1.4631150000000002" },
    { ts_ms: 1, level: "DEBUG", source: "ledger::writer", message: "committed 3 rows" },
    { ts_ms: null, level: "WARN", source: "supervisor", message: "restarting" },
  ];
  test("level filter keeps that level and worse, in the order given (newest first)", () => {
    expect(filterLogs(lines, "ALL", "").map((l) => l.ts_ms)).toEqual([3, 2, 1, null]);
    expect(filterLogs(lines, "WARN", "").map((l) => l.level)).toEqual(["ERROR", "WARN"]);
    expect(filterLogs(lines, "INFO", "").map((l) => l.level)).toEqual(["ERROR", "INFO", "WARN"]);
  });
  test("search looks in the message and the source", () => {
    expect(filterLogs(lines, "ALL", "LEDGER")).toHaveLength(1);
    expect(filterLogs(lines, "ALL", "v1/messages")).toHaveLength(1);
  });
  test("float noise is rounded", () => {
    expect(tidy("ttfb_ms=1.4631150000000002 duration_ms=8021.1")).toBe("ttfb_ms=1.46 duration_ms=8021.1");
    expect(tidy("version 2.1.328")).toBe("version 2.1.328");
  });
});

const HOUR = 3_600_000;
function series(over: Partial<WindowSeries["now"]>, projection: WindowSeries["projection"], instances: WindowSeries["instances"] = []): WindowSeries {
  return {
    now: { name: "5h", title: "5-hour window", utilization: 0.6, resets_at_ms: local(2026, 11, 30, 18), status: "allowed", rejected: false, passed: false, as_of_ms: 0, label: "", ...over },
    instances,
    projection,
    top_requests: [],
  };
}

describe("windows", () => {
  const now = local(2026, 11, 30, 15);
  test("captions: rejected with its reset, a passed reset as passed", () => {
    expect(windowCaption({ rejected: false, passed: false, resets_at_ms: local(2026, 11, 30, 18) }, now)).toBe("resets 18:00");
    expect(windowCaption({ rejected: true, passed: false, resets_at_ms: local(2026, 12, 3, 9) }, now)).toBe("rejected until Thu 09:00");
    expect(windowCaption({ rejected: false, passed: true, resets_at_ms: local(2026, 11, 30, 14) }, now)).toBe("reset passed at 14:00");
    expect(windowCaption({ rejected: false, passed: false, resets_at_ms: local(2026, 11, 30, 14) }, now)).toBe("reset passed at 14:00");
    expect(windowCaption({ rejected: false, passed: false, resets_at_ms: null }, now)).toBe("reset time not sent");
  });
  test("projection in words", () => {
    expect(projectionText(series({}, { rate_per_hour: 0.2, fills_at_ms: now + 2 * HOUR }), now)).toBe("At 20% an hour, full at 17:00 (in 2 h).");
    expect(projectionText(series({}, { rate_per_hour: 0.05, fills_at_ms: null }), now)).toBe("At 5% an hour, it resets before it fills.");
    expect(projectionText(series({}, { rate_per_hour: 0.004, fills_at_ms: null }), now)).toBe("At 0.4% an hour, it resets before it fills.");
    expect(projectionText(series({}, null), now)).toBe("Not filling at the recent rate.");
    expect(projectionText(series({ rejected: true }, null), now)).toMatch(/refused until it resets/);
    expect(projectionText(series({ passed: true }, null), now)).toMatch(/over/);
  });
  test("gauge levels", () => {
    expect(level(0.5, false)).toBe("ok");
    expect(level(0.8, false)).toBe("warn");
    expect(level(0.96, false)).toBe("high");
    expect(level(0.2, true)).toBe("full");
  });
  test("a reset breaks the line and is marked", () => {
    const w = series({}, null, [
      { resets_at_ms: 1000, points: [{ ts_ms: 10, utilization: 0.1, request: 1 }, { ts_ms: 20, utilization: 0.955, request: 2 }] },
      { resets_at_ms: 2000, points: [{ ts_ms: 1100, utilization: 0.02, request: 3 }] },
    ]);
    expect(windowLine(w)).toEqual([{ x: 10, y: 10 }, { x: 20, y: 95.5 }, { x: 1099, y: null }, { x: 1100, y: 2 }]);
    expect(resetsWithin(w)).toEqual([1000]);
  });
});

describe("request classes and colours", () => {
  const share = (label: string, share_of_cost: number | null, cost: number | null): ClassShare => ({
    request_class: null, agent_type: null, label, share_of_cost, requests: 1, cost_usd: cost, unpriced_requests: 0,
    billed_usd: cost === null ? null : 0, subscription_usd: cost, billed_requests: 0, input_tokens: 0, output_tokens: 0, cache_write_tokens: 0, cache_read_tokens: 0, cache_savings_usd: null,
  });
  test("shares sort by size and skip kinds without a priced cost", () => {
    expect(classShares([share("Main", 0.62, 6.2), share("Subagent (Explore)", 0.38, 3.8), share("Compaction", null, null)]).map((s) => s.label)).toEqual(["Main", "Subagent (Explore)"]);
  });
  test("a model keeps its colour everywhere; families keep their hue", () => {
    expect(modelColor("claude-opus-4-5-20251101")).toBe(modelColor("claude-opus-4-5-20251101"));
    expect(["#7c5cff", "#a48bff", "#5a3fd6"]).toContain(modelColor("claude-opus-4-1"));
    expect(["#2f7cf6", "#5fa2ff", "#1d5bc4"]).toContain(modelColor("claude-sonnet-4-5-20250929"));
  });
});

describe("settings", () => {
  const form = { port: 4000, fail_open_after_secs: 10, notifications: { window_thresholds: [80, 95], window_rejected: true, window_reset: true } };
  test("valid input: thresholds sorted and unique, cache prices from the input price", () => {
    const out = validateSettings(form, "95, 80 80", [{ model: " claude-x ", input: 2, output: 10, cache_read: null, cache_write_5m: null, cache_write_1h: 3 }]);
    expect(out.problems).toEqual([]);
    expect(out.form.notifications.window_thresholds).toEqual([80, 95]);
    expect(out.form.price_overrides).toEqual([{ model: "claude-x", input: 2, output: 10, cache_read: 0.2, cache_write_5m: 2.5, cache_write_1h: 3 }]);
  });
  test("each problem names its field", () => {
    const out = validateSettings({ ...form, port: 70000, fail_open_after_secs: 0 }, "80, 101", [
      { model: "", input: null, output: 1, cache_read: null, cache_write_5m: null, cache_write_1h: null },
      { model: "a", input: 1, output: -1, cache_read: null, cache_write_5m: null, cache_write_1h: null },
      { model: "a", input: 1, output: 1, cache_read: null, cache_write_5m: null, cache_write_1h: null },
    ]);
    expect(out.problems.map((p) => p.field)).toEqual([
      "port",
      "fail_open_after_secs",
      "notifications.window_thresholds",
      "price_overrides.0.model",
      "price_overrides.0.input",
      "price_overrides.0.cache_read",
      "price_overrides.0.cache_write_5m",
      "price_overrides.0.cache_write_1h",
      "price_overrides.1.output",
      "price_overrides.2.model",
    ]);
  });
});

describe("the LiteLLM engine", () => {
  test("its size reads as a download's", () => {
    expect(size(652_300_000)).toBe("652 MB");
    expect(size(1_234_000_000)).toBe("1.2 GB");
    expect(size(2_000_000_000)).toBe("2 GB");
  });
  test("each upstream it serves: ready, or the gateway's own words on why not", () => {
    expect(servedLine({ name: "aws", engine: { state: "ready" } })).toEqual({ text: "aws — ready", ready: true });
    expect(engineRunLine("ready").dot).toBe("running");
    expect(engineRunLine("idle").text).toContain("starts with the first request");
    expect(engineRunLine("down").dot).toBe("degraded");
    const starting = "the LiteLLM engine is starting (12 s so far; it takes 10 to 30 s)";
    expect(servedLine({ name: "aws", engine: { state: "not_ready", detail: starting } })).toEqual({ text: `aws — ${starting}`, ready: false });
    expect(servedLine({ name: "aws", engine: { state: "unknown", detail: "the gateway is not running" } }).ready).toBe(false);
  });
});

describe("teamSpendLine", () => {
  const info = { team: "acme", base_url: "https://llm.acme.example", key_alias: "alice-laptop", spend_usd: 12.345678, max_budget_usd: 50, budget_duration: "30d", budget_reset_at: "2027-01-01T00:00:00+00:00", status: "active" };
  test("spend of the budget, its share and the reset day", () => {
    expect(teamSpendLine(info)).toBe("Key alice-laptop: $12.35 of a $50.00 budget (25%), resets 2027-01-01");
  });
  test("no alias, no budget, no reset", () => {
    expect(teamSpendLine({ ...info, key_alias: null, max_budget_usd: null, budget_reset_at: null, spend_usd: 0.0042 })).toBe("This key: $0.0042 spent, no budget");
  });
});
