// Requests: the latest requests, live (the "ledger" event's new rows go on
// top, without asking again; a truncated event reloads the list),
// and one request's details. Gateway keys appear by name only.

import { useEffect, useState } from "preact/hooks";
import { api } from "../api";
import type { Ctx } from "../app";
import { duration, modelName, moneyFine, points, stamp, tokens, when } from "../format";
import type { RequestRow } from "../types";
import { BILLED_HELP, mergeNewest } from "../logic";
import { Empty, Section, useLoad } from "../ui";
import { flagBadges } from "./windows";

export function Requests({ ctx }: { ctx: Ctx }) {
  const [reloads, setReloads] = useState(0);
  const list = useLoad(() => api.requests(LIMIT), [reloads]);
  const [rows, setRows] = useState<RequestRow[] | null>(null);
  const [open, setOpen] = useState<number | null>(null);
  useEffect(() => setRows(list.data), [list.data]);
  useEffect(() => {
    const change = ctx.landed;
    if (!change || !rows) return;
    if (change.truncated) return void setReloads((n) => n + 1);
    setRows(mergeNewest(change.rows, rows, LIMIT));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [ctx.landed]);
  return (
    <div class="page">
      <div class="page-head">
        <h1 class="page-title">Requests</h1>
        <span class="muted">the latest 200, live</span>
      </div>
      <Section loaded={{ ...list, data: rows }}>
        {(rows) =>
          rows.length === 0 ? (
            <Empty title="No requests yet: configure Claude Code.">
              Switch Claude Code onto the gateway on the <button type="button" class="link" onClick={() => ctx.go("claude-code")}>Claude Code</button> page;
              each request it sends then shows here as it happens.
            </Empty>
          ) : (
            <section class="card">
              <RequestTable rows={rows} open={open} setOpen={setOpen} />
              {open !== null && <Details id={open} close={() => setOpen(null)} />}
            </section>
          )
        }
      </Section>
    </div>
  );
}

const LIMIT = 200;

/** The 5-hour window's rise this response showed; "—" when it carried no reading. */
function fiveHour(r: RequestRow): string {
  const reading = r.windows.find((w) => w.window === "5h");
  return reading ? points(reading.delta) : "—";
}

function statusBadge(r: RequestRow) {
  if (r.status >= 400) return <span class="badge bad" title={r.error_type ?? undefined}>{r.status}</span>;
  if (!r.complete) return <span class="badge warn" title="The response ended before it was complete">cut short</span>;
  return <span class="badge ok">{r.status}</span>;
}

function RequestTable({ rows, open, setOpen }: { rows: RequestRow[]; open: number | null; setOpen: (id: number | null) => void }) {
  return (
    <div class="table-wrap">
      <table class="requests" data-testid="requests-table">
        <thead>
          <tr>
            <th>Time</th><th>Model</th><th>Status</th><th class="num opt">In</th><th class="num">Out</th><th class="num opt">Cache r/w</th>
            <th class="num">Cost</th><th class="num">5h</th><th class="num opt">TTFB</th><th class="num opt">Duration</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr
              key={r.id}
              tabIndex={0}
              class={`clickable${open === r.id ? " selected" : ""}${r.cost_usd === null ? " unpriced" : ""}`}
              aria-selected={open === r.id}
              data-request={r.id}
              onClick={() => setOpen(r.id)}
              onKeyDown={(e) => (e.key === "Enter" || e.key === " ") && (e.preventDefault(), setOpen(r.id))}
            >
              <td title={stamp(r.ts_ms)}>{when(r.ts_ms)}{r.source === "transcript" && <span class="badge" title="Imported from a Claude Code transcript: no window reading, no timings">transcript</span>}</td>
              <td>
                {modelName(r.model)}
                {r.request_class && r.request_class !== "main" && <span class="sub muted"> · {r.agent_type ?? r.request_class}</span>}
                {r.upstream && r.upstream !== "anthropic" && (
                  <span class={`via${r.flags.failover ? " failover" : ""}`} title={r.flags.failover ? `Served by ${r.upstream}, a later upstream of its route: ${r.flags.failover.replace(/^failed over: /, "")}` : `Served by ${r.upstream}`}>
                    {r.flags.failover ? "↪" : ""}<span class="via-name">{r.flags.failover ? " " : ""}{r.upstream}</span>
                  </span>
                )}
              </td>
              <td>{statusBadge(r)}</td>
              <td class="num opt">{tokens(r.input_tokens)}</td>
              <td class="num">{tokens(r.output_tokens)}</td>
              <td class="num opt">{tokens(r.cache_read_tokens)} / {tokens(r.cache_write_5m_tokens + r.cache_write_1h_tokens)}</td>
              <td class="num">
                {r.cost_usd === null ? (
                  // A billed request without a price says so in its badge's tooltip: a mark beside the badge would widen the column.
                  <span class="badge unknown" data-billed-unpriced={r.flags.billed || undefined} title={r.flags.billed ? "Billed (served with an API key), but no price is known for this model: add one in Settings" : undefined}>unknown price</span>
                ) : (
                  moneyFine(r.cost_usd)
                )}
                {r.flags.billed && r.cost_usd !== null && (
                  <span class="billed-mark" data-billed title={`Billed: served with an API key${r.upstream ? ` (${r.upstream})` : ""}, so this cost was paid. Unmarked costs are subscription-equivalent: what Claude Code's subscription login used, at API list prices.`}>
                    <span class="long">billed</span><span class="short">$</span>
                  </span>
                )}
              </td>
              <td class="num">{fiveHour(r)}</td>
              <td class="num opt">{duration(r.ttfb_ms)}</td>
              <td class="num opt">{duration(r.duration_ms)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Details({ id, close }: { id: number; close: () => void }) {
  const details = useLoad(() => api.request(id), [id]);
  useEffect(() => {
    const esc = (e: KeyboardEvent) => e.key === "Escape" && close();
    window.addEventListener("keydown", esc);
    return () => window.removeEventListener("keydown", esc);
  }, [close]);
  return (
    <aside class="card details drawer" aria-label="Request details">
      <div class="card-head">
        <h2>Request</h2>
        <button type="button" class="link push" onClick={close} autoFocus>Close</button>
      </div>
      <Section loaded={details}>
        {(d) => (
          <>
            <div class="badges">{flagBadges(d)}</div>
            <dl>
              <dt>Time</dt><dd>{stamp(d.ts_ms)}</dd>
              <dt>Model</dt><dd>{d.model}</dd>
              <dt>Cost</dt><dd>{d.cost_usd === null ? <span class="badge unknown">unknown price</span> : moneyFine(d.cost_usd)} <span class="muted">({d.price_version})</span></dd>
              <dt>Paid as</dt>
              <dd title={BILLED_HELP} class="help" data-testid="paid-as">
                {d.flags.billed ? "billed: served with an API key" : d.source === "transcript" ? "subscription-equivalent (imported: no key information)" : "subscription-equivalent: served by the subscription login"}
              </dd>
              <dt>Status</dt><dd>{d.status}{d.complete ? "" : ", cut short"}{d.streamed ? ", streamed" : ""}{d.error_type ? `, ${d.error_type}` : ""}</dd>
              <dt>Tokens</dt><dd>{tokens(d.input_tokens)} in, {tokens(d.output_tokens)} out, {tokens(d.cache_read_tokens)} cache read, {tokens(d.cache_write_5m_tokens)} + {tokens(d.cache_write_1h_tokens)} cache write (5 min + 1 h)</dd>
              <dt>Timing</dt><dd>first byte {duration(d.ttfb_ms)}, total {duration(d.duration_ms)}</dd>
              <dt>Source</dt><dd>{d.source === "gateway" ? "through the gateway" : "imported from a transcript"}</dd>
              <dt>Client</dt><dd>{d.client ?? "—"}</dd>
              <dt>Upstream</dt><dd>{d.upstream ?? "—"}</dd>
              <dt>Class</dt><dd>{d.request_class ?? "—"}{d.agent_type ? ` (${d.agent_type})` : ""}</dd>
              <dt>Project</dt><dd class="path">{d.project ?? "—"}</dd>
              <dt>Session</dt><dd class="mono">{d.session ?? "—"}</dd>
              <dt>Request id</dt><dd class="mono">{d.request_id ?? "—"}</dd>
            </dl>
            {d.readings.length > 0 && (
              <>
                <h3>Windows after this response</h3>
                <table>
                  <thead><tr><th>Window</th><th class="num">Reading</th><th class="num">Used</th><th>Status</th></tr></thead>
                  <tbody>
                    {d.readings.map((w) => (
                      <tr key={`${w.window}-${w.resets_at_ms}`} title={w.raw}>
                        <td>{w.window}</td>
                        <td class="num">{w.utilization === null ? "—" : `${(w.utilization * 100).toFixed(1)}%`}</td>
                        <td class="num">{points(w.delta)}</td>
                        <td>{w.status ?? ""}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </>
            )}
          </>
        )}
      </Section>
    </aside>
  );
}
