// Every call the page makes to the app, typed, in one place. Commands are
// Tauri IPC (src-tauri); live changes arrive as Tauri events, never polled.

import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import type { Range } from "./logic";
import { rangeMs } from "./logic";
import type {
  FieldError,
  FirstRun,
  GroupBy,
  ImportProgress,
  ImportSummary,
  Overview,
  Preview,
  RequestDetails,
  RequestRow,
  Scope,
  ScopeState,
  Settings,
  SpendReport,
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
  submitLoginCode: (code: string) => invoke<{ done: boolean; message: string }>("submit_login_code", { code }),
  cancelLogin: () => invoke<void>("cancel_login"),
  openSignInPage: () => invoke<void>("open_sign_in_page"),
  logTail: () => invoke<string[]>("log_tail"),
  openLogFile: () => invoke<void>("open_log_file"),
  quit: () => invoke<void>("quit"),

  overview: () => invoke<Overview>("dashboard_overview"),
  spend: (range: Range, by: GroupBy) => invoke<SpendReport>("spend_report", { ...rangeMs(range), by }),
  windows: () => invoke<WindowsReport>("windows_report"),
  requests: (limit = 200) => invoke<RequestRow[]>("recent_requests", { limit }),
  request: (id: number) => invoke<RequestDetails>("request_details", { id }),
  scopes: () => invoke<ScopeState[]>("claude_code_scopes"),
  preview: (scope: Scope, action: "configure" | "remove") => invoke<Preview>("claude_code_preview", { scope, action }),
  apply: (scope: Scope, action: "configure" | "remove") => invoke<void>("claude_code_apply", { scope, action }),
  settings: () => invoke<Settings>("settings_get"),
  saveSettings: (settings: Settings) => invoke<FieldError[]>("settings_save", { settings }),
  openDataDir: () => invoke<void>("open_data_dir"),
  saveExport: (fileName: string, contents: string) => invoke<string>("save_export", { fileName, contents }),
  firstRun: () => invoke<FirstRun>("first_run_state"),
  firstRunDone: () => invoke<void>("first_run_done"),
  importTranscripts: () => invoke<ImportSummary>("import_transcripts"),
};

export const events = {
  state: (f: (view: View) => void) => listen<View>("state", (e) => f(e.payload)),
  ledger: (f: () => void) => listen("ledger", () => f()),
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
