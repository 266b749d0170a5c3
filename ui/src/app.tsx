// The window: a sidebar of pages and the page shown. It keeps the app's
// state (pushed as the "state" event) and a ledger version (bumped by the
// "ledger" event) that pages reload on, so nothing polls.

import { useEffect, useRef, useState } from "preact/hooks";
import { api, events, takeEarly } from "./api";
import type { LedgerChanged, View } from "./types";
import { Overview } from "./pages/overview";
import { Spend } from "./pages/spend";
import { Windows } from "./pages/windows";
import { Requests } from "./pages/requests";
import { ClaudeCode } from "./pages/claude-code";
import { Logs } from "./pages/logs";
import { SettingsPage } from "./pages/settings";

export const PAGES = [
  { id: "overview", title: "Overview" },
  { id: "spend", title: "Spend" },
  { id: "windows", title: "Windows" },
  { id: "requests", title: "Requests" },
  { id: "claude-code", title: "Claude Code" },
  { id: "logs", title: "Logs" },
  { id: "settings", title: "Settings" },
] as const;

export type PageId = (typeof PAGES)[number]["id"];

export interface Ctx {
  view: View | null;
  ledger: number;
  /** The last "ledger" event: the rows that just landed, newest first. */
  landed: LedgerChanged | null;
  go: (page: PageId) => void;
  /** Asks the Overview to start signing in (the tray's "Log in to Claude…"). */
  loginRequest: number;
  login: () => void;
}

const panelPage = (panel: string | undefined): PageId | null =>
  panel === "login" ? "overview" : (PAGES.find((p) => p.id === panel)?.id ?? null);

export function App() {
  const opened = (window as { gatehouseOpenPanel?: string }).gatehouseOpenPanel;
  const [page, setPage] = useState<PageId>(panelPage(opened) ?? "overview");
  const [view, setView] = useState<View | null>(() => takeEarly<View>("state") ?? null);
  const [ledger, setLedger] = useState(0);
  const [landed, setLanded] = useState<LedgerChanged | null>(null);
  const [loginRequest, setLoginRequest] = useState(opened === "login" ? 1 : 0);
  const [stateError, setStateError] = useState<string | null>(null);

  useEffect(() => {
    const unlisten = [
      events.state(setView),
      events.ledger((change) => (setLanded(change), setLedger((n) => n + 1))),
      events.show("login", () => (setPage("overview"), setLoginRequest((n) => n + 1))),
      ...PAGES.map((p) => events.show(p.id, () => setPage(p.id))),
    ];
    api.state().then(setView, (why) => setStateError(String(why)));
    return () => unlisten.forEach((u) => u.then((f) => f()));
  }, []);

  // After a change of page, focus goes to it, or to the control it names (screen readers announce it; Tab continues in it).
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      // A window opened for a page (the tray's "Open logs") starts on it, focused.
      if (panelPage(opened) === null) return;
    }
    // A page may name the control it is opened for (Logs: "Open the file").
    const target = document.querySelector<HTMLElement>("#page [data-autofocus]") ?? document.getElementById("page");
    target?.focus({ preventScroll: true });
    window.scrollTo(0, 0);
  }, [page]);

  const login = () => (setPage("overview"), setLoginRequest((n) => n + 1));
  const ctx: Ctx = { view, ledger, landed, go: setPage, loginRequest, login };
  const gateway = view?.snapshot.gateway.state;
  return (
    <div class="shell">
      <nav class="sidebar" aria-label="Pages">
        <div class="brand">
          <span class={`dot ${view?.tray.icon ?? "stopped"}`} aria-hidden="true" />
          Gatehouse
        </div>
        <ul>
          {PAGES.map((p) => (
            <li key={p.id}>
              <button
                type="button"
                class={page === p.id ? "nav active" : "nav"}
                aria-current={page === p.id ? "page" : undefined}
                data-page={p.id}
                onClick={() => setPage(p.id)}
              >
                {p.title}
              </button>
            </li>
          ))}
        </ul>
        <div class="sidebar-foot" title={view?.tray.tooltip}>
          Gateway {gateway ?? "…"}
        </div>
      </nav>
      <main id="page" tabIndex={-1} data-page={page}>
        {stateError && <p class="status error" role="alert">Cannot read the app's state: {stateError}</p>}
        {page === "overview" && <Overview ctx={ctx} />}
        {page === "spend" && <Spend ctx={ctx} />}
        {page === "windows" && <Windows ctx={ctx} />}
        {page === "requests" && <Requests ctx={ctx} />}
        {page === "claude-code" && <ClaudeCode ctx={ctx} />}
        {page === "logs" && <Logs ctx={ctx} />}
        {page === "settings" && <SettingsPage ctx={ctx} />}
      </main>
    </div>
  );
}
