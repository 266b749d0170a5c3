// Overview: the figures people came for (spend, the windows) first and
// biggest; the gateway's and Claude Code's state below, smaller.

import { useEffect, useLayoutEffect, useState } from "preact/hooks";
import { api, events, reportPaint } from "../api";
import type { Ctx } from "../app";
import type { ComponentChildren } from "preact";
import { count, money, moneyFine, percent, plural, stamp, when } from "../format";
import { billedNote, classShares, level, spendFigure, windowCaption, windowColor } from "../logic";
import type { BudgetStatus, Entry, FirstRun, ImportProgress, ImportSummary, Snapshot, SpendTotals, View, WindowNow } from "../types";
import { ActionStatus, Figure, Section, Switch, useAction, useLoad, Words, type ActionState } from "../ui";

export function Overview({ ctx }: { ctx: Ctx }) {
  const overview = useLoad(api.overview, [ctx.ledger], "overview");
  useLayoutEffect(() => {
    if (overview.data) reportPaint("the Overview's figures");
  }, [overview.data]);
  const view = ctx.view;
  return (
    <div class="page">
      <h1 class="page-title">Overview</h1>
      <FirstRunGuide ctx={ctx} />
      {view && <Alerts snapshot={view.snapshot} />}

      <section class="hero" aria-label="Spend at API prices">
        <TodayFigure view={view} />
        <Section loaded={overview}>
          {(o) => (
            <>
              <PeriodFigure label="Last 7 days" totals={o.last_7_days} />
              <PeriodFigure label="Last 30 days" totals={o.last_30_days} />
              <Figure
                label="Cache saved, 30 days"
                value={o.last_30_days.cache_savings_usd === null ? "—" : money(o.last_30_days.cache_savings_usd)}
                note={o.last_30_days.cache_savings_usd === null ? "no priced cache reads" : "cache reads against the full input price"}
              />
            </>
          )}
        </Section>
      </section>

      <section class="card" aria-labelledby="windows-title">
        <div class="card-head">
          <h2 id="windows-title">Subscription windows</h2>
          {view?.snapshot.windows_as_of && <span class="muted">{view.snapshot.windows_as_of}</span>}
          <button type="button" class="link push" onClick={() => ctx.go("windows")}>What used them →</button>
        </div>
        <Section loaded={overview}>{(o) => <Gauges windows={o.windows} />}</Section>
      </section>

      <Section loaded={overview}>
        {(o) => {
          const shares = classShares(o.by_class_today);
          const cov = o.coverage_7d;
          const total = cov.gateway_requests + cov.imported_requests;
          const unclassified = o.by_class_today.length > 0 && o.by_class_today.every((s) => s.request_class === null);
          return (
            <section class="card" aria-labelledby="where-title">
              <div class="card-head">
                <h2 id="where-title">Where today's spend went</h2>
                <button type="button" class="link push" onClick={() => ctx.go("spend")}>Spend by project and model →</button>
              </div>
              {shares.length === 0 ? (
                <p class="muted">No requests today yet.</p>
              ) : (
                <ul class="shares" data-testid="class-shares">
                  {shares.map((s) => (
                    <li key={s.label}>
                      <span class="share-label">{s.label}</span>
                      <span class="share-bar"><span style={{ width: percent(s.share, 1) }} /></span>
                      <span class="share-value num">{percent(s.share)}</span>
                      <span class="share-cost num muted">{money(s.cost_usd ?? 0)}</span>
                    </li>
                  ))}
                </ul>
              )}
              {unclassified && (
                <p class="muted">Claude Code did not say which requests were subagents: configure it again from the Claude Code page so it sends the request class.</p>
              )}
              <p class="muted coverage" data-testid="coverage">
                {total === 0
                  ? "No requests this week."
                  : cov.imported_requests === 0
                    ? total === 1 ? "This week's one request went through Gatehouse." : `All of this week's ${count(total)} requests went through Gatehouse.`
                    : `${percent(cov.gateway_share)} of this week's ${count(total)} requests went through Gatehouse; ${count(cov.imported_requests)} were imported from Claude Code's transcripts.`}
              </p>
            </section>
          );
        }}
      </Section>

      {view && (
        <div class="row">
          <GatewayCard view={view} />
          <ClaudeCodeCard ctx={ctx} view={view} />
        </div>
      )}
    </div>
  );
}

/** Today's spend, from the same snapshot as the tray's "Today" line (shown beneath it, word for word). */
function TodayFigure({ view }: { view: View | null }) {
  const today = view?.snapshot.today;
  // The tray's "Today" row is clickable (it opens Spend), so any row with a label.
  const labelled = (view?.tray.entries ?? []).filter((e): e is Exclude<Entry, { kind: "separator" }> => e.kind !== "separator");
  const todayLine = labelled.find((e) => e.label.startsWith("Today"))?.label ?? "";
  let value = "…";
  let note: string | null = null;
  if (today && "Ok" in today) {
    ({ value, note } = spendFigure(today.Ok.cost_usd, today.Ok.unpriced_requests));
  } else if (today && "Err" in today) {
    value = "—";
    note = today.Err;
  }
  return (
    <Figure label="Today" value={value} big note={note} id="today">
      {today && "Ok" in today && <BilledNote totals={today.Ok} />}
      <div id="facts">
        <p class="figure-note">{todayLine}</p>
      </div>
    </Figure>
  );
}

function Alerts({ snapshot }: { snapshot: Snapshot }) {
  const failed = snapshot.gateway.state === "failed" && snapshot.config_error === null ? snapshot.gateway : null;
  return (
    <>
      {snapshot.config_error !== null && (
        <section id="config-error" class="alert" role="alert">
          <strong>config.toml has an error.</strong> Gatehouse keeps running; fix the file and it is read again.
          <pre>{snapshot.config_error}</pre>
        </section>
      )}
      {snapshot.recording_problem !== null && (
        <section id="recording-problem" class="alert" role="alert">
          <strong>Requests are not all being recorded.</strong> The gateway keeps serving them.
          <p>{snapshot.recording_problem}</p>
        </section>
      )}
      {failed && (
        <section id="failed" class="alert" role="alert">
          <strong>The gateway stopped.</strong>
          <pre>{[failed.reason, "", ...failed.last_lines.slice(-8)].join("\n")}</pre>
        </section>
      )}
    </>
  );
}

export function Gauges({ windows }: { windows: WindowNow[] }) {
  if (windows.length === 0) {
    return (
      <p class="muted">
        No window reading yet. The windows appear after Claude Code's first request through the gateway with a
        Claude subscription.
      </p>
    );
  }
  const now = Date.now();
  return (
    <ul class="gauges">
      {windows.map((w) => <Gauge key={w.name} w={w} now={now} />)}
    </ul>
  );
}

/** One window: its percentage, a meter, and its reset in local time; rejected and passed said as such. */
export function Gauge({ w, now, children }: { w: WindowNow; now: number; children?: ComponentChildren }) {
  const passed = w.passed || (w.resets_at_ms !== null && w.resets_at_ms <= now);
  const rejected = w.rejected && !passed;
  const u = passed ? null : w.utilization;
  return (
    <li class={`gauge ${level(u, rejected)}`} data-window={w.name} title={`${w.title}: as of ${when(w.as_of_ms, now)}`} style={{ "--window": windowColor(w.name) }}>
      <span class="gauge-title"><span class="swatch" style={{ background: windowColor(w.name) }} />{w.title}</span>
      <span class="gauge-value num">{passed ? "Reset" : rejected ? "Rejected" : percent(u)}</span>
      <span class="meter" role="meter" aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round((rejected ? 1 : (u ?? 0)) * 100)} aria-label={w.title}>
        <span style={{ width: percent(rejected ? 1 : Math.min(1, u ?? 0), 1) }} />
      </span>
      <span class="gauge-caption">{windowCaption({ rejected, passed, resets_at_ms: w.resets_at_ms }, now)}</span>
      {children}
    </li>
  );
}

function PeriodFigure({ label, totals }: { label: string; totals: SpendTotals }) {
  const { value, note } = spendFigure(totals.cost_usd, totals.unpriced_requests);
  return (
    <Figure label={label} value={value} note={note ?? plural(totals.requests, "request")}>
      <BilledNote totals={totals} />
    </Figure>
  );
}

/** The billed part of a total, with what billed and subscription-equivalent mean; nothing when nothing was billed. */
function BilledNote({ totals }: { totals: { billed_usd: number | null; subscription_usd: number | null; billed_requests: number } }) {
  const note = billedNote(totals);
  return note && <span class="figure-note billed" data-testid="billed-note" title={note.title}>{note.text}</span>;
}

function GatewayCard({ view }: { view: View }) {
  const action = useAction();
  const { snapshot } = view;
  const header = view.tray.entries.find((e) => e.kind === "info");
  const state = snapshot.gateway.state;
  const running = state === "running";
  const toggle = (on: boolean) =>
    action.run(on ? "Starting the gateway…" : "Stopping the gateway…", () => api.setProxy(on));
  return (
    <section class="card small" aria-labelledby="gateway">
      <h2 id="gateway" class="state-line">{header && "label" in header ? header.label : "Gateway: …"}</h2>
      <Switch
        state={snapshot.proxy_enabled ? "on" : "off"}
        label="Gateway"
        detail={snapshot.proxy_enabled ? (running ? "Running" : stateWord(state)) : "Off: Claude Code talks to Anthropic directly"}
        action="proxy"
        busy={action.busy !== null}
        onChange={toggle}
      />
      {snapshot.failover && (
        <p class="status warn" data-testid="failover" title={`Since ${stamp(Date.parse(snapshot.failover.since))}`}>
          Failing over to <strong>{snapshot.failover.served_by}</strong>: {snapshot.failover.reason}. It goes back by itself once the upstream it passed over serves again.
        </p>
      )}
      <Budgets budgets={snapshot.budgets} />
      <div class="buttons">
        <button
          type="button"
          data-action="restart_gateway"
          disabled={!snapshot.proxy_enabled || action.busy !== null}
          onClick={() => action.run("Restarting the gateway…", api.restartGateway, "The gateway restarted.")}
        >
          Restart
        </button>
      </div>
      <ActionStatus state={action} />
    </section>
  );
}

/** The `[[budgets]]` of the config: billed dollars spent this period, against each cap. */
function Budgets({ budgets }: { budgets: BudgetStatus[] }) {
  if (budgets.length === 0) return null;
  return (
    <ul class="budgets" data-testid="budgets">
      {budgets.map((b) => {
        const share = b.limit_usd > 0 ? b.spent_usd / b.limit_usd : 1;
        const who = b.scope === "upstream" ? b.name : `key ${b.name}`;
        const period = b.period === "day" ? "today" : "this month";
        const resets = new Date(b.resets_at);
        return (
          <li key={`${b.scope}:${b.name}:${b.period}`} class={`budget gauge ${level(share, share >= 1)}`} title={`Billed dollars ${period}: requests served with an API key. At the cap, requests pass over ${who} until ${resets.toLocaleString()}.`}>
            <span class="gauge-title">{who} · {b.period === "day" ? "daily" : "monthly"} budget</span>
            <span class="gauge-value num">{b.limit_usd < 1 ? moneyFine(b.spent_usd) : money(b.spent_usd)} <span class="muted">of {b.limit_usd < 1 ? moneyFine(b.limit_usd) : money(b.limit_usd)}</span></span>
            <span class="meter" role="meter" aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(Math.min(1, share) * 100)} aria-label={`${who} ${b.period === "day" ? "daily" : "monthly"} budget`}>
              <span style={{ width: percent(Math.min(1, share), 1) }} />
            </span>
          </li>
        );
      })}
    </ul>
  );
}

function stateWord(state: string): string {
  return { starting: "Starting…", unhealthy: "Not answering", restarting: "Restarting…", failed: "Failed", stopped: "Stopped" }[state] ?? state;
}

export function claudeCodeState(snapshot: Snapshot): { state: "on" | "off" | "paused"; detail: string } {
  if (snapshot.claude_code_paused) {
    const why = { unhealthy: "the gateway is not answering", proxy_stopped: "the gateway is off", quit: "the app quit" }[snapshot.claude_code_paused];
    return { state: "paused", detail: `Paused: ${why}; back on when the gateway is` };
  }
  if (snapshot.claude_code.configured) return { state: "on", detail: "Through the gateway" };
  if (snapshot.claude_code.team_proxy) return { state: "off", detail: `Through a team proxy (${snapshot.claude_code.base_url})` };
  return { state: "off", detail: "Talks to Anthropic directly" };
}

function ClaudeCodeCard({ ctx, view }: { ctx: Ctx; view: View }) {
  const action = useAction();
  const { snapshot } = view;
  const cc = claudeCodeState(snapshot);
  const running = snapshot.gateway.state === "running";
  const status = snapshot.claude_code.configured
    ? `Claude Code goes through the gateway at ${snapshot.claude_code.base_url}.`
    : snapshot.claude_code.team_proxy
      ? `Claude Code goes straight to your team's proxy at ${snapshot.claude_code.base_url}.`
      : cc.state === "paused"
      ? "Claude Code talks to Anthropic directly for now."
      : "Claude Code talks to Anthropic directly.";
  return (
    <section class="card small" aria-labelledby="claude-code-title">
      <h2 id="claude-code-title" class="state-line">Claude Code</h2>
      <Switch
        state={cc.state}
        label="Use the gateway"
        detail={cc.state === "paused" ? cc.detail : undefined}
        action="claude_code"
        disabled={!running && cc.state === "off"}
        busy={action.busy !== null}
        onChange={(on) => action.run(on ? "Pointing Claude Code at the gateway…" : "Restoring Claude Code's settings…", () => api.setClaudeCode(on))}
      />
      <p id="claude-code-status" class="muted">{status}</p>
      {(snapshot.claude_code.warnings.length > 0 || snapshot.claude_code.error) && (
        <ul id="claude-code-warnings" class="warnings">
          {snapshot.claude_code.error && <li data-kind="unreadable">Cannot read Claude Code's settings: {snapshot.claude_code.error}</li>}
          {snapshot.claude_code.warnings.map((w, i) => (
            <li key={`${w.kind}:${w.path ?? ""}:${i}`} data-kind={w.kind}>
              <strong><Words text={w.message} />.</strong> <span class="muted">Fix: <Words text={w.fix.text} />.</span>
            </li>
          ))}
        </ul>
      )}
      <ActionStatus state={action} />
      <button type="button" class="link" onClick={() => ctx.go("claude-code")}>Settings files and preview →</button>
      <Login ctx={ctx} view={view} />
    </section>
  );
}

function loginLabel(view: View): string {
  const entry = view.tray.entries.find((e) => e.kind === "button" && e.action === "login");
  return entry && "label" in entry ? entry.label : "Claude login";
}

let handledLoginRequest = 0;

/** The Claude login: the plan when signed in, else "Log in to Claude…" and its sign-in flow. */
function Login({ ctx, view }: { ctx: Ctx; view: View }) {
  const action = useAction();
  const [url, setUrl] = useState<string | null>(null);
  const [code, setCode] = useState("");
  const [reply, setReply] = useState<string | null>(null);
  const [lastSignIn, setLastSignIn] = useState(view.snapshot.sign_in.state);
  const signIn = view.snapshot.sign_in;

  // Claude Code usually finishes signing in by itself, or gives up: only
  // the end of a sign-in hides the form.
  useEffect(() => {
    if (lastSignIn === "waiting" && signIn.state !== "waiting") setUrl(null);
    if (signIn.state === "failed") setReply(signIn.message);
    setLastSignIn(signIn.state);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [signIn.state]);

  const start = async () => {
    if (view.snapshot.login.state !== "logged_out") {
      await action.run("Asking Claude Code…", api.refreshLogin);
      return;
    }
    setReply(null);
    await action.run("Starting Claude's sign-in…", async () => {
      setUrl(await api.startLogin());
      setTimeout(() => document.getElementById("login-code")?.focus());
    });
  };
  useEffect(() => {
    // Each request from the tray starts one sign-in, not one per visit to this page.
    if (ctx.loginRequest > handledLoginRequest) {
      handledLoginRequest = ctx.loginRequest;
      void start();
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [ctx.loginRequest]);

  const submitting = useAction();
  const submit = async (event: Event) => {
    event.preventDefault();
    submitting.clear();
    setReply(null);
    await submitting.run("Finishing the sign-in…", async () => {
      try {
        const answer = await api.submitLoginCode(code);
        setCode("");
        setReply(answer.message);
        if (answer.done) setUrl(null);
      } catch (why) {
        // Claude Code ended the sign-in; a new one starts from the button.
        setReply(String(why));
        setUrl(null);
      }
    });
  };
  return (
    <div class="login">
      <span class="login-caption">Claude login</span>
      <button type="button" data-action="login" class="secondary" onClick={start} disabled={action.busy !== null}>
        {loginLabel(view)}
      </button>
      <ActionStatus state={action} />
      <div id="login-flow" hidden={url === null}>
        <p>Claude Code asked your browser to open Claude's sign-in page. Approve there, and this finishes by itself.</p>
        <p>
          No page opened? <button id="open-sign-in" type="button" class="link" onClick={() => api.openSignInPage()}>Open it</button> or visit{" "}
          <span id="sign-in-url" class="url">{url}</span>, then paste the code it shows here.
        </p>
        <form id="login-form" onSubmit={submit}>
          <label for="login-code">Code from the sign-in page</label>
          <input id="login-code" name="code" autocomplete="off" spellcheck={false} value={code} onInput={(e) => setCode((e.currentTarget as HTMLInputElement).value)} />
          <button type="submit" disabled={submitting.busy !== null}>Finish signing in</button>
          <button id="login-cancel" type="button" onClick={() => submitting.run("Cancelling…", async () => (await api.cancelLogin(), setUrl(null)))}>Cancel</button>
        </form>
        <ActionStatus state={submitting} />
      </div>
      <p id="login-message" class="message" hidden={reply === null}>{reply}</p>
    </div>
  );
}

/**
 * The first-run guide: the gateway runs, Claude Code switched on (with the preview), history imported.
 * The core says whether it shows (a step is left and it was never hidden; see desktop/first_run.rs).
 * Once shown it stays until "Done, hide this", which the core remembers; its steps follow the live
 * state: the gateway and Claude Code from the snapshot, the history from the ledger (read again
 * when requests land, and after "Import now").
 */
function FirstRunGuide({ ctx }: { ctx: Ctx }) {
  const first = useLoad<FirstRun>(api.firstRun, [ctx.ledger]);
  const [shown, setShown] = useState<boolean | null>(null);
  const importing = useAction();
  const hiding = useAction();
  const [progress, setProgress] = useState<ImportProgress | null>(null);
  useEffect(() => {
    const off = events.importProgress(setProgress);
    return () => void off.then((f) => f());
  }, []);
  useEffect(() => {
    if (first.data && shown === null) setShown(first.data.show);
  }, [first.data, shown]);
  if (!shown || !ctx.view) return null;
  const snapshot = ctx.view.snapshot;
  const gatewayOk = snapshot.gateway.state === "running";
  const claudeOk = snapshot.claude_code.configured;
  const imported = first.data?.imported ?? null;
  // Claude Code has no transcript at all (the core looks): nothing to import, which is done too.
  const nothingToImport = first.data?.nothing_to_import ?? false;
  const importOk = imported !== null || nothingToImport;
  const importedText = imported
    ? `${plural(imported.requests, "request")} from before Gatehouse, read from ${plural(imported.transcript_files, "transcript file")}.`
    : nothingToImport
      ? "Claude Code has no transcripts yet: there is nothing to import."
      : "Requests from before Gatehouse, from Claude Code's transcripts.";
  const onImported = () => first.reload();
  const dismiss = () => hiding.run("Hiding the guide…", async () => (await api.firstRunDone(), setShown(false)));
  return (
    <section class="card guide" aria-labelledby="guide-title">
      <div class="card-head">
        <h2 id="guide-title">Get started</h2>
        <button type="button" class="link push" disabled={hiding.busy !== null} onClick={dismiss}>Done, hide this</button>
      </div>
      <ActionStatus state={hiding} />
      <ol class="steps">
        <Step done={gatewayOk} title="The gateway is running" text={gatewayOk ? "It listens on your machine only." : "Turn on the Gateway switch below."} />
        <Step done={claudeOk} title="Switch Claude Code onto it" text="See exactly what changes in its settings.json, then apply.">
          {!claudeOk && <button type="button" onClick={() => ctx.go("claude-code")}>Preview the change…</button>}
        </Step>
        <Step done={importOk} title="Import your history" text={importedText}>
          {!importOk && <ImportButton action={importing} progress={progress} onDone={onImported} />}
        </Step>
      </ol>
    </section>
  );
}


function ImportButton(props: { action: ActionState; progress: ImportProgress | null; onDone: (s: ImportSummary) => void }) {
  const { action, progress } = props;
  return (
    <div>
      <button type="button" disabled={action.busy !== null} onClick={() => action.run("Importing transcripts…", async () => props.onDone(await api.importTranscripts()))}>
        Import now
      </button>
      {action.busy && progress && progress.bytes_total > 0 && (
        <progress max={progress.bytes_total} value={progress.bytes_done} aria-label="Import progress" />
      )}
      <ActionStatus state={action} />
    </div>
  );
}

function Step(props: { done: boolean; title: string; text: string; children?: ComponentChildren }) {
  return (
    <li class={props.done ? "step done" : "step"}>
      <span class="step-mark" aria-label={props.done ? "done" : "to do"}>{props.done ? "✓" : ""}</span>
      <div>
        <strong>{props.title}</strong>
        <p class="muted">{props.text}</p>
        {props.children}
      </div>
    </li>
  );
}

