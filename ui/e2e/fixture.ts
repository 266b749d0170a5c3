// A month of realistic Gatehouse data and an IPC handler over it, for the
// browser tests (through @tauri-apps/api/mocks' mockIPC). The requests are
// generated with a seeded random source, so every run sees the same month:
// several models (one without a known price), several projects, subagents
// and compactions, and a 5-hour and a weekly window that move with each
// request and reset on time. The handler answers the app's commands from
// these rows the way the core's queries do.

import type {
  DayModels,
  GroupBy,
  Overview,
  RequestDetails,
  RequestRow,
  ScopeState,
  Settings,
  SpendRow,
  SpendTotals,
  View,
  WindowSeries,
  WindowsReport,
} from "../src/types";

/** The moment the tests run at (local time of the browser's zone): 30 Nov 2026, 15:00. */
export const NOW_ISO = "2026-11-30T15:00:00";

interface Row extends RequestRow {
  project: string;
  session: string;
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
export function generate(now: number): Data {
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
  let id = 0;
  let session = "";
  let lastTs = 0;
  for (let t = start; t < now; ) {
    const hour = new Date(t).getHours();
    const working = hour >= 8 && hour < 20;
    t += working ? (2 + random() * 14) * 60_000 : (1 + random() * 5) * HOUR;
    if (t >= now) break;
    if (!working && random() < 0.7) continue;
    id++;
    if (t - lastTs > 2 * HOUR || random() < 0.03) session = `5f1c${Math.floor(random() * 1e8).toString(16)}-session`;
    const idle = t - lastTs > HOUR;
    lastTs = t;
    const pick = random();
    const model = pick < 0.3 ? models[0] : pick < 0.82 ? models[1] : pick < 0.95 ? models[2] : models[3];
    const cls = random();
    const request_class = cls < 0.68 ? "main" : cls < 0.94 ? "subagent" : "compaction";
    const agent_type = request_class === "subagent" ? (random() < 0.6 ? "Explore" : "general-purpose") : null;
    const rebuild = idle && random() < 0.8;
    const r = {
      input_tokens: Math.floor(20 + random() * 3000),
      output_tokens: Math.floor(80 + random() * (request_class === "compaction" ? 6000 : 2500)),
      cache_read_tokens: rebuild ? 0 : Math.floor(10_000 + random() * 140_000),
      cache_write_tokens: rebuild ? Math.floor(60_000 + random() * 90_000) : Math.floor(random() * 8000),
    };
    if (t >= fiveReset) (fiveReset = t + 5 * HOUR, (five = 0));
    if (t >= weekReset) (weekReset = weeklyReset(t), (week = 0));
    const weight = (r.output_tokens + r.cache_write_tokens / 10 + r.input_tokens) / 1e6 * (model.includes("opus") ? 5 : model.includes("haiku") ? 0.4 : 2);
    const d5 = Math.min(1 - five, weight * 3.1);
    const d7 = Math.min(1 - week, weight * 0.21);
    five += d5;
    week += d7;
    const status = random() < 0.015 ? 529 : 200;
    const imported = t < start + 4 * 24 * HOUR; // the first days came from transcripts
    rows.push({
      id,
      ts_ms: Math.round(t),
      model,
      upstream: imported ? null : "anthropic",
      client: imported ? null : "claude-code",
      status,
      complete: status === 200 && random() > 0.01,
      streamed: true,
      source: imported ? "transcript" : "gateway",
      ...r,
      cost_usd: status === 200 ? cost(model, r) : PRICES[model] ? 0 : null,
      ttfb_ms: imported ? null : Math.round(300 + random() * 1800),
      duration_ms: imported ? null : Math.round(2000 + random() * 40_000),
      deltas: imported ? {} : { "5h": d5, "7d": d7 },
      request_class,
      agent_type,
      compaction: request_class === "compaction" ? (random() < 0.5 ? "auto" : "manual") : null,
      flags: (rebuild ? 1 : 0) | (imported ? 0 : 4),
      error_type: status === 529 ? "overloaded_error" : null,
      project: PROJECTS[Math.floor(random() * random() * PROJECTS.length)],
      session,
      readings: imported ? {} : { "5h": { utilization: five, resets_at_ms: fiveReset, delta: d5 }, "7d": { utilization: week, resets_at_ms: weekReset, delta: d7 } },
    });
  }
  return { now, rows };
}

const localDay = (ms: number) => {
  const d = new Date(ms);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
};

function totals(rows: Row[]): SpendTotals {
  const t: SpendTotals = { requests: 0, cost_usd: 0, unpriced_requests: 0, input_tokens: 0, output_tokens: 0, cache_read_tokens: 0, cache_write_tokens: 0, cache_savings_usd: 0 };
  for (const r of rows) {
    t.requests++;
    if (r.cost_usd === null) t.unpriced_requests++;
    else t.cost_usd += r.cost_usd;
    t.input_tokens += r.input_tokens;
    t.output_tokens += r.output_tokens;
    t.cache_read_tokens += r.cache_read_tokens;
    t.cache_write_tokens += r.cache_write_tokens;
    const price = PRICES[r.model];
    if (price) t.cache_savings_usd += (r.cache_read_tokens * price[0] * 0.9) / 1e6;
  }
  return t;
}

function between(data: Data, since: number, until: number) {
  return data.rows.filter((r) => r.ts_ms >= since && r.ts_ms < until);
}

function dayStart(ms: number) {
  const d = new Date(ms);
  return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
}

export function spendReport(data: Data, since: number, until: number, by: GroupBy) {
  const rows = between(data, since, until);
  const days: DayModels[] = [];
  for (let d = since; d < until; d = new Date(new Date(d).getFullYear(), new Date(d).getMonth(), new Date(d).getDate() + 1).getTime()) {
    const next = new Date(new Date(d).getFullYear(), new Date(d).getMonth(), new Date(d).getDate() + 1).getTime();
    const inDay = rows.filter((r) => r.ts_ms >= d && r.ts_ms < next);
    const models = [...new Set(inDay.map((r) => r.model))].map((model) => {
      const m = inDay.filter((r) => r.model === model);
      const priced = m.filter((r) => r.cost_usd !== null);
      return { model, requests: m.length, cost_usd: priced.length ? priced.reduce((s, r) => s + (r.cost_usd ?? 0), 0) : null };
    });
    days.push({ day: localDay(d), start_ms: d, models });
  }
  const key = (r: Row) => (by === "model" ? r.model : by === "project" ? r.project : by === "session" ? r.session : by === "client" ? (r.client ?? "(transcript)") : (r.request_class ?? "unclassified"));
  const groups = new Map<string, Row[]>();
  for (const r of rows) groups.set(key(r), [...(groups.get(key(r)) ?? []), r]);
  const out: SpendRow[] = [...groups].map(([k, g]) => {
    const t = totals(g);
    return {
      key: k,
      label: by === "project" ? k.replace("/home/ana/", "~/") : k,
      requests: t.requests,
      input_tokens: t.input_tokens,
      output_tokens: t.output_tokens,
      cache_read_tokens: t.cache_read_tokens,
      cache_write_tokens: t.cache_write_tokens,
      cost_usd: t.unpriced_requests === t.requests ? null : t.cost_usd,
      unpriced_requests: t.unpriced_requests === t.requests ? t.requests : t.unpriced_requests,
      first_ms: Math.min(...g.map((r) => r.ts_ms)),
      last_ms: Math.max(...g.map((r) => r.ts_ms)),
    };
  });
  return { days, rows: out, totals: totals(rows) };
}

export function windowsReport(data: Data): WindowsReport {
  const since = data.now - 7 * 24 * HOUR;
  const gateway = data.rows.filter((r) => r.source === "gateway");
  const last = gateway[gateway.length - 1];
  const series = (name: string, title: string): WindowSeries => {
    const readings = gateway.filter((r) => r.ts_ms >= since).map((r) => ({ ts_ms: r.ts_ms, ...r.readings[name] }));
    const current = last.readings[name];
    const recent = readings.filter((p) => p.resets_at_ms === current.resets_at_ms && p.ts_ms >= data.now - HOUR);
    let rate: number | null = null;
    if (recent.length >= 2) {
      const span = (recent[recent.length - 1].ts_ms - recent[0].ts_ms) / HOUR;
      rate = span > 0 ? (recent[recent.length - 1].utilization - recent[0].utilization) / span : null;
    }
    const fills = rate && rate > 0 ? last.ts_ms + ((1 - current.utilization) / rate) * HOUR : null;
    return {
      name,
      title,
      utilization: current.utilization,
      resets_at_ms: current.resets_at_ms,
      status: current.utilization >= 1 ? "rejected" : "allowed",
      rejected: current.utilization >= 1,
      passed: current.resets_at_ms <= data.now,
      points: readings.map((p) => ({ ts_ms: p.ts_ms, utilization: p.utilization, resets_at_ms: p.resets_at_ms })),
      projection: { fills_at_ms: fills, rate_per_hour: rate },
    };
  };
  const windows = [series("5h", "5-hour window"), series("7d", "Weekly window")];
  const top = windows.flatMap((w) =>
    gateway
      .filter((r) => r.readings[w.name]?.resets_at_ms === w.resets_at_ms)
      .sort((a, b) => (b.deltas[w.name] ?? 0) - (a.deltas[w.name] ?? 0))
      .slice(0, 10)
      .map((r) => ({ ...r, window: w.name, delta: r.deltas[w.name] ?? 0 })),
  );
  return { windows, top_requests: top };
}

function trayView(data: Data, state: MockState): View {
  const today = totals(between(data, dayStart(data.now), data.now + 1));
  const last = data.rows[data.rows.length - 1];
  const money = (c: number) => (c > 0 && c < 0.01 ? "<$0.01" : `$${c.toFixed(2)}`);
  const five = last.readings["5h"];
  const week = last.readings["7d"];
  const hm = (ms: number) => `${String(new Date(ms).getHours()).padStart(2, "0")}:${String(new Date(ms).getMinutes()).padStart(2, "0")}`;
  const gateway = state.proxy ? { state: "running" as const, base_url: "http://127.0.0.1:4000", pid: 4242, adopted: false } : { state: "stopped" as const };
  const header = state.proxy ? "Gateway: running on 127.0.0.1:4000" : "Gateway: stopped";
  return {
    tray: {
      icon: state.proxy ? "running" : "stopped",
      tooltip: `Gatehouse — ${header}`,
      entries: [
        { kind: "info", label: header },
        { kind: "info", label: `Today: ${money(today.cost_usd)} at API prices · ${today.requests} requests` },
        { kind: "info", label: `5-hour window: ${Math.round(five.utilization * 100)}% · resets ${hm(five.resets_at_ms)}` },
        { kind: "info", label: `Weekly window: ${Math.round(week.utilization * 100)}%` },
        { kind: "separator" },
        { kind: "check", action: "proxy", label: "Proxy", checked: state.proxy, enabled: true },
        { kind: "check", action: "claude_code", label: "Claude Code", checked: state.scopes.user, enabled: true },
        { kind: "button", action: "login", label: "Claude subscription: Max (via Claude Code)", enabled: true },
      ],
    },
    snapshot: {
      gateway,
      proxy_enabled: state.proxy,
      claude_code_paused: state.proxy ? null : state.scopes.user ? "proxy_stopped" : null,
      keep_gateway_after_quit: false,
      start_at_login: true,
      today: { Ok: { requests: today.requests, cost_usd: today.cost_usd, input_tokens: today.input_tokens, output_tokens: today.output_tokens, cache_creation_input_tokens: today.cache_write_tokens, cache_read_input_tokens: today.cache_read_tokens, unpriced_requests: today.unpriced_requests } },
      windows: [
        { name: "5h", title: "5-hour window", utilization: five.utilization, resets_at: Math.floor(five.resets_at_ms / 1000), status: "allowed" },
        { name: "7d", title: "Weekly window", utilization: week.utilization, resets_at: Math.floor(week.resets_at_ms / 1000), status: "allowed" },
        { name: "7d_oi", title: "Weekly window (7d_oi)", utilization: 0.12, resets_at: Math.floor(week.resets_at_ms / 1000), status: null },
      ],
      windows_as_of: `as of ${hm(last.ts_ms)}`,
      claude_code: { configured: state.proxy && state.scopes.user, base_url: state.scopes.user ? "http://127.0.0.1:4000" : null, warnings: [] },
      login: { state: "logged_in", plan: "Max" },
      sign_in: { state: "idle" },
      config_error: null,
      recording_problem: null,
    },
  };
}

interface MockState {
  proxy: boolean;
  scopes: Record<"user" | "project" | "local", boolean>;
  firstRun: boolean;
  imported: boolean;
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

function preview(scope: string, action: string) {
  const path = scope === "user" ? "/home/ana/.claude/settings.json" : scope === "project" ? "/home/ana/src/gatehouse/.claude/settings.json" : "/home/ana/src/gatehouse/.claude/settings.local.json";
  const lines = [
    `--- ${path}`,
    `+++ ${path} (${action === "configure" ? "configured" : "restored"})`,
    "@@ -1,6 +1,12 @@",
    " {",
    '   "model": "opus",',
    '   "permissions": {',
    '     "allow": ["Bash(npm test)"]',
    "-  }",
    "+  },",
    '+  "env": {',
    '+    "ANTHROPIC_BASE_URL": "http://127.0.0.1:4000",',
    '+    "ANTHROPIC_CUSTOM_HEADERS": "x-gatehouse-key: ${GATEHOUSE_KEY}",',
    '+    "CLAUDE_CODE_GATEWAY_HINT_HEADERS": "1"',
    "+  }",
    " }",
  ];
  return { path, diff: action === "configure" ? lines.join("\n") : lines.map((l) => (l.startsWith("+") && !l.startsWith("+++") ? "-" + l.slice(1) : l.startsWith("-") && !l.startsWith("---") ? "+" + l.slice(1) : l)).join("\n"), unchanged: false, settings: USER_SETTINGS };
}

const LOG = [
  "2026-11-30T13:58:01.204311Z  INFO gatehouse::gateway: listening on 127.0.0.1:4000",
  "2026-11-30T13:58:14.551902Z  INFO gatehouse::gateway::proxy: POST /v1/messages model=claude-sonnet-4-5-20250929 status=200 ttfb_ms=412.4631150000000002 duration_ms=8021.1",
  "2026-11-30T13:59:02.003100Z  WARN gatehouse::gateway::proxy: upstream answered 529 overloaded_error; passed to the client",
  "2026-11-30T13:59:40.910000Z DEBUG gatehouse::ledger::writer: committed 3 rows",
  "2026-11-30T14:00:03.120000Z ERROR gatehouse::gateway::proxy: upstream connection reset after 1.20934 s; the client saw an error",
  "2026-11-30T14:00:05.000000Z  INFO gatehouse::gateway::proxy: POST /v1/messages model=claude-opus-4-5-20251101 status=200 ttfb_ms=1.4631150000000002 duration_ms=20211.7",
];

/** The IPC handler: the app's commands answered from `data`; every call is recorded. */
export function handler(data: Data, calls: Call[], exports: { name: string; contents: string }[], options: { firstRun: boolean; empty: boolean }) {
  const state: MockState = { proxy: true, scopes: { user: false, project: false, local: false }, firstRun: options.firstRun, imported: false };
  const source = options.empty ? { now: data.now, rows: [] } : data;
  return (cmd: string, args: Record<string, unknown> | undefined): unknown => {
    calls.push({ cmd, args });
    const a = (args ?? {}) as Record<string, never>;
    switch (cmd) {
      case "get_state":
        return trayView(data, state);
      case "dashboard_overview": {
        const d0 = dayStart(source.now);
        const todayRows = between(source, d0, source.now + 1);
        const byClass = new Map<string, { request_class: string; agent_type: string | null; requests: number; cost_usd: number }>();
        for (const r of todayRows) {
          const k = `${r.request_class}/${r.agent_type}`;
          const e = byClass.get(k) ?? { request_class: r.request_class ?? "main", agent_type: r.agent_type, requests: 0, cost_usd: 0 };
          e.requests++;
          e.cost_usd += r.cost_usd ?? 0;
          byClass.set(k, e);
        }
        const week = between(source, source.now - 7 * 24 * HOUR, source.now + 1);
        const o: Overview = {
          today: totals(todayRows),
          last_7_days: totals(week),
          last_30_days: totals(between(source, source.now - 30 * 24 * HOUR, source.now + 1)),
          coverage_7d: { gateway_requests: week.filter((r) => r.source === "gateway").length, imported_requests: week.filter((r) => r.source === "transcript").length },
          by_class_today: [...byClass.values()],
        };
        return o;
      }
      case "spend_report":
        return spendReport(source, a.since_ms, a.until_ms, a.by);
      case "windows_report":
        return options.empty ? { windows: [], top_requests: [] } : windowsReport(source);
      case "recent_requests":
        return source.rows.slice(-Number(a.limit ?? 200)).reverse().map(({ project: _p, session: _s, readings: _r, ...row }) => row);
      case "request_details": {
        const r = source.rows.find((row) => row.id === a.id)!;
        const { readings, ...row } = r;
        const details: RequestDetails = {
          ...row,
          request_id: `req_011CV${r.id.toString(36).padStart(8, "0")}`,
          device: "ana-laptop",
          prompt: null,
          price_version: "anthropic-2026-11",
          readings: Object.entries(readings).map(([window, w]) => ({ window, utilization: w.utilization, delta: w.delta, status: "allowed", raw: `utilization=${w.utilization.toFixed(4)}; reset=${Math.floor(w.resets_at_ms / 1000)}` })),
        };
        return details;
      }
      case "claude_code_scopes":
        return (["user", "project", "local"] as const).map<ScopeState>((scope) => ({
          scope,
          path: preview(scope, "configure").path,
          configured: state.scopes[scope],
          base_url: state.scopes[scope] ? "http://127.0.0.1:4000" : null,
          warnings: scope === "project" ? [{ message: "This project's settings set ANTHROPIC_BASE_URL to https://api.anthropic.com, which bypasses the gateway.", fix: "Remove env.ANTHROPIC_BASE_URL from .claude/settings.json, or configure this scope." }] : [],
        }));
      case "claude_code_preview": {
        const { settings: _, ...p } = preview(a.scope, a.action);
        return p;
      }
      case "claude_code_apply":
        state.scopes[a.scope as "user"] = a.action === "configure";
        return null;
      case "set_proxy":
        state.proxy = Boolean(a.enabled);
        return null;
      case "set_claude_code":
        state.scopes.user = Boolean(a.enabled);
        return null;
      case "settings_get": {
        const s: Settings = {
          port: 4000,
          fail_open_timeout_secs: 10,
          notifications: { window_thresholds: [80, 95], window_rejected: true, window_reset: true },
          price_overrides: [{ model: "claude-nova-preview", input: null, output: null, cache_read: null, cache_write_5m: null, cache_write_1h: null }],
          data_dir: "/home/ana/.local/share/gatehouse",
        };
        return s;
      }
      case "settings_save": {
        const s = (args as unknown as { settings: Settings }).settings;
        return s.port < 1024 ? [{ field: "port", message: "Ports below 1024 need root: pick 1024 or above (the default is 4000)." }] : [];
      }
      case "save_export":
        exports.push({ name: a.fileName, contents: a.contents });
        return `/home/ana/Downloads/${a.fileName}`;
      case "first_run_state":
        return { show: state.firstRun, import: state.imported ? { files_read: 41, files_unchanged: 0, messages_found: 212, rows_added: 212, rows_updated: 0, skipped_gateway: 0 } : null };
      case "first_run_done":
        state.firstRun = false;
        return null;
      case "import_transcripts":
        state.imported = true;
        return { files_read: 41, files_unchanged: 0, messages_found: 212, rows_added: 212, rows_updated: 0, skipped_gateway: 0 };
      case "log_tail":
        return options.empty ? [] : LOG;
      case "open_log_file":
        throw "No application opens .log files on this desktop: the log is /home/ana/.local/state/gatehouse/gateway.log";
      default:
        return null;
    }
  };
}
