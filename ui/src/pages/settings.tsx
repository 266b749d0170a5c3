// Settings: the gateway's port and fail-open timeout, start at login,
// notification thresholds, price overrides (checked here and by the core,
// errors next to their field), and the data folder. Quit lives here, apart.

import { useEffect, useState } from "preact/hooks";
import { api } from "../api";
import type { Ctx } from "../app";
import { validateSettings } from "../logic";
import type { FieldError, PriceOverride, Settings } from "../types";
import { ActionStatus, Section, Switch, useAction, useLoad } from "../ui";

export function SettingsPage({ ctx }: { ctx: Ctx }) {
  const loaded = useLoad(api.settings, []);
  return (
    <div class="page">
      <h1 class="page-title">Settings</h1>
      <Section loaded={loaded}>{(s) => <Form initial={s} />}</Section>
      {ctx.view && <AppSwitches ctx={ctx} />}
    </div>
  );
}

const PRICE_FIELDS: { key: keyof PriceOverride; title: string }[] = [
  { key: "input", title: "Input" },
  { key: "output", title: "Output" },
  { key: "cache_read", title: "Cache read" },
  { key: "cache_write_5m", title: "Cache write 5m" },
  { key: "cache_write_1h", title: "Cache write 1h" },
];

function Form({ initial }: { initial: Settings }) {
  const [s, setS] = useState<Settings>(initial);
  const [thresholds, setThresholds] = useState(initial.notifications.window_thresholds.join(", "));
  const [errors, setErrors] = useState<FieldError[]>([]);
  const saving = useAction();
  const opening = useAction();
  useEffect(() => setS(initial), [initial]);
  const err = (field: string) => errors.filter((e) => e.field === field).map((e) => <span key={e.message} class="field-error" role="alert">{e.message}</span>);
  const num = (e: Event) => {
    const v = (e.currentTarget as HTMLInputElement).value;
    return v === "" ? null : Number(v);
  };
  const save = async (event: Event) => {
    event.preventDefault();
    const { settings, errors: local } = validateSettings(s, thresholds);
    setErrors(local);
    if (local.length) return;
    await saving.run("Saving config.toml…", async () => {
      const remote = await api.saveSettings(settings);
      setErrors(remote);
      if (remote.length) throw new Error("Not saved: fix the fields marked above.");
    }, "Saved. The gateway reads config.toml again by itself.");
  };
  const setPrice = (i: number, patch: Partial<PriceOverride>) =>
    setS({ ...s, price_overrides: s.price_overrides.map((p, j) => (j === i ? { ...p, ...patch } : p)) });
  return (
    <form class="settings" onSubmit={save} noValidate>
      <section class="card">
        <h2>Gateway</h2>
        <div class="fields">
          <label>
            Port
            <input type="number" name="port" min={1} max={65535} value={s.port} onInput={(e) => setS({ ...s, port: num(e) ?? 0 })} />
            {err("port")}
          </label>
          <label>
            Fail-open timeout (seconds)
            <input type="number" name="fail_open_timeout_secs" min={1} value={s.fail_open_timeout_secs} onInput={(e) => setS({ ...s, fail_open_timeout_secs: num(e) ?? 0 })} />
            <span class="hint">How long the gateway may fail before Claude Code goes to Anthropic directly.</span>
            {err("fail_open_timeout_secs")}
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
            {err("window_thresholds")}
          </label>
          <label class="check">
            <input type="checkbox" checked={s.notifications.window_rejected} onChange={(e) => setS({ ...s, notifications: { ...s.notifications, window_rejected: (e.currentTarget as HTMLInputElement).checked } })} />
            When a window is full (requests refused), with its reset time
          </label>
          <label class="check">
            <input type="checkbox" checked={s.notifications.window_reset} onChange={(e) => setS({ ...s, notifications: { ...s.notifications, window_reset: (e.currentTarget as HTMLInputElement).checked } })} />
            When a window resets after crossing a threshold
          </label>
        </div>
      </section>
      <section class="card">
        <h2>Price overrides</h2>
        <p class="muted">USD per million tokens. Used for models without a list price, or to correct one.</p>
        {s.price_overrides.length > 0 && (
          <div class="table-wrap">
            <table class="prices">
              <thead><tr><th>Model</th>{PRICE_FIELDS.map((f) => <th key={f.key} class="num">{f.title}</th>)}<th /></tr></thead>
              <tbody>
                {s.price_overrides.map((p, i) => (
                  <tr key={i}>
                    <td>
                      <input aria-label="Model" value={p.model} onInput={(e) => setPrice(i, { model: (e.currentTarget as HTMLInputElement).value })} />
                      {err(`price_overrides.${i}.model`)}
                    </td>
                    {PRICE_FIELDS.map((f) => (
                      <td key={f.key}>
                        <input aria-label={`${f.title} price for ${p.model || "this model"}`} type="number" step="any" min={0} class="num" value={p[f.key] ?? ""} onInput={(e) => setPrice(i, { [f.key]: num(e) })} />
                        {err(`price_overrides.${i}.${f.key}`)}
                      </td>
                    ))}
                    <td><button type="button" class="link" onClick={() => setS({ ...s, price_overrides: s.price_overrides.filter((_, j) => j !== i) })}>Remove</button></td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        <button type="button" onClick={() => setS({ ...s, price_overrides: [...s.price_overrides, { model: "", input: null, output: null, cache_read: null, cache_write_5m: null, cache_write_1h: null }] })}>
          Add a price
        </button>
      </section>
      <section class="card">
        <h2>Data</h2>
        <p>Ledger, logs and state live in <span class="path">{s.data_dir}</span></p>
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
