// The main window: live state and the same actions as the tray menu.
//
// Everything shown comes from the core's snapshot and tray model (pushed as
// the "state" event and fetched once at start), so the window and the tray
// never disagree. It is also the way in when the desktop has no tray.

import { invoke } from "@tauri-apps/api/core";
import { listen } from "@tauri-apps/api/event";

type Action =
  | "proxy"
  | "claude_code"
  | "login"
  | "open_dashboard"
  | "open_spend"
  | "open_windows"
  | "open_logs"
  | "restart_gateway"
  | "start_at_login"
  | "keep_gateway_after_quit"
  | "quit";

type Entry =
  | { kind: "info"; label: string }
  | { kind: "button"; action: Action; label: string; enabled: boolean }
  | { kind: "check"; action: Action; label: string; checked: boolean; enabled: boolean }
  | { kind: "separator" };

type Gateway =
  | { state: "stopped" | "starting" }
  | { state: "running"; base_url: string; pid: number; adopted: boolean }
  | { state: "unhealthy"; base_url: string; pid: number; error: string }
  | { state: "restarting"; attempt: number; last_error: string; retry_in_ms: number }
  | { state: "failed"; reason: string; last_lines: string[] };

type Login =
  | { state: "unknown" | "logged_out" }
  | { state: "not_installed"; hint: string }
  | { state: "logged_in"; plan: string | null }
  | { state: "error"; message: string };

type SignIn = { state: "idle" | "waiting" } | { state: "failed"; message: string };

interface View {
  tray: { icon: string; tooltip: string; entries: Entry[] };
  snapshot: {
    gateway: Gateway;
    claude_code: { configured: boolean; base_url: string | null; warnings: string[] };
    login: Login;
    sign_in: SignIn;
    config_error: string | null;
    recording_problem: string | null;
  };
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

let view: View | null = null;
let lastSignIn: SignIn["state"] = "idle";

function render(next: View) {
  view = next;
  const { tray, snapshot } = next;
  // The tray's figures ("Today …", the windows) are buttons there, opening a page; here they are facts.
  const infos = tray.entries.filter(
    (e) => e.kind === "info" || (e.kind === "button" && (e.action === "open_spend" || e.action === "open_windows")),
  ) as { label: string }[];

  $("dot").dataset.icon = tray.icon;
  $("gateway").textContent = infos[0]?.label ?? "";
  // The tray's one-line "Config error: …" and recording rows are the boxes above, in full.
  const recording = snapshot.recording_problem;
  const facts = infos
    .slice(1)
    .filter(
      (entry) =>
        !entry.label.startsWith("Config error:") &&
        !(recording !== null && recording.startsWith(entry.label.replace(/…$/, ""))),
    );
  $("facts").replaceChildren(
    ...facts.map((entry) => Object.assign(document.createElement("p"), { textContent: entry.label })),
  );

  $("config-error").hidden = snapshot.config_error === null;
  $("config-error-text").textContent = snapshot.config_error ?? "";
  $("recording-problem").hidden = recording === null;
  $("recording-problem-text").textContent = recording ?? "";
  // A config error is why the gateway failed; its box above says it all.
  const failed = snapshot.gateway.state === "failed" && snapshot.config_error === null ? snapshot.gateway : null;
  $("failed").hidden = failed === null;
  $("failed-lines").textContent = failed ? [failed.reason, "", ...failed.last_lines.slice(-8)].join("\n") : "";

  const claude = snapshot.claude_code;
  $("claude-code-status").textContent = claude.configured
    ? `Claude Code goes through the gateway at ${claude.base_url}.`
    : "Claude Code talks to Anthropic directly.";
  $("claude-code-warnings").replaceChildren(
    ...claude.warnings.map((w) => Object.assign(document.createElement("li"), { textContent: w })),
  );

  // Claude Code usually finishes signing in by itself (the browser hands
  // it the code), or gives up: then there is no code to ask for. Only the
  // end of a sign-in hides the form, not a snapshot taken before it began.
  if (lastSignIn === "waiting" && snapshot.sign_in.state !== "waiting") $("login-flow").hidden = true;
  if (snapshot.sign_in.state === "failed") showLoginMessage(snapshot.sign_in.message);
  lastSignIn = snapshot.sign_in.state;

  renderActions(tray.entries);
}

function renderActions(entries: Entry[]) {
  const nodes: HTMLElement[] = [];
  for (const entry of entries) {
    if (entry.kind === "check") {
      const input = Object.assign(document.createElement("input"), {
        type: "checkbox",
        checked: entry.checked,
        disabled: !entry.enabled,
      });
      input.dataset.action = entry.action;
      input.addEventListener("change", () => perform(entry.action, input.checked));
      const label = document.createElement("label");
      label.append(input, entry.label);
      nodes.push(label);
    } else if (
      entry.kind === "button" &&
      entry.action !== "open_dashboard" &&
      entry.action !== "open_spend" &&
      entry.action !== "open_windows"
    ) {
      const button = Object.assign(document.createElement("button"), {
        type: "button",
        textContent: entry.label,
        disabled: !entry.enabled,
      });
      button.dataset.action = entry.action;
      button.addEventListener("click", () => perform(entry.action));
      nodes.push(button);
    }
  }
  $("actions").replaceChildren(...nodes);
}

async function perform(action: Action, checked?: boolean) {
  showError(null);
  try {
    switch (action) {
      case "proxy":
        return await invoke("set_proxy", { enabled: checked });
      case "claude_code":
        return await invoke("set_claude_code", { enabled: checked });
      case "start_at_login":
        return await invoke("set_start_at_login", { enabled: checked });
      case "keep_gateway_after_quit":
        return await invoke("set_keep_gateway_after_quit", { enabled: checked });
      case "restart_gateway":
        return await invoke("restart_gateway");
      case "login":
        return await startLogin();
      case "open_logs":
        return await showLogs();
      case "quit":
        return await invoke("quit");
      case "open_dashboard":
        return;
    }
  } catch (error) {
    showError(String(error));
    if (view) render(view); // put check boxes back to the truth
  }
}

function showError(message: string | null) {
  $("action-error").hidden = message === null;
  $("action-error").textContent = message ?? "";
}

function showLoginMessage(message: string | null) {
  $("login-message").hidden = message === null;
  $("login-message").textContent = message ?? "";
}

async function startLogin() {
  if (view?.snapshot.login.state !== "logged_out") {
    await invoke("refresh_login");
    return;
  }
  showLoginMessage(null);
  $("sign-in-url").textContent = await invoke<string>("start_login");
  $("login-flow").hidden = false;
  $<HTMLInputElement>("login-code").focus();
}

async function refreshLogLines() {
  const lines = await invoke<string[]>("log_tail");
  $("log-lines").textContent = lines.length ? lines.join("\n") : "(nothing logged yet)";
}

async function showLogs() {
  await refreshLogLines();
  $("logs").hidden = false;
  $("logs").scrollIntoView();
  // "Open logs" came from the tray or a button: Enter now opens the file.
  $("open-log-file").focus();
}

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = $<HTMLInputElement>("login-code");
  try {
    const reply = await invoke<{ done: boolean; message: string }>("submit_login_code", { code: input.value });
    input.value = "";
    showLoginMessage(reply.message);
    $("login-flow").hidden = reply.done;
  } catch (error) {
    // Claude Code ended the sign-in; a new one starts from the button.
    showLoginMessage(String(error));
    $("login-flow").hidden = true;
  }
});
$("login-cancel").addEventListener("click", async () => {
  await invoke("cancel_login");
  $("login-flow").hidden = true;
});
$("open-sign-in").addEventListener("click", () => invoke("open_sign_in_page"));
$("open-log-file").addEventListener("click", () => invoke("open_log_file"));

await listen<View>("state", async (event) => {
  render(event.payload);
  // A change of state is usually a new log line (started, crashed, not answering).
  if (!$("logs").hidden) await refreshLogLines();
});
await listen("show-logs", () => showLogs());
await listen("show-login", () => startLogin());
render(await invoke<View>("get_state"));

// A window opened by "Open logs" or "Log in to Claude…" is created for it,
// too late for the event: the shell says which panel before the page loads.
const openPanel = (window as { gatehouseOpenPanel?: string }).gatehouseOpenPanel;
if (openPanel === "logs") await showLogs();
if (openPanel === "login") await startLogin();
