// Claude Code: each settings scope, configured or not; the exact change to
// its settings.json as a diff before applying it; the status warnings with
// their fixes; the Claude login.

import { useState } from "preact/hooks";
import { api } from "../api";
import type { Ctx } from "../app";
import type { Preview, Scope, ScopeState } from "../types";
import { ActionStatus, Section, Switch, useAction, useLoad } from "../ui";
import { claudeCodeState } from "./overview";

const SCOPE_TITLES: Record<Scope, string> = { user: "User settings", project: "Project settings", local: "Local project settings" };

export function ClaudeCode({ ctx }: { ctx: Ctx }) {
  const scopes = useLoad(api.scopes, [ctx.view?.snapshot.claude_code.configured, ctx.view?.snapshot.claude_code_paused]);
  const snapshot = ctx.view?.snapshot;
  const login = snapshot?.login;
  return (
    <div class="page">
      <h1 class="page-title">Claude Code</h1>
      {snapshot && (
        <section class="card">
          <div class="cc-state">
            <StateMark state={claudeCodeState(snapshot).state} />
            <div>
              <strong>{claudeCodeState(snapshot).detail}</strong>
              <p class="muted">
                {login?.state === "logged_in"
                  ? `Signed in to Claude${login.plan ? ` (${login.plan} plan)` : " with an API account"}.`
                  : login?.state === "logged_out"
                    ? "Not signed in to Claude."
                    : login?.state === "not_installed"
                      ? login.hint
                      : login?.state === "error"
                        ? `Cannot ask Claude Code about its login: ${login.message}`
                        : "Asking Claude Code about its login…"}
                {login?.state === "logged_out" && (
                  <> <button type="button" class="link" onClick={() => ctx.go("overview")}>Log in to Claude…</button></>
                )}
              </p>
            </div>
          </div>
        </section>
      )}
      <Section loaded={scopes}>
        {(list) => (
          <>
            {list.map((s) => <ScopeCard key={s.scope} scope={s} reload={scopes.reload} />)}
          </>
        )}
      </Section>
    </div>
  );
}

function StateMark({ state }: { state: "on" | "off" | "paused" }) {
  const text = { on: "On", off: "Off", paused: "Paused" }[state];
  return <span class={`state-mark ${state}`}>{text}</span>;
}

function ScopeCard({ scope, reload }: { scope: ScopeState; reload: () => void }) {
  const [preview, setPreview] = useState<(Preview & { action: "configure" | "remove" }) | null>(null);
  const loading = useAction();
  const applying = useAction();
  const show = (action: "configure" | "remove") =>
    loading.run("Computing the change…", async () => setPreview({ ...(await api.preview(scope.scope, action)), action }));
  const apply = async () => {
    if (!preview) return;
    const ok = await applying.run(
      preview.action === "configure" ? "Writing the settings…" : "Restoring the settings…",
      () => api.apply(scope.scope, preview.action),
      preview.action === "configure" ? `Claude Code's ${scope.scope} settings now point at the gateway.` : `Claude Code's ${scope.scope} settings are back as they were.`,
    );
    if (ok) (setPreview(null), reload());
  };
  return (
    <section class="card" aria-labelledby={`scope-${scope.scope}`} data-scope={scope.scope}>
      <div class="card-head">
        <h2 id={`scope-${scope.scope}`}>{SCOPE_TITLES[scope.scope]}</h2>
        <span class={`badge ${scope.configured ? "ok" : ""}`}>{scope.configured ? "through the gateway" : "not configured"}</span>
      </div>
      <p class="path muted">{scope.path}</p>
      {scope.warnings.length > 0 && (
        <ul class="warnings">
          {scope.warnings.map((w) => (
            <li key={w.message}><strong>{w.message}</strong> <span class="muted">Fix: {w.fix}</span></li>
          ))}
        </ul>
      )}
      {preview === null && (
        <div class="buttons">
          {scope.configured ? (
            <button type="button" data-preview="remove" onClick={() => show("remove")}>Preview removing…</button>
          ) : (
            <button type="button" data-preview="configure" class="primary" onClick={() => show("configure")}>Preview configuring…</button>
          )}
        </div>
      )}
      <ActionStatus state={loading} />
      {preview && (
        <div class="preview" data-testid="diff-preview">
          <p>
            {preview.unchanged ? "Nothing would change in " : preview.action === "configure" ? "Configuring writes this change to " : "Removing writes this change to "}
            <span class="path">{preview.path}</span>:
          </p>
          {!preview.unchanged && <Diff text={preview.diff} />}
          <div class="buttons">
            <button type="button" class="primary" data-apply={preview.action} disabled={preview.unchanged || applying.busy !== null} onClick={apply}>
              {preview.action === "configure" ? "Apply" : "Remove"}
            </button>
            <button type="button" onClick={() => setPreview(null)} disabled={applying.busy !== null}>Cancel</button>
          </div>
        </div>
      )}
      <ActionStatus state={applying} />
    </section>
  );
}

export function Diff({ text }: { text: string }) {
  return (
    <pre class="diff" aria-label="Unified diff">
      {text.split("\n").map((line, i) => {
        const kind = line.startsWith("+++") || line.startsWith("---") ? "file" : line.startsWith("@@") ? "hunk" : line.startsWith("+") ? "add" : line.startsWith("-") ? "del" : "";
        return <span key={i} class={`diff-line ${kind}`}>{line || " "}{"\n"}</span>;
      })}
    </pre>
  );
}

export { Switch };
