// Every call the page makes to the app, typed, in one place. Commands are
// Tauri IPC (src-tauri); live changes arrive as Tauri events, never polled.

import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import type {
  ClaudeCodeScopes,
  DayRange,
  ExportFormat,
  FirstRun,
  GroupBy,
  ImportProgress,
  ImportSummary,
  LedgerChanged,
  LogLine,
  LoginReply,
  Overview,
  RequestDetails,
  RequestRow,
  SaveOutcome,
  SettingsChange,
  SettingsDiff,
  SettingsForm,
  SettingsView,
  SpendExport,
  SpendReport,
  TeamKeyInfo,
  Uninstalled,
  UpstreamTest,
  View,
  WindowsReport,
} from "./types";

export const api = {
  state: () => invoke<View>("get_state"),
  setProxy: (enabled: boolean) => invoke<void>("set_proxy", { enabled }),
  setClaudeCode: (enabled: boolean) => invoke<void>("set_claude_code", { enabled }),
  restartGateway: () => invoke<void>("restart_gateway"),
  setStartAtLogin: (enabled: boolean) => invoke<void>("set_start_at_login", { enabled }),
  setKeepGatewayAfterQuit: (enabled: boolean) => invoke<void>("set_keep_gateway_after_quit", { enabled }),
  refreshLogin: () => invoke<void>("refresh_login"),
  startLogin: () => invoke<string>("start_login"),
  submitLoginCode: (code: string) => invoke<LoginReply>("submit_login_code", { code }),
  cancelLogin: () => invoke<void>("cancel_login"),
  openSignInPage: () => invoke<void>("open_sign_in_page"),
  logLines: () => invoke<LogLine[]>("log_lines"),
  openLogFile: () => invoke<void>("open_log_file"),
  quit: () => invoke<void>("quit"),

  overview: () => invoke<Overview>("dashboard_overview"),
  spend: (range: DayRange, by: GroupBy) => invoke<SpendReport>("spend_report", { query: { range, by } }),
  exportSpend: (range: DayRange, by: GroupBy, format: ExportFormat) =>
    invoke<SpendExport>("spend_export", { query: { range, by }, format, save: true }),
  windows: () => invoke<WindowsReport>("windows_report", { query: { days: null, top: null } }),
  requests: (limit = 200) => invoke<RequestRow[]>("recent_requests", { query: { limit, before_id: null } }),
  request: (id: number) => invoke<RequestDetails>("request_details", { id }),
  scopes: (project: string | null = null) => invoke<ClaudeCodeScopes>("claude_code_scopes", { project }),
  /** A change to the user settings, or with `project` to that project's local settings. */
  preview: (change: SettingsChange, project: string | null = null) => invoke<SettingsDiff>("claude_code_preview", { change, project }),
  apply: (change: SettingsChange, project: string | null = null) => invoke<void>("claude_code_apply", { change, project }),
  /** Claude Code straight to the team proxy `team` instead of the gateway: user settings, or a project's local ones. */
  teamPreview: (team: string, project: string | null = null) => invoke<SettingsDiff>("claude_code_team_preview", { team, project }),
  teamApply: (team: string, project: string | null = null) => invoke<void>("claude_code_team_apply", { team, project }),
  /** The team proxy's spend and budget for its key (its `/key/info`). */
  teamKeyInfo: (team: string) => invoke<TeamKeyInfo>("team_key_info", { team }),
  openSettingsFile: (path: string) => invoke<void>("open_claude_settings_file", { path }),
  settings: () => invoke<SettingsView>("settings_get"),
  saveSettings: (form: SettingsForm) => invoke<SaveOutcome>("settings_save", { form }),
  openDataDir: () => invoke<void>("open_data_dir"),
  firstRun: () => invoke<FirstRun>("first_run_state"),
  /** Starts OpenRouter's browser sign-in (or goes back to the one waiting) and opens its page. */
  openRouterSignIn: () => invoke<void>("openrouter_sign_in"),
  openRouterSignInPaste: (pasted: string) => invoke<void>("openrouter_sign_in_paste", { pasted }),
  openRouterSignInCancel: () => invoke<void>("openrouter_sign_in_cancel"),
  testUpstream: (name: string) => invoke<UpstreamTest>("test_upstream", { name }),
  firstRunDone: () => invoke<void>("first_run_done"),
  /** Starts installing the pinned LiteLLM (`force`: "Repair"); its progress arrives in the `state` event. */
  installLiteLlm: (force: boolean) => invoke<void>("litellm_install", { force }),
  uninstallLiteLlm: () => invoke<Uninstalled>("litellm_uninstall"),
  importTranscripts: () => invoke<ImportSummary>("import_transcripts"),
};

// The first page's data, asked for before the first render (see main.tsx),
// so that the window's first frame already shows the figures. Each is handed
// over once; what arrives after the first render is left to the page's own
// load.
const early = new Map<string, unknown>();
/** Asks for each entry's data at once and waits for all of them, or `capMs` at most. */
export async function preload(entries: Record<string, () => Promise<unknown>>, capMs: number): Promise<void> {
  let accepting = true;
  const loads = Object.entries(entries).map(([key, load]) =>
    load().then((value) => void (accepting && early.set(key, value))),
  );
  await Promise.race([Promise.allSettled(loads), new Promise((done) => setTimeout(done, capMs))]);
  accepting = false;
}
/** The data `preload` got for `key`, once; `undefined` when it has none. */
export function takeEarly<T>(key: string): T | undefined {
  const value = early.get(key) as T | undefined;
  early.delete(key);
  return value;
}

// Set by the app only with debug logging on (for measuring first paint): when
// it was asked to open this window, in ms since the epoch. Then the page says
// how long it took to paint `what`, once per window; otherwise nothing.
const askedAt = (window as { gatehouseWindowAskedAt?: number }).gatehouseWindowAskedAt;
let paintReported = false;
export function reportPaint(what: string) {
  if (askedAt === undefined || paintReported) return;
  paintReported = true;
  // The frame with the new DOM is painted before a timeout queued from the next animation frame runs.
  requestAnimationFrame(() =>
    setTimeout(
      () =>
        void invoke("ui_painted", {
          what,
          afterMs: performance.timeOrigin + performance.now() - askedAt,
          // When the page's own loading began: what came before is the window's and WebKit's start.
          pageStartMs: performance.timeOrigin - askedAt,
        }).catch(() => {}),
    ),
  );
}

export const events = {
  state: (f: (view: View) => void) => listen<View>("state", (e) => f(e.payload)),
  ledger: (f: (change: LedgerChanged) => void) => listen<LedgerChanged>("ledger", (e) => f(e.payload)),
  importProgress: (f: (p: ImportProgress) => void) => listen<ImportProgress>("import-progress", (e) => f(e.payload)),
  show: (panel: string, f: () => void) => listen(`show-${panel}`, () => f()),
};

export type { UnlistenFn };

/** An error from a command, as the user reads it. */
export function message(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === "string") return error;
  return JSON.stringify(error);
}
