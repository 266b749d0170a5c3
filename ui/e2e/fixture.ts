// A month of realistic Gatehouse data and an IPC handler over it, for the
// browser tests (through @tauri-apps/api/mocks' mockIPC). The requests are
// generated with a seeded random source, so every run sees the same month:
// several models (one without a known price), several projects, subagents
// and compactions, and a 5-hour and a weekly window that move with each
// request and reset on time. The handler answers the app's commands from
// these rows the way the core's queries do.

import type {
  ClaudeCodeScopes,
  LiteLlmView,
  Warning,
  DayRange,
  FirstRun,
  GroupBy,
  ImportedHistory,
  ImportSummary,
  LoginReply,
  LogLine,
  OpenRouterSignIn,
  Overview,
  RequestDetails,
  RequestRow,
  SaveOutcome,
  SettingsDiff,
  SettingsForm,
  SettingsView,
  SpendDay,
  SpendExport,
  SpendReport,
  SpendRow,
  SpendTotals,
  TeamKeyInfo,
  UpstreamTest,
  View,
  WindowNow,
  WindowSeries,
  WindowsReport,
} from "../src/types";

/** The moment the tests run at (local time of the browser's zone): 30 Nov 2026, 15:00. */
export const NOW_ISO = "2026-11-30T15:00:00";

interface Row extends RequestRow {
  project: string;
  session: string;
  cache_write_tokens: number;
  readings: Record<string, { utilization: number; resets_at_ms: number; delta: number | null }>;
}

const PRICES: Record<string, [number, number] | null> = {
  "claude-opus-4-5-20251101": [5, 25],
  "claude-sonnet-4-5-20250929": [3, 15],
  "claude-haiku-4-5-20251001": [1, 5],
  "claude-nova-preview": null, // no price known: never $0
};
const PROJECTS = ["/home/ana/src/gatehouse", "/home/ana/src/webshop", "/home/ana/notes"];
const HOUR = 3_600_000;

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function cost(model: string, r: { input_tokens: number; output_tokens: number; cache_read_tokens: number; cache_write_tokens: number }): number | null {
  const price = PRICES[model];
  if (!price) return null;
  const [input, output] = price;
  return (r.input_tokens * input + r.output_tokens * output + r.cache_read_tokens * input * 0.1 + r.cache_write_tokens * input * 1.25) / 1e6;
}

export interface Data {
  now: number;
  rows: Row[];
}

/** The month of requests up to `now`. */
/** With `sessionChance`, the chance that a request starts a new session (the `?many-sessions` scenario: long tables). */
export function generate(now: number, sessionChance = 0.03): Data {
  const random = rng(8);
  const rows: Row[] = [];
  const start = now - 30 * 24 * HOUR;
  const models = Object.keys(PRICES);
  // The weekly window resets Thursdays 09:00 local; the 5-hour one 5 h after its first request.
  const weeklyReset = (t: number) => {
    const d = new Date(t);
    const r = new Date(d.getFullYear(), d.getMonth(), d.getDate(), 9);
    while (r.getDay() !== 4 || r.getTime() <= t) r.setDate(r.getDate() + 1);
    return r.getTime();
  };
  let fiveReset = 0;
  let five = 0;
  let week = 0;
  let weekReset = weeklyReset(start);
  // A per-model weekly window, as Anthropic adds them: only Opus requests fill it.
  let opus = 0;
  let id = 0;
  let session = "";
  let lastTs = 0;
  // The story the Windows page must explain: 40 minutes ago, after a model
  // switch, one message rewrote the whole context into the cache.
  let story = false;
  for (let t = start; t < now; ) {
    const hour = new Date(t).getHours();
    const working = hour >= 8 && hour < 20;
    t += working ? (2 + random() * 14) * 60_000 : (1 + random() * 5) * HOUR;
    if (t >= now) break;
    if (!working && random() < 0.7) continue;
    id++;
    if (t - lastTs > 2 * HOUR || random() < sessionChance) session = `5f1c${Math.floor(random() * 1e8).toString(16)}-session`;
    const idle = t - lastTs > HOUR;
    lastTs = t;
    const pick = random();
    const model = pick < 0.3 ? models[0] : pick < 0.82 ? models[1] : pick < 0.95 ? models[2] : models[3];
    const cls = random();
    const request_class = cls < 0.68 ? "main" : cls < 0.94 ? "subagent" : "compaction";
    const agent_type = request_class === "subagent" ? (random() < 0.6 ? "Explore" : "general-purpose") : null;
    const switched = !story && t >= now - 40 * 60_000;
    if (switched) story = true;
    const rebuild = switched || (idle && random() < 0.8);
    const r = {
      input_tokens: Math.floor(20 + random() * 3000),
      output_tokens: Math.floor(80 + random() * (request_class === "compaction" ? 6000 : 2500)),
      cache_read_tokens: rebuild ? 0 : Math.floor(10_000 + random() * 140_000),
      cache_write_tokens: switched ? 182_000 : rebuild ? Math.floor(60_000 + random() * 90_000) : Math.floor(random() * 8000),
    };
    if (t >= fiveReset) (fiveReset = t + 5 * HOUR, (five = 0));
    if (t >= weekReset) (weekReset = weeklyReset(t), (week = 0), (opus = 0));
    const weight = (r.output_tokens + r.cache_write_tokens / 3 + r.input_tokens) / 1e6 * (model.includes("opus") ? 5 : model.includes("haiku") ? 0.4 : 2);
    const d5 = Math.min(1 - five, weight * 0.9);
    const d7 = Math.min(1 - week, weight * 0.1);
    const dOpus = model.includes("opus") ? Math.min(1 - opus, weight * 0.12) : 0;
    five += d5;
    week += d7;
    opus += dOpus;
    const status = random() < 0.015 ? 529 : 200;
    const imported = t < start + 4 * 24 * HOUR; // the first days came from transcripts
    // Now and then the subscription's window was used up and a paid key served (no random draw: the rest stays as it was).
    const failedOver = !imported && id % 97 === 0;
    // Served with an API key, so billed: the failed-over ones (a paid upstream) and now and then the gateway's own key.
    const billed = failedOver || (!imported && id % 13 === 0);
    rows.push({
      id,
      ts_ms: Math.round(t),
      model,
      upstream: imported ? null : failedOver ? "openrouter" : "anthropic",
      client: imported ? null : "claude-code",
      status,
      complete: status === 200 && random() > 0.01,
      streamed: true,
      source: imported ? "transcript" : "gateway",
      ...r,
      cache_write_5m_tokens: r.cache_write_tokens,
      cache_write_1h_tokens: 0,
      cost_usd: status === 200 ? cost(model, r) : PRICES[model] ? 0 : null,
      ttfb_ms: imported ? null : Math.round(300 + random() * 1800),
      duration_ms: imported ? null : Math.round(2000 + random() * 40_000),
      windows: imported ? [] : [{ window: "5h", delta: d5, utilization: five }, { window: "7d", delta: d7, utilization: week }, { window: "7d_oi", delta: dOpus, utilization: opus }],
      request_class,
      agent_type,
      compaction: request_class === "compaction" ? (random() < 0.5 ? "auto" : "manual") : null,
      flags: { cache_rebuild_idle: rebuild && !switched, cache_rebuild_model_switch: switched, window_headers: !imported, failover: failedOver ? "failed over: the subscription's window was used up" : null, billed },
      error_type: status === 529 ? "overloaded_error" : null,
      project: PROJECTS[Math.floor(random() * random() * PROJECTS.length)],
      session,
      readings: imported ? {} : { "5h": { utilization: five, resets_at_ms: fiveReset, delta: d5 }, "7d": { utilization: week, resets_at_ms: weekReset, delta: d7 }, "7d_oi": { utilization: opus, resets_at_ms: weekReset, delta: dOpus } },
    });
  }
  return { now, rows };
}

const localDay = (ms: number) => {
  const d = new Date(ms);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
};

function totals(rows: Row[]): SpendTotals {
  const t = { requests: 0, cost_usd: 0, unpriced_requests: 0, billed_requests: 0, input_tokens: 0, output_tokens: 0, cache_read_tokens: 0, cache_write_tokens: 0, cache_savings_usd: 0 };
  let priced = 0;
  // In nano-dollars, as the core sums them: billed + subscription is the cost exactly.
  let nanos = 0;
  let billedNanos = 0;
  for (const r of rows) {
    t.requests++;
    if (r.flags.billed) t.billed_requests++;
    if (r.cost_usd === null) t.unpriced_requests++;
    else {
      const n = Math.round(r.cost_usd * 1e9);
      nanos += n;
      if (r.flags.billed) billedNanos += n;
      priced++;
    }
    t.input_tokens += r.input_tokens;
    t.output_tokens += r.output_tokens;
    t.cache_read_tokens += r.cache_read_tokens;
    t.cache_write_tokens += r.cache_write_tokens;
    const price = PRICES[r.model];
    if (price) t.cache_savings_usd += (r.cache_read_tokens * price[0] * 0.9) / 1e6;
  }
  const usd = (n: number) => (priced || !t.requests ? n / 1e9 : null);
  return { ...t, cost_usd: usd(nanos), billed_usd: usd(billedNanos), subscription_usd: usd(nanos - billedNanos), cache_savings_usd: priced ? t.cache_savings_usd : null } satisfies SpendTotals;
}

function between(data: Data, since: number, until: number) {
  return data.rows.filter((r) => r.ts_ms >= since && r.ts_ms < until);
}

function dayStart(ms: number) {
  const d = new Date(ms);
  return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
}

const nextDay = (ms: number) => new Date(new Date(ms).getFullYear(), new Date(ms).getMonth(), new Date(ms).getDate() + 1).getTime();
const midnight = (day: string) => {
  const [y, m, d] = day.split("-").map(Number);
  return new Date(y, m - 1, d).getTime();
};

export function spendReport(data: Data, query: { range: DayRange | null; by: GroupBy }): SpendReport {
  const range = query.range ?? { first_day: localDay(data.now - 29 * 24 * HOUR), last_day: localDay(data.now) };
  const since = midnight(range.first_day);
  const until = nextDay(midnight(range.last_day));
  const by = query.by;
  const rows = between(data, since, until);
  const days: SpendDay[] = [];
  for (let d = since; d < until; d = nextDay(d)) {
    const inDay = rows.filter((r) => r.ts_ms >= d && r.ts_ms < nextDay(d));
    const models = [...new Set(inDay.map((r) => r.model))].map((model) => {
      const t = totals(inDay.filter((r) => r.model === model));
      return { model, requests: t.requests, cost_usd: t.cost_usd, unpriced_requests: t.unpriced_requests };
    });
    days.push({ day: localDay(d), start_ms: d, end_ms: nextDay(d), total: totals(inDay), models });
  }
  const key = (r: Row) => (by === "model" ? r.model : by === "project" ? r.project : by === "session" ? r.session : by === "client" ? r.client : by === "agent_type" ? r.agent_type : r.request_class);
  const groups = new Map<string | null, Row[]>();
  for (const r of rows) groups.set(key(r), [...(groups.get(key(r)) ?? []), r]);
  const out: SpendRow[] = [...groups]
    .map(([k, g]) => {
      const t = totals(g);
      return {
        key: k,
        label: k === null ? "(none)" : by === "project" ? k.replace("/home/ana/", "~/") : k,
        first_ms: Math.min(...g.map((r) => r.ts_ms)),
        last_ms: Math.max(...g.map((r) => r.ts_ms)),
        requests: t.requests,
        cost_usd: t.cost_usd,
        billed_usd: t.billed_usd,
        subscription_usd: t.subscription_usd,
        billed_requests: t.billed_requests,
        unpriced_requests: t.unpriced_requests,
        input_tokens: t.input_tokens,
        output_tokens: t.output_tokens,
        cache_write_tokens: t.cache_write_tokens,
        cache_read_tokens: t.cache_read_tokens,
        cache_savings_usd: t.cache_savings_usd,
      };
    })
    .sort((a, b) => (b.cost_usd ?? -1) - (a.cost_usd ?? -1));
  const modelCost = new Map<string, number>();
  for (const r of rows) modelCost.set(r.model, (modelCost.get(r.model) ?? 0) + (r.cost_usd ?? 0));
  const models = [...modelCost].sort((a, b) => b[1] - a[1]).map(([m]) => m);
  return { range, since_ms: since, until_ms: until, by, days, models, rows: out, total: totals(rows) };
}

/** The export as the core writes it: the report's rows, as CSV or JSON. */
export function spendExport(report: SpendReport, format: "csv" | "json"): SpendExport {
  const file_name = `gatehouse-spend-${report.by}-${report.range.first_day}-${report.range.last_day}.${format}`;
  const columns = ["requests", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "cost_usd", "billed_usd", "subscription_usd", "billed_requests", "unpriced_requests"] as const;
  const contents =
    format === "csv"
      ? [[report.by, ...columns].join(","), ...report.rows.map((r) => [r.label, ...columns.map((c) => r[c] ?? "")].join(","))].join("\n") + "\n"
      : JSON.stringify({ range: report.range, by: report.by, rows: report.rows, total: report.total }, null, 2);
  return { file_name, contents, path: `/home/ana/Downloads/${file_name}` };
}

export function windowNow(data: Data, name: string, title: string): WindowNow {
  const last = data.rows.filter((r) => r.source === "gateway").at(-1)!;
  const current = last.readings[name];
  const rejected = current.utilization >= 1;
  const hm = (ms: number) => `${String(new Date(ms).getHours()).padStart(2, "0")}:${String(new Date(ms).getMinutes()).padStart(2, "0")}`;
  return {
    name,
    title,
    utilization: current.utilization,
    resets_at_ms: current.resets_at_ms,
    status: rejected ? "rejected" : "allowed",
    rejected,
    passed: current.resets_at_ms <= data.now,
    as_of_ms: last.ts_ms,
    label: `${Math.round(current.utilization * 100)}% · resets ${hm(current.resets_at_ms)}`,
  };
}

export function windowsReport(data: Data): WindowsReport {
  const since = data.now - 8 * 24 * HOUR;
  const gateway = data.rows.filter((r) => r.source === "gateway");
  const series = (name: string, title: string): WindowSeries => {
    const now = windowNow(data, name, title);
    const readings = gateway.filter((r) => r.ts_ms >= since);
    const instances: WindowSeries["instances"] = [];
    for (const r of readings) {
      const reading = r.readings[name];
      if (instances.at(-1)?.resets_at_ms !== reading.resets_at_ms) instances.push({ resets_at_ms: reading.resets_at_ms, points: [] });
      instances.at(-1)!.points.push({ ts_ms: r.ts_ms, utilization: reading.utilization, request: r.id });
    }
    const recent = instances.at(-1)!.points.filter((p) => p.ts_ms >= data.now - HOUR);
    let projection: WindowSeries["projection"] = null;
    if (recent.length >= 2 && !now.rejected) {
      const span = (recent.at(-1)!.ts_ms - recent[0].ts_ms) / HOUR;
      const rate = span > 0 ? (recent.at(-1)!.utilization - recent[0].utilization) / span : 0;
      if (rate > 0) {
        const fills = recent.at(-1)!.ts_ms + ((1 - recent.at(-1)!.utilization) / rate) * HOUR;
        projection = { rate_per_hour: rate, fills_at_ms: fills < (now.resets_at_ms ?? Infinity) ? fills : null };
      }
    }
    const top_requests = gateway
      .filter((r) => r.readings[name].resets_at_ms === now.resets_at_ms)
      .map((r) => ({ delta: r.readings[name].delta ?? 0, utilization: r.readings[name].utilization, request: toRequestRow(r) }))
      .sort((a, b) => b.delta - a.delta)
      .slice(0, 20);
    return { now, instances, projection, top_requests };
  };
  return { windows: [series("5h", "5-hour window"), series("7d", "Weekly window"), series("7d_oi", "Weekly window (oi)")], since_ms: since };
}

function toRequestRow(row: Row): RequestRow {
  const { project: _p, session: _s, readings: _r, cache_write_tokens: _c, ...r } = row;
  return r;
}

function trayView(data: Data, state: MockState): View {
  const today = totals(between(data, dayStart(data.now), data.now + 1));
  const todayCost = today.cost_usd ?? 0;
  const last = data.rows[data.rows.length - 1];
  const money = (c: number) => (c > 0 && c < 0.01 ? "<$0.01" : `$${c.toFixed(2)}`);
  const five = last.readings["5h"];
  const week = last.readings["7d"];
  const opus = last.readings["7d_oi"];
  const hm = (ms: number) => `${String(new Date(ms).getHours()).padStart(2, "0")}:${String(new Date(ms).getMinutes()).padStart(2, "0")}`;
  const gateway = state.proxy ? { state: "running" as const, base_url: "http://127.0.0.1:4000", pid: 4242, adopted: false } : { state: "stopped" as const };
  const header = state.proxy ? "Gateway: running on 127.0.0.1:4000" : "Gateway: stopped";
  return {
    tray: {
      icon: state.proxy ? "running" : "stopped",
      tooltip: `Gatehouse — ${header}`,
      entries: [
        { kind: "info", label: header },
        // As the core draws them: these rows open the Spend and Windows pages.
        { kind: "button", action: "open_spend", label: `Today: ${money(todayCost)} at API prices · ${today.requests} requests`, enabled: true },
        { kind: "button", action: "open_windows", label: `5-hour window: ${Math.round(five.utilization * 100)}% · resets ${hm(five.resets_at_ms)}`, enabled: true },
        { kind: "button", action: "open_windows", label: `Weekly window: ${Math.round(week.utilization * 100)}%`, enabled: true },
        { kind: "separator" },
        { kind: "check", action: "proxy", label: "Run gateway", checked: state.proxy, enabled: true },
        { kind: "check", action: "claude_code", label: "Claude Code", checked: state.scopes.user, enabled: true },
        { kind: "button", action: "login", label: state.loggedIn ? "Claude subscription: Max (via Claude Code)" : "Log in to Claude…", enabled: true },
        { kind: "submenu", label: "Test connection", items: UPSTREAMS.map(({ name, kind }) => ({ action: "test_upstream", target: name, label: `${name} (${kind})` })) },
      ],
    },
    snapshot: {
      gateway,
      proxy_enabled: state.proxy,
      claude_code_paused: state.proxy ? null : state.scopes.user ? "proxy_stopped" : null,
      keep_gateway_after_quit: false,
      start_at_login: true,
      today: { Ok: { requests: today.requests, cost_usd: todayCost, billed_usd: today.billed_usd ?? 0, subscription_usd: today.subscription_usd ?? 0, billed_requests: today.billed_requests, input_tokens: today.input_tokens, output_tokens: today.output_tokens, cache_creation_input_tokens: today.cache_write_tokens, cache_read_input_tokens: today.cache_read_tokens, unpriced_requests: today.unpriced_requests } },
      windows: [
        { name: "5h", title: "5-hour window", utilization: five.utilization, resets_at: Math.floor(five.resets_at_ms / 1000), status: "allowed" },
        { name: "7d", title: "Weekly window", utilization: week.utilization, resets_at: Math.floor(week.resets_at_ms / 1000), status: "allowed" },
        { name: "7d_oi", title: "Weekly window (oi)", utilization: opus.utilization, resets_at: Math.floor(opus.resets_at_ms / 1000), status: null },
      ],
      windows_as_of: `as of ${hm(last.ts_ms)}`,
      claude_code: { configured: state.proxy && state.scopes.user, team_proxy: state.teamUser, base_url: state.scopes.user ? "http://127.0.0.1:4000" : state.teamUser ? TEAM_URL : null, warnings: [API_KEY_WARNING], error: null },
      login: state.loggedIn ? { state: "logged_in", plan: "Max" } : { state: "logged_out" },
      sign_in: { state: state.signingIn ? "waiting" : "idle" },
      openrouter: state.openrouter,
      failover: state.failover ? { since: "2026-11-30T13:58:00Z", reason: "anthropic: the subscription's window is used up", served_by: "openrouter" } : null,
      budgets: state.failover
        ? [
            { scope: "upstream", name: "openrouter", period: "day", since: "2026-11-30", limit_usd: 5, spent_usd: 4.21, resets_at: "2026-12-01T00:00:00Z" },
            { scope: "upstream", name: "openrouter", period: "month", since: "2026-11-01", limit_usd: 50, spent_usd: 31.7, resets_at: "2026-12-01T00:00:00Z" },
          ]
        : [],
      config_error: null,
      upstreams: [...UPSTREAMS, ...(state.litellm === null ? [] : BEDROCK_UPSTREAMS), ...(state.team ? TEAM_UPSTREAMS : [])],
      litellm: litellmView(state),
      recording_problem: null,
    },
  };
}

/** The config's upstreams: the subscription, OpenRouter (its key accepted), and a team API that refuses its key. */
const UPSTREAMS = [
  { name: "anthropic", kind: "subscription" },
  { name: "openrouter", kind: "openrouter" },
  { name: "team", kind: "compatible" },
];

/** The Bedrock upstreams of the `?litellm=…` scenarios, served through LiteLLM. */
const BEDROCK_UPSTREAMS = [
  { name: "aws", kind: "bedrock" },
  { name: "aws-eu", kind: "bedrock" },
];

/** The team proxy of the `?team` scenario: a team's LiteLLM, which Claude Code can talk to directly. */
const TEAM_UPSTREAMS = [{ name: "acme", kind: "remote-litellm" }];
const TEAM_URL = "https://llm.acme.example";

/** What the `acme` team proxy's `/key/info` says about its key, as the core passes it on. */
const TEAM_KEY_INFO: TeamKeyInfo = {
  team: "acme",
  base_url: TEAM_URL,
  key_alias: "ana-laptop",
  spend_usd: 12.345678,
  max_budget_usd: 50,
  budget_duration: "30d",
  budget_reset_at: "2027-01-01T00:00:00+00:00",
  status: "active",
};

/** The LiteLLM engine scenarios (`?litellm=…`): not installed, installing, installed, or a broken install. */
export type LiteLlmScenario = "none" | "installing" | "installed" | "problem";

const PINNED = "1.106.2";

/** The engine's part of the snapshot, as the core's desktop/engines.rs makes it. */
function litellmView(state: MockState): LiteLlmView {
  const scenario = state.litellm ?? "none";
  const install: LiteLlmView["install"] =
    scenario === "installed"
      ? { state: "installed", version: PINNED, size_bytes: 652_300_000, venv: "/home/ana/.local/share/gatehouse/engines/litellm/venv", python_version: "3.12.3" }
      : scenario === "problem"
        ? { state: "problem", message: "the venv at /home/ana/.local/share/gatehouse/engines/litellm/venvs/litellm-1.106.2-1764500000-4242 was never finished (no valid installed.json); run `gatehouse engine litellm install` to repair" }
        : { state: "not_installed" };
  const ready = scenario === "installed";
  return {
    pinned_version: PINNED,
    install,
    installing: scenario === "installing" ? state.installProgress : null,
    last_failure: state.installFailure,
    serves:
      state.litellm === null
        ? []
        : [
            {
              name: "aws",
              engine: ready
                ? { state: "ready" }
                : scenario === "installing"
                  ? { state: "not_ready", detail: "LiteLLM is not installed; run `gatehouse engine litellm install`" }
                  : scenario === "problem"
                    ? { state: "not_ready", detail: "the venv was never finished; run `gatehouse engine litellm install` to repair" }
                    : { state: "not_ready", detail: "LiteLLM is not installed; run `gatehouse engine litellm install`" },
            },
            { name: "aws-eu", engine: ready ? { state: "not_ready", detail: "the LiteLLM engine is starting (12 s so far; it takes 10 to 30 s)" } : { state: "unknown", detail: "the gateway started before it was added; restart the gateway to use it" } },
          ],
    run: state.litellm === null ? null : ready ? "ready" : "down",
  };
}

/** What "Test connection" answers for each, as the core words it. */
function upstreamTest(name: string): UpstreamTest {
  switch (name) {
    case "anthropic":
      return { upstream: name, kind: "subscription", verdict: "ok", message: "reachable (GET https://api.anthropic.com/v1/models without a credential answered HTTP 401); Claude Code is logged in to Claude Max via claude.ai" };
    case "acme":
      return { upstream: name, kind: "remote-litellm", verdict: "ok", message: `reachable, and its key (keychain:acme) is accepted: $12.3457 of $50.00 budget, resets 2027-01-01T00:00:00+00:00 (GET ${TEAM_URL}/key/info)` };
    case "openrouter":
      return { upstream: name, kind: "openrouter", verdict: "ok", message: "reachable, and its key (keychain:openrouter) is accepted: key \"sk-or-v1-abc...\", $3.20 used, no credit limit (GET https://openrouter.ai/api/v1/key)" };
    default:
      return { upstream: name, kind: "compatible", verdict: "key_refused", message: "reachable, but it refused its key (env:TEAM_LLM_KEY): HTTP 401: invalid API key (GET https://llm.example.com/v1/models)" };
  }
}

interface MockState {
  failover: boolean;
  proxy: boolean;
  openrouter: OpenRouterSignIn;
  scopes: Record<"user" | "project" | "local", boolean>;
  /** `?team`: the config has the `acme` team proxy. */
  team: boolean;
  /** The user settings point at the team proxy. */
  teamUser: boolean;
  firstRun: boolean;
  imported: boolean;
  loggedIn: boolean;
  signingIn: boolean;
  /** `null`: no Bedrock upstream and nothing said of LiteLLM (the default scenario). */
  litellm: LiteLlmScenario | null;
  installProgress: NonNullable<LiteLlmView["installing"]>;
  installFailure: LiteLlmView["last_failure"];
}

export interface Call {
  cmd: string;
  args: unknown;
}

const USER_SETTINGS = `{
  "model": "opus",
  "permissions": {
    "allow": ["Bash(npm test)"]
  }
}
`;
const CONFIGURED = `{
  "model": "opus",
  "permissions": {
    "allow": ["Bash(npm test)"]
  },
  "env": {
    "ANTHROPIC_BASE_URL": "http://127.0.0.1:4000",
    "ANTHROPIC_CUSTOM_HEADERS": "x-gatehouse-key: <gateway key, hidden>",
    "CLAUDE_CODE_GATEWAY_HINT_HEADERS": "1"
  }
}
`;
const DIFF = `--- a/settings.json
+++ b/settings.json
@@ -2,5 +2,10 @@
   "model": "opus",
   "permissions": {
     "allow": ["Bash(npm test)"]
-  }
+  },
+  "env": {
+    "ANTHROPIC_BASE_URL": "http://127.0.0.1:4000",
+    "ANTHROPIC_CUSTOM_HEADERS": "x-gatehouse-key: <gateway key, hidden>",
+    "CLAUDE_CODE_GATEWAY_HINT_HEADERS": "1"
+  }
 }
`;
const USER_PATH = "/home/ana/.claude/settings.json";

function preview(change: "configure" | "remove", project: string | null): SettingsDiff {
  const flip = (l: string) => (l.startsWith("+") && !l.startsWith("+++") ? "-" + l.slice(1) : l.startsWith("-") && !l.startsWith("---") ? "+" + l.slice(1) : l);
  if (project !== null) {
    // The project's local settings: configure creates the file, remove deletes it.
    const path = `${project}/.claude/settings.local.json`;
    const diff = LOCAL_DIFF.replace("b/settings.json", "b/settings.local.json");
    return change === "configure"
      ? { change, scope: "local", path, diff, before: null, after: LOCAL_CONFIGURED, unchanged: false }
      : { change, scope: "local", path, diff: diff.split("\n").map(flip).join("\n").replace("--- /dev/null\n+++ b/settings.local.json", "--- a/settings.local.json\n+++ /dev/null"), before: LOCAL_CONFIGURED, after: null, unchanged: false };
  }
  return change === "configure"
    ? { change, scope: "user", path: USER_PATH, diff: DIFF, before: USER_SETTINGS, after: CONFIGURED, unchanged: false }
    : { change, scope: "user", path: USER_PATH, diff: DIFF.split("\n").map(flip).join("\n"), before: CONFIGURED, after: USER_SETTINGS, unchanged: false };
}

const TEAM_CONFIGURED = `{
  "model": "opus",
  "permissions": {
    "allow": ["Bash(npm test)"]
  },
  "env": {
    "ANTHROPIC_BASE_URL": "${TEAM_URL}",
    "ANTHROPIC_CUSTOM_HEADERS": "x-litellm-api-key: Bearer <team key, hidden>"
  }
}
`;

/** Pointing the user settings at the team proxy, or taking it out again, as the core's preview shows it. */
function teamPreview(change: "configure" | "remove"): SettingsDiff {
  const diff = `--- a/settings.json
+++ b/settings.json
@@ -2,5 +2,9 @@
   "model": "opus",
   "permissions": {
     "allow": ["Bash(npm test)"]
-  }
+  },
+  "env": {
+    "ANTHROPIC_BASE_URL": "${TEAM_URL}",
+    "ANTHROPIC_CUSTOM_HEADERS": "x-litellm-api-key: Bearer <team key, hidden>"
+  }
 }
`;
  const flip = (l: string) => (l.startsWith("+") && !l.startsWith("+++") ? "-" + l.slice(1) : l.startsWith("-") && !l.startsWith("---") ? "+" + l.slice(1) : l);
  return change === "configure"
    ? { change, scope: "user", path: USER_PATH, diff, before: USER_SETTINGS, after: TEAM_CONFIGURED, unchanged: false }
    : { change, scope: "user", path: USER_PATH, diff: diff.split("\n").map(flip).join("\n"), before: TEAM_CONFIGURED, after: USER_SETTINGS, unchanged: false };
}

const LOCAL_CONFIGURED = `{
  "env": {
    "ANTHROPIC_BASE_URL": "http://127.0.0.1:4000",
    "ANTHROPIC_CUSTOM_HEADERS": "x-gatehouse-key: <gateway key, hidden>",
    "CLAUDE_CODE_GATEWAY_HINT_HEADERS": "1"
  }
}
`;
const LOCAL_DIFF = `--- /dev/null
+++ b/settings.json
@@ -0,0 +1,7 @@
${LOCAL_CONFIGURED.replace(/\n$/, "").split("\n").map((l) => "+" + l).join("\n")}
`;

/** The environment of the mocked machine sets ANTHROPIC_API_KEY: the Overview and the Claude Code page both warn. */
const API_KEY_WARNING: Warning = {
  kind: "environment_variable",
  message: "ANTHROPIC_API_KEY is set in the environment (your shell or login session): it replaces the Claude subscription login with an API key, whatever the settings files say",
  scope: null,
  path: null,
  key: "ANTHROPIC_API_KEY",
  fix: {
    text: "Remove the line that exports ANTHROPIC_API_KEY from your shell's startup files (~/.bashrc, ~/.zshrc, ~/.profile) and open a new terminal; in the current shell, unset it",
    command: "unset ANTHROPIC_API_KEY",
    action: null,
  },
};

const PROJECT = "/home/ana/src/gatehouse";
const PROJECT_SETTINGS = `${PROJECT}/.claude/settings.json`;
const BYPASS = "https://api.anthropic.com";

/** The Claude Code page as the core gives it: the warnings are the core's words (claude_code/warnings.rs). */
function claudeCodeScopes(state: MockState, project: string | null): ClaudeCodeScopes {
  const user = { scope: "user", path: USER_PATH, exists: true, configured: state.scopes.user, team_proxy: state.teamUser, base_url: state.scopes.user ? "http://127.0.0.1:4000" : state.teamUser ? TEAM_URL : null, can_configure: true, error: null };
  const managed = { scope: "managed", path: "/etc/claude-code/managed-settings.json", exists: false, configured: false, team_proxy: false, base_url: null, can_configure: false, error: null };
  const inProject = project === PROJECT;
  const projectScopes = inProject
    ? [
        { scope: "local", path: `${PROJECT}/.claude/settings.local.json`, exists: state.scopes.local, configured: state.scopes.local, team_proxy: false, base_url: state.scopes.local ? "http://127.0.0.1:4000" : null, can_configure: true, error: null },
        { scope: "project", path: PROJECT_SETTINGS, exists: true, configured: false, team_proxy: false, base_url: BYPASS, can_configure: false, error: null },
      ]
    : [];
  const first: Warning[] = inProject
    ? state.scopes.local ? [] : [
        {
          kind: "overridden",
          message: `${PROJECT_SETTINGS} (project settings) sets ANTHROPIC_BASE_URL=${BYPASS}, which wins over user settings, so Claude Code would not use the gateway`,
          scope: "project",
          path: PROJECT_SETTINGS,
          key: "env.ANTHROPIC_BASE_URL",
          fix: {
            text: `Remove \`env.ANTHROPIC_BASE_URL\` from ${PROJECT_SETTINGS} so that Claude Code uses the gateway; that file is shared through git, so change it in the repository (and keep keys out of it); or, on this machine only, point the project's local settings (which win over it) at the gateway`,
            command: "gatehouse claude configure --scope local",
            action: { kind: "configure_local", label: "Switch this project onto Gatehouse…" },
          },
        },
      ]
    : state.scopes.user || state.teamUser
      ? []
      : [
          {
            kind: "not_configured",
            message: "Claude Code does not go through Gatehouse: no settings file points it at the gateway",
            scope: null,
            path: null,
            key: null,
            fix: {
              text: "Point Claude Code's user settings at the gateway; Gatehouse adds only its own keys and shows the change first",
              command: "gatehouse claude configure",
              action: { kind: "configure_user", label: "Switch Claude Code onto Gatehouse…" },
            },
          },
        ];
  return {
    scopes: [managed, ...projectScopes, user],
    configured: inProject ? state.scopes.local : state.scopes.user,
    effective_base_url: inProject ? (state.scopes.local ? "http://127.0.0.1:4000" : BYPASS) : user.base_url,
    warnings: [...first, API_KEY_WARNING],
    project: inProject ? PROJECT : null,
    projects: [PROJECT, "/home/ana/src/website"],
    team_proxies: state.team ? ["acme"] : [],
  };
}

const LOG: LogLine[] = [
  { ts_ms: Date.UTC(2026, 10, 30, 13, 58, 1), level: "INFO", source: "gateway", message: "listening on 127.0.0.1:4000" },
  { ts_ms: Date.UTC(2026, 10, 30, 13, 58, 14), level: "INFO", source: "gateway::proxy", message: "POST /v1/messages model=claude-sonnet-4-5-20250929 status=200 ttfb_ms=412.46 duration_ms=8021.1" },
  { ts_ms: Date.UTC(2026, 10, 30, 13, 59, 2), level: "WARN", source: "gateway::proxy", message: "upstream answered 529 overloaded_error; passed to the client" },
  { ts_ms: Date.UTC(2026, 10, 30, 13, 59, 40), level: "DEBUG", source: "ledger::writer", message: "committed 3 rows" },
  { ts_ms: Date.UTC(2026, 10, 30, 14, 0, 3), level: "ERROR", source: "gateway::proxy", message: "upstream connection reset after 1.2 s; the client saw an error" },
  { ts_ms: Date.UTC(2026, 10, 30, 14, 0, 5), level: "INFO", source: "gateway::proxy", message: "POST /v1/messages model=claude-opus-4-5-20251101 status=200 ttfb_ms=1.4631150000000002 duration_ms=20211.7" },
  { ts_ms: null, level: "INFO", source: "supervisor", message: "gateway started (pid 4242)" },
].reverse();

/** The IPC handler: the app's commands answered from `data`; every call is recorded. */
export function handler(data: Data, calls: Call[], options: { firstRun: boolean; empty: boolean; loggedOut: boolean; failover?: boolean; litellm?: LiteLlmScenario | null; team?: boolean }) {
  const state: MockState = {
    failover: options.failover ?? false,
    openrouter: { state: "idle" },
    proxy: true,
    scopes: { user: false, project: false, local: false },
    team: options.team ?? false,
    teamUser: false,
    firstRun: options.firstRun,
    imported: false,
    loggedIn: !options.loggedOut,
    signingIn: false,
    litellm: options.litellm ?? null,
    installProgress: { phase: "packages", fraction: 0.42, message: "Downloading botocore (13.1MiB)" },
    installFailure: null,
  };
  // The test drives an install the page started: `__gatehouseMock.litellm("installed")`, or a failure.
  const control = (next: LiteLlmScenario, failure: LiteLlmView["last_failure"] = null) => {
    state.litellm = next;
    state.installFailure = failure;
  };
  const source = options.empty ? { now: data.now, rows: [] } : data;
  const answer = (cmd: string, args: Record<string, unknown> | undefined): unknown => {
    calls.push({ cmd, args });
    const a = (args ?? {}) as Record<string, never>;
    switch (cmd) {
      case "get_state":
        return trayView(data, state);
      case "dashboard_overview": {
        const todayRows = between(source, dayStart(source.now), source.now + 1);
        const byClass = new Map<string, Row[]>();
        for (const r of todayRows) byClass.set(`${r.request_class}/${r.agent_type}`, [...(byClass.get(`${r.request_class}/${r.agent_type}`) ?? []), r]);
        const dayCost = totals(todayRows).cost_usd;
        const week = between(source, source.now - 7 * 24 * HOUR, source.now + 1);
        const gatewayRequests = week.filter((r) => r.source === "gateway").length;
        const o: Overview = {
          today_date: localDay(source.now),
          today: totals(todayRows),
          last_7_days: totals(week),
          last_30_days: totals(between(source, dayStart(source.now - 29 * 24 * HOUR), source.now + 1)),
          coverage_7d: { gateway_requests: gatewayRequests, imported_requests: week.length - gatewayRequests, gateway_share: week.length ? gatewayRequests / week.length : null },
          by_class_today: [...byClass.values()].map((rows) => {
            const t = totals(rows);
            const { request_class, agent_type } = rows[0];
            const label = request_class === "subagent" ? `Subagent (${agent_type})` : request_class === "main" ? "Main" : request_class === "compaction" ? "Compaction" : "Unclassified";
            return { request_class, agent_type, label, share_of_cost: dayCost ? (t.cost_usd ?? 0) / dayCost : null, ...t };
          }),
          windows: options.empty ? [] : [windowNow(source, "5h", "5-hour window"), windowNow(source, "7d", "Weekly window"), windowNow(source, "7d_oi", "Weekly window (oi)")],
          ledger_version: source.rows.at(-1)?.id ?? 0,
        };
        return o;
      }
      case "spend_report":
        return spendReport(source, a.query);
      case "spend_export":
        return spendExport(spendReport(source, a.query), a.format);
      case "windows_report":
        return options.empty ? { windows: [], since_ms: source.now - 8 * 24 * HOUR } : windowsReport(source);
      case "recent_requests":
        return source.rows.slice(-Number((a.query as { limit: number }).limit ?? 200)).reverse().map(toRequestRow);
      case "request_details": {
        const r = source.rows.find((row) => row.id === a.id)!;
        const details: RequestDetails = {
          ...toRequestRow(r),
          request_id: `req_011CV${r.id.toString(36).padStart(8, "0")}`,
          session: r.session,
          project: r.project,
          device: "ana-laptop",
          prompt: null,
          price_version: "anthropic-2026-11",
          readings: Object.entries(r.readings).map(([window, w]) => ({ window, resets_at_ms: w.resets_at_ms, utilization: w.utilization, delta: w.delta, status: "allowed", raw: `utilization=${w.utilization.toFixed(4)}; reset=${Math.floor(w.resets_at_ms / 1000)}` })),
        };
        return details;
      }
      case "claude_code_scopes":
        return claudeCodeScopes(state, (a.project as string | null | undefined) ?? null);
      case "claude_code_preview":
        return a.change === "remove" && !a.project && state.teamUser ? teamPreview("remove") : preview(a.change, a.project ?? null);
      case "claude_code_team_preview":
        if (a.team !== "acme") throw `there is no team proxy "${a.team}"; the config's team proxies (remote-litellm) are "acme"`;
        return teamPreview("configure");
      case "claude_code_team_apply":
        state.teamUser = true;
        state.scopes.user = false;
        return null;
      case "team_key_info":
        if (a.team !== "acme") throw `there is no team proxy "${a.team}"`;
        return TEAM_KEY_INFO;
      case "open_claude_settings_file":
        throw `No application opens .json files on this desktop: the file is ${a.path}`;
      case "claude_code_apply":
        state.scopes[a.project ? "local" : "user"] = a.change === "configure";
        if (!a.project) state.teamUser = false;
        return null;
      case "set_proxy":
        state.proxy = Boolean(a.enabled);
        return null;
      case "set_claude_code":
        state.scopes.user = Boolean(a.enabled);
        return null;
      case "settings_get": {
        const view: SettingsView = {
          form: {
            port: 4000,
            fail_open_after_secs: 10,
            notifications: { window_thresholds: [80, 95], window_rejected: true, window_reset: true },
            price_overrides: [],
          },
          data_dir: "/home/ana/.local/share/gatehouse",
          config_file: "/home/ana/.config/gatehouse/config.toml",
          config_error: null,
        };
        return view;
      }
      case "settings_save": {
        const form = (args as unknown as { form: SettingsForm }).form;
        const outcome: SaveOutcome =
          form.port < 1024
            ? { saved: false, problems: [{ field: "port", message: "Ports below 1024 need root: pick 1024 or above (the default is 4000)." }], restart_needed: false }
            : { saved: true, problems: [], restart_needed: form.port !== 4000 };
        return outcome;
      }
      case "start_login":
        state.signingIn = true;
        return "https://claude.ai/oauth/authorize?code=true&client_id=mock&state=abc123";
      case "submit_login_code": {
        state.signingIn = false;
        state.loggedIn = a.code === "good-code#abc123";
        const reply: LoginReply = state.loggedIn ? { done: true, message: "Signed in to Claude." } : { done: false, message: "That code was not accepted: copy it again from the sign-in page." };
        return reply;
      }
      case "first_run_state": {
        // ?empty: a new user, whose Claude Code has written no transcript yet.
        const first: FirstRun = { show: state.firstRun, imported: state.imported ? IMPORTED_HISTORY : null, nothing_to_import: options.empty && !state.imported };
        return first;
      }
      case "openrouter_sign_in":
        if (state.openrouter.state !== "waiting") state.openrouter = { state: "waiting", url: `https://openrouter.ai/auth?callback_url=${encodeURIComponent(OPENROUTER_CALLBACK)}&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256` };
        return null;
      case "test_upstream": {
        const name = String(a.name);
        if (![...UPSTREAMS, ...TEAM_UPSTREAMS].some((u) => u.name === name)) throw new Error(`no upstream is called "${name}"`);
        return upstreamTest(name);
      }
      case "openrouter_sign_in_cancel":
        state.openrouter = { state: "idle" };
        return null;
      case "openrouter_sign_in_paste": {
        // The core's checks (desktop/openrouter.rs): this sign-in's address, or a bare code.
        const pasted = String(a.pasted).trim();
        if (pasted.startsWith("http") && !pasted.startsWith(OPENROUTER_CALLBACK)) {
          throw "the browser came back with a sign-in this run did not start (its state does not match), so it was refused and nothing was saved. Start again, and finish the sign-in in the page it opens";
        }
        state.openrouter = { state: "signed_in", name: "openrouter", reference: "keychain:openrouter", store: "the OS keychain (Secret Service)" };
        return null;
      }
      case "litellm_install":
        // The core's refusals (desktop/engines.rs).
        if (state.litellm === "installing") throw "LiteLLM is being installed already; its progress is on the Settings page";
        state.litellm = "installing";
        state.installFailure = null;
        state.installProgress = { phase: "python", fraction: 0, message: "Starting the install" };
        return null;
      case "litellm_uninstall":
        if (state.litellm === "installing") throw "LiteLLM cannot be uninstalled while it is being installed; wait for the install to end";
        state.litellm = "none";
        return { message: "Removed LiteLLM 1.106.2 (652 MB freed). Kept in its folder: config.yaml, litellm.log." };
      case "first_run_done":
        state.firstRun = false;
        return null;
      case "import_transcripts":
        state.imported = true;
        return IMPORTED;
      case "log_lines":
        return options.empty ? [] : LOG;
      case "open_log_file":
        throw "No application opens .log files on this desktop: the log is /home/ana/.local/state/gatehouse/gateway.log";
      default:
        return null;
    }
  };
  return Object.assign(answer, { litellm: control, progress: (p: MockState["installProgress"]) => void (state.installProgress = p) });
}

const OPENROUTER_CALLBACK = "http://127.0.0.1:43117/callback/Zr3xKp0LqNw8vT2bYc5eUg";

const IMPORTED: ImportSummary = { files_read: 41, files_unchanged: 0, files_failed: 0, messages_found: 212, rows_added: 212, rows_updated: 0, skipped_gateway: 0, unreadable_lines: 0 };
/** What the ledger says after that import. */
const IMPORTED_HISTORY: ImportedHistory = { transcript_files: 41, requests: 212 };
