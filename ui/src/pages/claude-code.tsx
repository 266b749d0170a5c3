// Claude Code: each settings scope, configured or not (the user's and the
// managed ones, and a project's when one is picked); the exact change to the
// user settings.json, or to a project's settings.local.json, as a diff
// before applying it (apply or cancel); removing it the same way; every
// status warning with its fix (a button where Gatehouse can do it;
// otherwise the command to copy, the file to open or its path to copy); the
// config's team proxies, to point Claude Code at one of them instead (the
// same preview first); the Claude login.

import { useState } from "preact/hooks";
import { api } from "../api";
import type { Ctx } from "../app";
import type { ClaudeCodeScopes, FixAction, ScopeState, SettingsChange, SettingsDiff, Snapshot, Warning } from "../types";
import { ActionStatus, Section, useAction, useLoad, Words } from "../ui";
import { claudeCodeState } from "./overview";

const SCOPE_TITLES: Record<string, string> = {
  managed: "Managed settings",
  local: "Local project settings",
  project: "Project settings",
  user: "User settings",
};

export function ClaudeCode({ ctx }: { ctx: Ctx }) {
  const snapshot = ctx.view?.snapshot;
  const [project, setProject] = useState<string | null>(null);
  const scopes = useLoad(() => api.scopes(project), [project, snapshot?.claude_code.configured, snapshot?.claude_code_paused, snapshot?.gateway.state]);
  return (
    <div class="page">
      <h1 class="page-title">Claude Code</h1>
      {snapshot && <StateCard snapshot={snapshot} ctx={ctx} />}
      <Section loaded={scopes}>{(s) => <Scopes scopes={s} reload={scopes.reload} project={project} pick={setProject} />}</Section>
    </div>
  );
}

function StateCard({ snapshot, ctx }: { snapshot: Snapshot; ctx: Ctx }) {
  const cc = claudeCodeState(snapshot);
  const login = snapshot.login;
  return (
    <section class="card">
      <div class="cc-state">
        <span class={`state-mark ${cc.state}`}>{{ on: "On", off: "Off", paused: "Paused" }[cc.state]}</span>
        <div>
          <strong>{cc.detail}</strong>
          <p class="muted">
            {login.state === "logged_in"
              ? `Signed in to Claude${login.plan ? ` (${login.plan} plan)` : " with an API account"}.`
              : login.state === "logged_out"
                ? "Not signed in to Claude. "
                : login.state === "not_installed"
                  ? login.hint
                  : login.state === "error"
                    ? `Cannot ask Claude Code about its login: ${login.message}`
                    : "Asking Claude Code about its login…"}
            {login.state === "logged_out" && (
              <button type="button" class="link" onClick={ctx.login}>Log in to Claude…</button>
            )}
          </p>
        </div>
      </div>
    </section>
  );
}

function Scopes({ scopes, reload, project, pick }: { scopes: ClaudeCodeScopes; reload: () => void; project: string | null; pick: (project: string | null) => void }) {
  const user = scopes.scopes.find((s) => s.scope === "user");
  // A project's local settings, once Gatehouse put the gateway there: they can be taken out again.
  const local = scopes.scopes.find((s) => s.scope === "local" && (s.configured || s.team_proxy));
  const offersConfigure = scopes.warnings.some((w) => w.fix.action?.kind === "configure_user");
  return (
    <>
      {scopes.warnings.length > 0 && (
        <section class="card warn-card" aria-labelledby="warnings-title">
          <h2 id="warnings-title">Needs attention</h2>
          <ul class="fixes" data-testid="warnings">
            {scopes.warnings.map((w, i) => <WarningItem key={`${w.kind}:${w.path ?? ""}:${w.key ?? ""}:${i}`} warning={w} project={project} reload={reload} />)}
          </ul>
        </section>
      )}
      {/* A warning that offers to switch Claude Code over is the one place to do it. */}
      {user && (user.configured || user.team_proxy || !offersConfigure) && <Change scope={user} project={null} reload={reload} />}
      {local && project && <Change scope={local} project={project} reload={reload} />}
      {scopes.team_proxies.length > 0 && <TeamProxies teams={scopes.team_proxies} project={project} reload={reload} />}
      <section class="card" aria-labelledby="scopes-title">
        <div class="card-head">
          <h2 id="scopes-title">Settings files, highest precedence first</h2>
          <label class="project-pick">
            <span>Project</span>
            <select data-testid="project" value={project ?? ""} onChange={(e) => pick((e.currentTarget as HTMLSelectElement).value || null)}>
              <option value="">None: user settings only</option>
              {scopes.projects.map((p) => <option key={p} value={p}>{p}</option>)}
            </select>
          </label>
        </div>
        <div class="table-wrap">
          <table data-testid="scopes">
            <thead><tr><th>Scope</th><th>File</th><th>Gateway</th></tr></thead>
            <tbody>
              {scopes.scopes.map((s) => (
                <tr key={s.scope} data-scope={s.scope}>
                  <td>{SCOPE_TITLES[s.scope] ?? s.scope}</td>
                  <td class="path label">{s.path}{!s.exists && <span class="muted"> (none)</span>}</td>
                  <td>
                    {s.error ? <span class="badge bad" title={s.error}>unreadable</span> : s.team_proxy ? <span class="badge ok" data-team-proxy title={s.base_url ?? ""}>team proxy</span> : s.configured ? <span class="badge ok">through the gateway</span> : s.base_url ? <span class="badge warn" title={s.base_url}>elsewhere</span> : <span class="badge">not set</span>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <p class="muted">
          {project
            ? "Claude Code started in this project also reads its local and project settings, which win over the user settings."
            : scopes.projects.length > 0
              ? "A project's own settings win over the user settings there: pick a project to see them."
              : "Claude Code has not been used in any project yet, so only the user settings apply."}
          {scopes.effective_base_url && <> Claude Code uses <span class="url">{scopes.effective_base_url}</span>.</>}
        </p>
      </section>
    </>
  );
}

/** One warning: what is wrong, its fix in words, and what can be done from here. */
function WarningItem({ warning, project, reload }: { warning: Warning; project: string | null; reload: () => void }) {
  const copying = useAction();
  const opening = useAction();
  const { fix } = warning;
  const open = (path: string) => opening.run("Opening the file…", () => api.openSettingsFile(path), "Opened in your editor.");
  const copy = (what: string, text: string) => copying.run(`Copying the ${what}…`, () => navigator.clipboard.writeText(text), `Copied the ${what}.`);
  return (
    <li class="fix-item" data-kind={warning.kind}>
      <p class="fix-message"><strong><Words text={warning.message} />.</strong></p>
      <p class="fix-text"><span class="fix-label">Fix:</span> <Words text={fix.text} />.</p>
      {fix.command && (
        <p class="fix-command">
          <code class="mono">{fix.command}</code>
          <button type="button" class="small" data-copy="command" onClick={() => copy("command", fix.command!)}>Copy the command</button>
        </p>
      )}
      {fix.action && <FixButton action={fix.action} project={project} reload={reload} />}
      {warning.path && (
        <div class="buttons">
          {warning.path && <button type="button" data-open="file" disabled={opening.busy !== null} onClick={() => open(warning.path!)}>Open the file</button>}
          {warning.path && <button type="button" data-copy="path" onClick={() => copy("file's path", warning.path!)}>Copy the file's path</button>}
        </div>
      )}
      <ActionStatus state={copying} />
      <ActionStatus state={opening} />
    </li>
  );
}

/**
 * What Gatehouse does itself: configuring the user settings, or the shown project's local settings,
 * goes through the diff preview; starting the gateway is the switch's own start.
 */
function FixButton({ action, project, reload }: { action: FixAction; project: string | null; reload: () => void }) {
  const starting = useAction();
  if (action.kind === "configure_user") return <PreviewFlow change="configure" project={null} label={action.label} primary reload={reload} />;
  if (action.kind === "configure_local" && project) return <PreviewFlow change="configure" project={project} label={action.label} primary reload={reload} />;
  const start = async () => {
    if (await starting.run("Starting the gateway…", () => api.setProxy(true), "The gateway is running.")) reload();
  };
  return (
    <div class="fix-action">
      <button type="button" class="primary" data-fix={action.kind} disabled={starting.busy !== null} onClick={start}>{action.label}</button>
      <ActionStatus state={starting} />
    </div>
  );
}

/** Configure or remove the user settings, or remove a project's local settings: always through the diff preview first. */
function Change({ scope, project, reload }: { scope: ScopeState; project: string | null; reload: () => void }) {
  const change: SettingsChange = scope.configured || scope.team_proxy ? "remove" : "configure";
  const id = `change-${scope.scope}-title`;
  const where = scope.team_proxy ? "a team proxy" : "the gateway";
  const title = project
    ? `This project goes through ${where}`
    : change === "remove"
      ? `Claude Code goes through ${where}`
      : "Switch Claude Code onto the gateway";
  const text = project
    ? `Gatehouse put ${where} in this project's local settings. Removing puts them back exactly as they were before.`
    : change === "remove"
      ? "Removing puts its user settings back exactly as they were before."
      : "Gatehouse adds its gateway address and key to Claude Code's user settings; nothing else changes. See the change first.";
  return (
    <section class="card" aria-labelledby={id} data-testid="change" data-scope={scope.scope}>
      <div class="card-head">
        <h2 id={id}>{title}</h2>
      </div>
      <p class="muted">{text}</p>
      <PreviewFlow change={change} project={project} label={change === "configure" ? "Preview the change…" : "Preview removing…"} primary={change === "configure"} reload={reload} />
    </section>
  );
}

/**
 * The config's team proxies (`remote-litellm` upstreams): Claude Code can talk to one of them directly, with
 * the team's virtual key, instead of through the gateway. Its login is left alone.
 */
function TeamProxies({ teams, project, reload }: { teams: string[]; project: string | null; reload: () => void }) {
  return (
    <section class="card" aria-labelledby="teams-title" data-testid="team-proxies">
      <div class="card-head">
        <h2 id="teams-title">Team proxies</h2>
      </div>
      <p class="muted">
        Point Claude Code straight at your team's LiteLLM proxy: Gatehouse adds the proxy's address and your virtual key
        (as an x-litellm-api-key header) to {project ? "this project's local settings" : "Claude Code's user settings"}, and
        leaves your Claude login alone. Its spend is on the Settings page, under Connections.
      </p>
      {teams.map((team) => (
        <div key={team} data-team={team}>
          <PreviewFlow change="configure" team={team} project={project} label={`Use team proxy ${team}…`} primary={false} reload={reload} />
        </div>
      ))}
    </section>
  );
}

/**
 * A button that shows the diff of `change` to the user settings (or, with `project`, to that project's
 * local settings), then applies it or cancels. With `team`, the change points Claude Code at that team proxy.
 */
function PreviewFlow({ change, team, project, label, primary, reload }: { change: SettingsChange; team?: string; project: string | null; label: string; primary: boolean; reload: () => void }) {
  const [preview, setPreview] = useState<SettingsDiff | null>(null);
  const loading = useAction();
  const applying = useAction();
  const show = () => loading.run("Computing the change…", async () => setPreview(await (team ? api.teamPreview(team, project) : api.preview(change, project))));
  const apply = async () => {
    if (!preview) return;
    const ok = await applying.run(
      preview.change === "configure" ? "Writing the settings…" : "Restoring the settings…",
      () => (team ? api.teamApply(team, project) : api.apply(preview.change, project)),
      preview.change === "configure" ? (team ? `Claude Code now goes through team proxy ${team}.` : "Claude Code now goes through the gateway.") : "Claude Code's settings are back as they were.",
    );
    if (ok) (setPreview(null), reload());
  };
  return (
    <div class="preview-flow">
      {preview === null && (
        <div class="buttons">
          <button type="button" data-preview={change} class={primary ? "primary" : ""} disabled={loading.busy !== null} onClick={show}>{label}</button>
        </div>
      )}
      <ActionStatus state={loading} />
      {preview && (
        <div class="preview" data-testid="diff-preview">
          <p>
            {preview.unchanged ? "Nothing would change in " : preview.change === "configure" ? "Applying writes this change to " : "Removing writes this change to "}
            <span class="path">{preview.path}</span>
            {preview.after === null ? " (the file is deleted: Gatehouse created it and it holds nothing else)" : ""}:
          </p>
          {!preview.unchanged && <Diff text={preview.diff} />}
          <div class="buttons">
            <button type="button" class="primary" data-apply={preview.change} disabled={preview.unchanged || applying.busy !== null} onClick={apply}>
              {preview.change === "configure" ? "Apply" : "Remove"}
            </button>
            <button type="button" onClick={() => setPreview(null)} disabled={applying.busy !== null}>Cancel</button>
          </div>
        </div>
      )}
      <ActionStatus state={applying} />
    </div>
  );
}

export function Diff({ text }: { text: string }) {
  return (
    <pre class="diff" aria-label="Unified diff">
      {text.replace(/\n$/, "").split("\n").map((line, i) => {
        const kind = line.startsWith("+++") || line.startsWith("---") ? "file" : line.startsWith("@@") ? "hunk" : line.startsWith("+") ? "add" : line.startsWith("-") ? "del" : "";
        return <span key={i} class={`diff-line ${kind}`}>{line || " "}{"\n"}</span>;
      })}
    </pre>
  );
}
