// The shapes that cross IPC: the generated bindings (ts-rs, from the Rust
// types; src/bindings/), plus the few commands whose Rust side has not
// landed yet (first run and the transcript import), typed here from
// /work/import-contract.md until their bindings exist.

export type { Action } from "./bindings/Action";
export type { Entry } from "./bindings/Entry";
export type { GatewayState as Gateway } from "./bindings/GatewayState";
export type { LoginView as Login } from "./bindings/LoginView";
export type { Snapshot } from "./bindings/Snapshot";
export type { SuspendReason } from "./bindings/SuspendReason";
export type { View } from "./bindings/View";
export type { NamedWindow } from "./bindings/NamedWindow";
export type { Overview } from "./bindings/Overview";
export type { SpendTotals } from "./bindings/SpendTotals";
export type { ClassShare } from "./bindings/ClassShare";
export type { WindowNow } from "./bindings/WindowNow";
export type { SpendGroup as GroupBy } from "./bindings/SpendGroup";
export type { SpendQuery } from "./bindings/SpendQuery";
export type { DayRange } from "./bindings/DayRange";
export type { SpendReport } from "./bindings/SpendReport";
export type { SpendDay } from "./bindings/SpendDay";
export type { SpendRow } from "./bindings/SpendRow";
export type { SpendExport } from "./bindings/SpendExport";
export type { ExportFormat } from "./bindings/ExportFormat";
export type { WindowsReport } from "./bindings/WindowsReport";
export type { WindowSeries } from "./bindings/WindowSeries";
export type { WindowRequest } from "./bindings/WindowRequest";
export type { RequestRow } from "./bindings/RequestRow";
export type { RequestFlags } from "./bindings/RequestFlags";
export type { RequestDetails } from "./bindings/RequestDetails";
export type { LogLine } from "./bindings/LogLine";
export type { ClaudeCodeScopes } from "./bindings/ClaudeCodeScopes";
export type { Warning } from "./bindings/Warning";
export type { FixAction } from "./bindings/FixAction";
export type { ScopeState } from "./bindings/ScopeState";
export type { SettingsDiff } from "./bindings/SettingsDiff";
export type { SettingsChange } from "./bindings/SettingsChange";
export type { SettingsView } from "./bindings/SettingsView";
export type { SettingsForm } from "./bindings/SettingsForm";
export type { PriceOverride } from "./bindings/PriceOverride";
export type { SaveOutcome } from "./bindings/SaveOutcome";
export type { FieldProblem } from "./bindings/FieldProblem";
export type { LedgerChanged } from "./bindings/LedgerChanged";
export type { LoginReply } from "./bindings/LoginReply";

// ---- not in the bindings yet (asked for in /work/ui-requests.md) ----

/** `import_transcripts` (H-import's ImportSummary). */
export interface ImportSummary {
  files_read: number;
  files_unchanged: number;
  messages_found: number;
  rows_added: number;
  rows_updated: number;
  skipped_gateway: number;
}

/** The `import-progress` event (H-import's ImportProgress). */
export interface ImportProgress {
  files_done: number;
  files_total: number;
  bytes_done: number;
  bytes_total: number;
}

/** `first_run_state` (planned by H-data: FirstRun {show, gateway_running, claude_code_configured, imported}). */
export interface FirstRun {
  show: boolean;
  imported: ImportSummary | null;
}
