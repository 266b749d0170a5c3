// The shapes that cross IPC, as the page reads them.
//
// The existing state (`get_state` / the "state" event) is the core's
// Snapshot and tray model. The dashboard's queries are H-data's commands
// (/work/ui-requests.md); when their generated bindings land in
// src/bindings/, these aliases point at them instead.

export type Action =
  | "proxy"
  | "claude_code"
  | "login"
  | "open_dashboard"
  | "open_logs"
  | "restart_gateway"
  | "start_at_login"
  | "keep_gateway_after_quit"
  | "quit";

export type Entry =
  | { kind: "info"; label: string }
  | { kind: "button"; action: Action; label: string; enabled: boolean }
  | { kind: "check"; action: Action; label: string; checked: boolean; enabled: boolean }
  | { kind: "separator" };

export type Gateway =
  | { state: "stopped" | "starting" }
  | { state: "running"; base_url: string; pid: number; adopted: boolean }
  | { state: "unhealthy"; base_url: string; pid: number; error: string }
  | { state: "restarting"; attempt: number; last_error: string; retry_in_ms: number }
  | { state: "failed"; reason: string; last_lines: string[] };

export type Login =
  | { state: "unknown" | "logged_out" }
  | { state: "not_installed"; hint: string }
  | { state: "logged_in"; plan: string | null }
  | { state: "error"; message: string };

export type SignIn = { state: "idle" | "waiting" } | { state: "failed"; message: string };

export type SuspendReason = "unhealthy" | "proxy_stopped" | "quit";

export interface Totals {
  requests: number;
  cost_usd: number;
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
  unpriced_requests: number;
}

export interface NamedWindow {
  name: string;
  title: string;
  utilization: number | null;
  resets_at: number | null; // Unix seconds
  status: string | null;
}

export interface Snapshot {
  gateway: Gateway;
  proxy_enabled: boolean;
  claude_code_paused: SuspendReason | null;
  keep_gateway_after_quit: boolean;
  start_at_login: boolean;
  today: { Ok: Totals } | { Err: string };
  windows: NamedWindow[];
  windows_as_of: string | null;
  claude_code: { configured: boolean; base_url: string | null; warnings: string[] };
  login: Login;
  sign_in: SignIn;
  config_error: string | null;
  recording_problem: string | null;
}

export interface View {
  tray: { icon: string; tooltip: string; entries: Entry[] };
  snapshot: Snapshot;
}

// ---- the dashboard's queries ----

export interface SpendTotals {
  requests: number;
  cost_usd: number;
  unpriced_requests: number;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
  cache_savings_usd: number;
}

export interface ClassShare {
  request_class: string;
  agent_type: string | null;
  requests: number;
  cost_usd: number;
}

export interface Overview {
  today: SpendTotals;
  last_7_days: SpendTotals;
  last_30_days: SpendTotals;
  coverage_7d: { gateway_requests: number; imported_requests: number };
  by_class_today: ClassShare[];
}

export type GroupBy = "model" | "project" | "session" | "client" | "request_class";

export interface DayModels {
  day: string; // local date, YYYY-MM-DD
  start_ms: number;
  models: { model: string; cost_usd: number | null; requests: number }[];
}

export interface SpendRow {
  key: string;
  label: string;
  requests: number;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
  cost_usd: number | null;
  unpriced_requests: number;
  first_ms: number;
  last_ms: number;
}

export interface SpendReport {
  days: DayModels[];
  rows: SpendRow[];
  totals: SpendTotals;
}

export interface WindowPoint {
  ts_ms: number;
  utilization: number;
  resets_at_ms: number;
}

export interface WindowSeries {
  name: string;
  title: string;
  utilization: number | null;
  resets_at_ms: number | null;
  status: string | null;
  rejected: boolean;
  passed: boolean;
  points: WindowPoint[];
  projection: { fills_at_ms: number | null; rate_per_hour: number | null };
}

/** Bits of a request's `flags` (schema v2). */
export const FLAG_REBUILD_IDLE = 1;
export const FLAG_REBUILD_MODEL_SWITCH = 2;
export const FLAG_HAD_HEADERS = 4;

export interface TopRequest {
  id: number;
  ts_ms: number;
  window: string;
  delta: number;
  model: string;
  request_class: string | null;
  agent_type: string | null;
  compaction: string | null;
  flags: number;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
  cost_usd: number | null;
}

export interface WindowsReport {
  windows: WindowSeries[];
  top_requests: TopRequest[];
}

export interface RequestRow {
  id: number;
  ts_ms: number;
  model: string;
  upstream: string | null;
  client: string | null;
  status: number;
  complete: boolean;
  streamed: boolean;
  source: "gateway" | "transcript";
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
  cost_usd: number | null;
  ttfb_ms: number | null;
  duration_ms: number | null;
  deltas: Record<string, number>;
  request_class: string | null;
  agent_type: string | null;
  compaction: string | null;
  flags: number;
  error_type: string | null;
}

export interface RequestDetails extends RequestRow {
  request_id: string | null;
  session: string | null;
  project: string | null;
  device: string | null;
  prompt: string | null;
  price_version: string;
  readings: { window: string; utilization: number | null; delta: number | null; status: string | null; raw: string }[];
}

export type Scope = "user" | "project" | "local";

export interface ScopeState {
  scope: Scope;
  path: string;
  configured: boolean;
  base_url: string | null;
  warnings: { message: string; fix: string }[];
}

export interface Preview {
  path: string;
  diff: string;
  unchanged: boolean;
}

export interface PriceOverride {
  model: string;
  input: number | null;
  output: number | null;
  cache_read: number | null;
  cache_write_5m: number | null;
  cache_write_1h: number | null;
}

export interface Settings {
  port: number;
  fail_open_timeout_secs: number;
  notifications: { window_thresholds: number[]; window_rejected: boolean; window_reset: boolean };
  price_overrides: PriceOverride[];
  data_dir: string;
}

export interface FieldError {
  field: string;
  message: string;
}

export interface ImportSummary {
  files_read: number;
  files_unchanged: number;
  messages_found: number;
  rows_added: number;
  rows_updated: number;
  skipped_gateway: number;
}

export interface ImportProgress {
  files_done: number;
  files_total: number;
  bytes_done: number;
  bytes_total: number;
}

export interface FirstRun {
  show: boolean;
  import: ImportSummary | null;
}
