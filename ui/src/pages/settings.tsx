// Settings: the gateway's port and fail-open timeout, start at login,
// notification thresholds, price overrides (checked here and by the core,
// errors next to their field), the data folder, the providers Gatehouse
// holds keys for (OpenRouter's browser sign-in) and a "Test" of each
// upstream's connection (and a team proxy's spend for its key), the engines (the built-in gateway, and LiteLLM
// with its install, progress bar and uninstall). Quit lives here, apart.

import { useState } from "preact/hooks";
import { api, message } from "../api";
import type { Ctx } from "../app";
import { size } from "../format";
import { INSTALL_PHASES, engineRunLine, servedLine, teamSpendLine, validateSettings, type PriceDraft } from "../logic";
import type { FieldProblem, Gateway, LiteLlmView, SettingsView, UpstreamTest } from "../types";
import { ActionStatus, Section, Spinner, Switch, useAction, useLoad } from "../ui";

export function SettingsPage({ ctx }: { ctx: Ctx }) {
  const loaded = useLoad(api.settings, []);
  return (
    <div class="page">
      <h1 class="page-title">Settings</h1>
      <Section loaded={loaded}>{(s) => <Form initial={s} />}</Section>
      {ctx.view && <Providers ctx={ctx} />}
      {ctx.view && <Engines ctx={ctx} />}
      {ctx.view && <AppSwitches ctx={ctx} />}
    </div>
  );
}

const PRICE_FIELDS: { key: Exclude<keyof PriceDraft, "model">; title: string }[] = [
  { key: "input", title: "Input" },
  { key: "output", title: "Output" },
  { key: "cache_read", title: "Cache read" },
  { key: "cache_write_5m", title: "Cache write 5m" },
  { key: "cache_write_1h", title: "Cache write 1h" },
];

function Form({ initial }: { initial: SettingsView }) {
  const [form, setForm] = useState(initial.form);
  const [prices, setPrices] = useState<PriceDraft[]>(initial.form.price_overrides);
  const [thresholds, setThresholds] = useState(initial.form.notifications.window_thresholds.join(", "));
  const [problems, setProblems] = useState<FieldProblem[]>([]);
  const saving = useAction();
  const opening = useAction();
  const err = (field: string) => problems.filter((e) => e.field === field).map((e) => <span key={e.message} class="field-error" role="alert">{e.message}</span>);
  const num = (e: Event) => {
    const v = (e.currentTarget as HTMLInputElement).value;
    return v === "" ? null : Number(v);
  };
  const save = async (event: Event) => {
    event.preventDefault();
    const checked = validateSettings(form, thresholds, prices);
    setProblems(checked.problems);
    if (checked.problems.length) return;
    await saving.run("Saving config.toml…", async () => {
      const outcome = await api.saveSettings(checked.form);
      setProblems(outcome.problems);
      if (!outcome.saved) throw new Error("Not saved: fix the fields marked above.");
      return outcome;
    }, (outcome) => (outcome.restart_needed ? "Saved. The new port takes effect when the gateway restarts (Overview → Restart)." : "Saved."));
  };
  const setPrice = (i: number, patch: Partial<PriceDraft>) => setPrices(prices.map((p, j) => (j === i ? { ...p, ...patch } : p)));
  const notifications = form.notifications;
  return (
    <form class="settings" onSubmit={save} noValidate>
      {initial.config_error && (
        <p class="status error" role="alert">config.toml cannot be read ({initial.config_error}): the form shows the defaults, and saving waits until the file is fixed by hand.</p>
      )}
      <section class="card">
        <h2>Gateway</h2>
        <div class="fields">
          <label>
            Port
            <input type="number" name="port" min={1} max={65535} value={form.port} onInput={(e) => setForm({ ...form, port: num(e) ?? 0 })} />
            {err("port")}
          </label>
          <label>
            Fail-open timeout (seconds)
            <input type="number" name="fail_open_after_secs" min={1} value={form.fail_open_after_secs} onInput={(e) => setForm({ ...form, fail_open_after_secs: num(e) ?? 0 })} />
            <span class="hint">How long the gateway may fail before Claude Code goes to Anthropic directly.</span>
            {err("fail_open_after_secs")}
          </label>
        </div>
      </section>
      <section class="card">
        <h2>Notifications</h2>
        <div class="fields">
          <label>
            Notify when a window crosses (%)
            <input name="window_thresholds" value={thresholds} onInput={(e) => setThresholds((e.currentTarget as HTMLInputElement).value)} placeholder="80, 95" />
            <span class="hint">Once per crossing, for every window. Leave empty for none.</span>
            {err("notifications.window_thresholds")}
          </label>
          <label class="check">
            <input type="checkbox" checked={notifications.window_rejected} onChange={(e) => setForm({ ...form, notifications: { ...notifications, window_rejected: (e.currentTarget as HTMLInputElement).checked } })} />
            When a window is full (requests refused), with its reset time
          </label>
          <label class="check">
            <input type="checkbox" checked={notifications.window_reset} onChange={(e) => setForm({ ...form, notifications: { ...notifications, window_reset: (e.currentTarget as HTMLInputElement).checked } })} />
            When a window resets after crossing a threshold
          </label>
        </div>
      </section>
      <section class="card">
        <h2>Price overrides</h2>
        <p class="muted">USD per million tokens, for models without a list price or to correct one. Empty cache prices follow the input price (read 0.1×, write 1.25× for 5 minutes, 2× for 1 hour).</p>
        {prices.length > 0 && (
          <div class="table-wrap">
            <table class="prices">
              <thead><tr><th>Model</th>{PRICE_FIELDS.map((f) => <th key={f.key}>{f.title}</th>)}<th /></tr></thead>
              <tbody>
                {prices.map((p, i) => (
                  <tr key={i}>
                    <td>
                      <input aria-label="Model" value={p.model} placeholder="claude-…" onInput={(e) => setPrice(i, { model: (e.currentTarget as HTMLInputElement).value })} />
                      {err(`price_overrides.${i}.model`)}
                    </td>
                    {PRICE_FIELDS.map((f) => (
                      <td key={f.key}>
                        <input aria-label={`${f.title} price for ${p.model || "this model"}`} type="number" step="any" min={0} class="num" value={p[f.key] ?? ""} onInput={(e) => setPrice(i, { [f.key]: num(e) })} />
                        {err(`price_overrides.${i}.${f.key}`)}
                      </td>
                    ))}
                    <td><button type="button" class="link" onClick={() => setPrices(prices.filter((_, j) => j !== i))}>Remove</button></td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {err("price_overrides")}
        <button type="button" onClick={() => setPrices([...prices, { model: "", input: null, output: null, cache_read: null, cache_write_5m: null, cache_write_1h: null }])}>
          Add a price
        </button>
      </section>
      <section class="card">
        <h2>Data</h2>
        <p>The ledger and the app's state live in <span class="path">{initial.data_dir}</span>; settings in <span class="path">{initial.config_file}</span>.</p>
        <button type="button" onClick={() => opening.run("Opening the folder…", api.openDataDir)}>Open the folder</button>
        <ActionStatus state={opening} />
      </section>
      <div class="form-foot">
        <button type="submit" class="primary" disabled={saving.busy !== null}>Save settings</button>
        <ActionStatus state={saving} />
      </div>
    </form>
  );
}

/**
 * OpenRouter's browser sign-in: the key it brings goes to the OS keychain. While it waits, the page can be
 * opened again, the address a browser elsewhere ended on pasted, or the sign-in cancelled.
 */
function Providers({ ctx }: { ctx: Ctx }) {
  const starting = useAction();
  const pasting = useAction();
  const [pasted, setPasted] = useState("");
  const signIn = ctx.view!.snapshot.openrouter;
  const start = () => starting.run("Opening OpenRouter's sign-in in your browser…", api.openRouterSignIn);
  const paste = (event: Event) => {
    event.preventDefault();
    void pasting.run("Finishing the sign-in…", async () => (await api.openRouterSignInPaste(pasted), setPasted("")));
  };
  return (
    <section class="card" aria-labelledby="providers-title" data-testid="providers">
      <h2 id="providers-title">Providers</h2>
      <div class="provider" data-provider="openrouter" data-state={signIn.state}>
        <div>
          <strong>OpenRouter</strong>
          <p class="muted">
            {signIn.state === "signed_in"
              ? <>Signed in: its key is stored as <code class="mono">{signIn.name}</code> in {signIn.store}; the config refers to it as <code class="mono">{signIn.reference}</code>.</>
              : signIn.state === "waiting"
                ? "Waiting for your browser: approve on OpenRouter's page and this finishes by itself."
                : "Sign in with your browser; the API key OpenRouter gives is kept in your OS keychain, never in a file."}
          </p>
          {signIn.state === "failed" && <p class="status error" role="alert">{signIn.message}</p>}
        </div>
        {signIn.state === "waiting" ? (
          <div class="buttons">
            <button type="button" data-action="openrouter_sign_in" onClick={start} disabled={starting.busy !== null}>Open the page again</button>
            <button type="button" data-action="openrouter_cancel" onClick={() => starting.run("Cancelling…", api.openRouterSignInCancel)}>Cancel</button>
          </div>
        ) : (
          <button type="button" class={signIn.state === "signed_in" ? "" : "primary"} data-action="openrouter_sign_in" onClick={start} disabled={starting.busy !== null}>
            {signIn.state === "signed_in" ? "Sign in again…" : "Sign in to OpenRouter…"}
          </button>
        )}
      </div>
      <ActionStatus state={starting} />
      {signIn.state === "waiting" && (
        <form class="paste-form" onSubmit={paste}>
          <label for="openrouter-pasted">Browser on another machine? Paste the address it ended on</label>
          <div class="buttons">
            <input id="openrouter-pasted" class="mono" autocomplete="off" spellcheck={false} placeholder="http://127.0.0.1:…/callback/…?code=…" value={pasted} onInput={(e) => setPasted((e.currentTarget as HTMLInputElement).value)} />
            <button type="submit" disabled={pasting.busy !== null || pasted.trim() === ""}>Finish signing in</button>
          </div>
          <ActionStatus state={pasting} />
        </form>
      )}
      <Connections ctx={ctx} />
    </section>
  );
}

/**
 * "Test connection" for each upstream of the config, its result beside it: a paid upstream is asked with its
 * own key; the subscription whether it answers, and Claude Code whether it is logged in.
 */
function Connections({ ctx }: { ctx: Ctx }) {
  const [results, setResults] = useState<Record<string, UpstreamTest | string>>({});
  const [testing, setTesting] = useState<string | null>(null);
  const test = async (name: string) => {
    setTesting(name);
    let result: UpstreamTest | string;
    try {
      result = await api.testUpstream(name);
    } catch (error) {
      result = message(error);
    }
    setResults((shown) => ({ ...shown, [name]: result }));
    setTesting(null);
  };
  return (
    <div class="connections" data-testid="connections">
      <h3>Connections</h3>
      {ctx.view!.snapshot.upstreams.map((upstream) => {
        const result = results[upstream.name];
        const verdict = typeof result === "object" ? result.verdict : result === undefined ? undefined : "error";
        return (
          <div key={upstream.name} class="provider" data-upstream={upstream.name} data-verdict={verdict}>
            <div>
              <strong>{upstream.name}</strong> <span class="muted">{upstream.kind}</span>
              {upstream.kind === "bedrock" && <span class="badge" data-through="litellm">through LiteLLM</span>}
              {upstream.kind === "remote-litellm" && <TeamKeySpend team={upstream.name} />}
              {testing === upstream.name && <p class="status busy" role="status"><Spinner /> Testing the connection…</p>}
              {testing !== upstream.name && result !== undefined && (
                verdict === "ok"
                  ? <p class="status done" role="status">OK: {(result as UpstreamTest).message}</p>
                  : <p class="status error" role="alert">{typeof result === "object" ? result.message : result}</p>
              )}
            </div>
            <button type="button" data-action="test_upstream" onClick={() => void test(upstream.name)} disabled={testing !== null}>
              Test
            </button>
          </div>
        );
      })}
    </div>
  );
}

/** A team proxy's spend and budget for its key, as its `/key/info` says, or why that cannot be read. */
function TeamKeySpend({ team }: { team: string }) {
  const loaded = useLoad(() => api.teamKeyInfo(team), [team]);
  if (loaded.data) {
    return (
      <p class="status done" data-testid="team-spend" data-status={loaded.data.status ?? undefined}>
        {teamSpendLine(loaded.data)}{" "}
        <button type="button" class="link" onClick={loaded.reload}>Refresh</button>
      </p>
    );
  }
  if (loaded.error) {
    return (
      <p class="status error" role="alert" data-testid="team-spend">
        {loaded.error} <button type="button" class="link" onClick={loaded.reload}>Try again</button>
      </p>
    );
  }
  return <p class="status busy" role="status" data-testid="team-spend"><Spinner /> Asking the team proxy for this key's spend…</p>;
}

/** The built-in gateway's state, in a few words. */
function gatewayWords(gateway: Gateway): string {
  switch (gateway.state) {
    case "running":
      return `running at ${gateway.base_url}`;
    case "unhealthy":
      return `not answering: ${gateway.error}`;
    case "restarting":
      return `restarting (attempt ${gateway.attempt})`;
    case "failed":
      return `stopped: ${gateway.reason}`;
    default:
      return gateway.state;
  }
}

/**
 * The engines: the built-in gateway is always the front door; LiteLLM runs behind it for the upstreams it
 * serves (AWS Bedrock). LiteLLM's install runs in the app, one at a time, its progress pushed in the snapshot.
 */
function Engines({ ctx }: { ctx: Ctx }) {
  const action = useAction();
  const s = ctx.view!.snapshot;
  const litellm: LiteLlmView = s.litellm;
  const install = litellm.install;
  const state = litellm.installing ? "installing" : install.state;
  const start = (force: boolean) =>
    action.run(force ? "Starting the repair…" : "Starting the install…", () => api.installLiteLlm(force));
  return (
    <section class="card" aria-labelledby="engines-title" data-testid="engines">
      <h2 id="engines-title">Engines</h2>
      <div class="engines">
        <div class="provider" data-engine="builtin" data-state={s.gateway.state}>
          <div>
            <strong>Built-in gateway</strong> <span class="badge">always on</span>
            <p class="muted">Claude Code and every client talk to it. Now {gatewayWords(s.gateway)}.</p>
          </div>
        </div>
        <div class="provider" data-engine="litellm" data-state={state}>
          <div class="engine-body">
            <strong>LiteLLM {litellm.pinned_version}</strong> <span class="muted">for apps that speak OpenAI's API, and for AWS Bedrock</span>
            {litellm.installing ? (
              <div class="install-progress">
                <p class="status busy" role="status">
                  <Spinner /> {INSTALL_PHASES[litellm.installing.phase]}… {Math.round(litellm.installing.fraction * 100)}%
                </p>
                <progress max={1} value={litellm.installing.fraction} aria-label="LiteLLM install progress" />
                <p class="muted mono install-message">{litellm.installing.message}</p>
              </div>
            ) : install.state === "installed" ? (
              <p class="muted">
                Installed
                {install.size_bytes !== null && <>: {size(install.size_bytes)}</>}
                {install.python_version && <>, Python {install.python_version}</>}, in <span class="path">{install.venv}</span>
              </p>
            ) : install.state === "problem" ? (
              <p class="status warn" role="alert">{install.message}</p>
            ) : (
              <p class="muted">Not installed. Gatehouse installs exactly this version, every file checked against the hashes it ships.</p>
            )}
            {litellm.last_failure && !litellm.installing && (
              <p class="status error" role="alert" data-failure={litellm.last_failure.kind}>
                The last install failed: {litellm.last_failure.message}
              </p>
            )}
          </div>
          {!litellm.installing && (
            install.state === "installed" ? (
              <button type="button" class="danger" data-action="litellm_uninstall" disabled={action.busy !== null}
                onClick={() => action.run("Uninstalling LiteLLM…", api.uninstallLiteLlm, (removed) => removed.message)}>
                Uninstall
              </button>
            ) : install.state === "problem" ? (
              <button type="button" class="primary" data-action="litellm_repair" disabled={action.busy !== null} onClick={() => start(true)}>
                Repair
              </button>
            ) : (
              <button type="button" class="primary" data-action="litellm_install" disabled={action.busy !== null} onClick={() => start(false)}>
                Install LiteLLM (about 650 MB)
              </button>
            )
          )}
        </div>
        <ActionStatus state={action} />
        {litellm.run && (
          <p class="engine-run" data-testid="litellm-run" data-run={litellm.run}>
            <span class={`dot ${engineRunLine(litellm.run).dot}`} /> {engineRunLine(litellm.run).text}
          </p>
        )}
        {litellm.serves.length > 0 && (
          <div class="served" data-testid="litellm-serves">
            <h3>Upstreams it serves</h3>
            <ul>
              {litellm.serves.map((served) => {
                const line = servedLine(served);
                return (
                  <li key={served.name} data-upstream={served.name} data-engine-state={served.engine.state}>
                    <span class={`dot ${line.ready ? "running" : served.engine.state === "unknown" ? "" : "degraded"}`} /> {line.text}
                  </li>
                );
              })}
            </ul>
          </div>
        )}
      </div>
    </section>
  );
}

function AppSwitches({ ctx }: { ctx: Ctx }) {
  const action = useAction();
  const s = ctx.view!.snapshot;
  return (
    <section class="card">
      <h2>App</h2>
      <div class="fields">
        <Switch state={s.start_at_login ? "on" : "off"} label="Start at login" action="start_at_login" busy={action.busy !== null} onChange={(on) => action.run("Saving…", () => api.setStartAtLogin(on))} />
        <Switch
          state={s.keep_gateway_after_quit ? "on" : "off"}
          label="Keep the gateway running after quitting"
          detail="Claude Code keeps going through it while the app is closed"
          action="keep_gateway_after_quit"
          busy={action.busy !== null}
          onChange={(on) => action.run("Saving…", () => api.setKeepGatewayAfterQuit(on))}
        />
      </div>
      <ActionStatus state={action} />
      <div class="danger-zone">
        <div>
          <strong>Quit Gatehouse</strong>
          <p class="muted">{s.keep_gateway_after_quit ? "The gateway keeps running." : "The gateway stops and Claude Code's settings are restored."}</p>
        </div>
        <button type="button" class="danger" data-action="quit" onClick={() => action.run("Quitting…", api.quit)}>Quit</button>
      </div>
    </section>
  );
}
