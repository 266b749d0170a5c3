// Spend: daily stacked bars by model over a date range (local days), the
// breakdown by project / session / client / model / class as a sortable,
// filterable table, and its export to CSV and JSON.

import { useEffect, useMemo, useState } from "preact/hooks";
import { api } from "../api";
import type { Ctx } from "../app";
import type { ChartDataset } from "chart.js";
import { ChartCanvas } from "../charts";
import { count, modelName, money, moneyFine, shortDate, stamp, tokens } from "../format";
import { BILLED_HELP, filterRows, lastDays, modelColor, sortRows, sumRows, validateRange, type SortDir } from "../logic";
import type { DayRange, ExportFormat, GroupBy, SpendReport, SpendRow } from "../types";
import { ActionStatus, Empty, Section, useAction, useLoad } from "../ui";

const GROUPS: { id: GroupBy; title: string }[] = [
  { id: "model", title: "Model" },
  { id: "project", title: "Project" },
  { id: "session", title: "Session" },
  { id: "client", title: "Client" },
  { id: "request_class", title: "Request class" },
  { id: "agent_type", title: "Agent type" },
];

const PRESETS = [
  { days: 1, title: "Today" },
  { days: 7, title: "7 days" },
  { days: 30, title: "30 days" },
  { days: 90, title: "90 days" },
];

export function Spend({ ctx }: { ctx: Ctx }) {
  const [range, setRange] = useState<DayRange>(() => lastDays(30));
  const [draft, setDraft] = useState<DayRange>(range);
  const [by, setBy] = useState<GroupBy>("model");
  const rangeError = validateRange(draft);
  const report = useLoad(() => api.spend(range, by), [range.first_day, range.last_day, by, ctx.ledger]);
  const apply = (next: DayRange) => (setDraft(next), validateRange(next) === null && setRange(next));
  return (
    <div class="page">
      <div class="page-head">
        <h1 class="page-title">Spend</h1>
        <span class="muted">at API list prices</span>
      </div>
      <div class="toolbar" role="group" aria-label="Date range">
        <div class="segmented">
          {PRESETS.map((p) => {
            const r = lastDays(p.days);
            const active = r.first_day === range.first_day && r.last_day === range.last_day;
            return (
              <button key={p.days} type="button" class={active ? "active" : ""} aria-pressed={active} onClick={() => apply(r)}>
                {p.title}
              </button>
            );
          })}
        </div>
        <label class="date">
          From <input type="date" name="from" value={draft.first_day} max={draft.last_day} onChange={(e) => apply({ ...draft, first_day: (e.currentTarget as HTMLInputElement).value })} />
        </label>
        <label class="date">
          To <input type="date" name="to" value={draft.last_day} min={draft.first_day} onChange={(e) => apply({ ...draft, last_day: (e.currentTarget as HTMLInputElement).value })} />
        </label>
        {report.loading && report.data && <span class="muted">Updating…</span>}
      </div>
      {rangeError && <p class="status error" role="alert">{rangeError}</p>}
      <Section loaded={report}>
        {(r) => <Report report={r} by={by} setBy={setBy} ctx={ctx} />}
      </Section>
    </div>
  );
}

function Report({ report, by, setBy, ctx }: { report: SpendReport; by: GroupBy; setBy: (b: GroupBy) => void; ctx: Ctx }) {
  const t = report.total;
  const range = report.range;
  if (t.requests === 0) {
    return (
      <Empty title={`No requests from ${shortDate(range.first_day)} to ${shortDate(range.last_day)}.`}>
        Point Claude Code at the gateway on the <button type="button" class="link" onClick={() => ctx.go("claude-code")}>Claude Code</button> page, or
        import its transcripts, and its requests show here.
      </Empty>
    );
  }
  return (
    <>
      <section class="hero" aria-label="Totals">
        <div class="figure big" data-testid="spend-total">
          <span class="figure-label">Total</span>
          <span class="figure-value">{money(t.cost_usd ?? 0)}</span>
          {t.unpriced_requests > 0 && <span class="figure-note unknown">+ {count(t.unpriced_requests)} requests with unknown price</span>}
          {t.cost_usd !== null && (
            <span class="figure-note billed" data-testid="spend-billed" title={BILLED_HELP}>
              billed {money(t.billed_usd)} · subscription {money(t.subscription_usd)}
            </span>
          )}
        </div>
        <div class="figure"><span class="figure-label">Requests</span><span class="figure-value">{count(t.requests)}</span>{t.billed_requests > 0 && <span class="figure-note">{count(t.billed_requests)} billed</span>}</div>
        <div class="figure"><span class="figure-label">Cache saved</span><span class="figure-value">{t.cache_savings_usd === null ? "—" : money(t.cache_savings_usd)}</span></div>
        <div class="figure"><span class="figure-label">Tokens</span><span class="figure-value">{tokens(t.input_tokens + t.cache_read_tokens + t.cache_write_tokens + t.output_tokens)}</span><span class="figure-note">{tokens(t.output_tokens)} output</span></div>
      </section>
      <section class="card" aria-labelledby="daily-title">
        <div class="card-head">
          <h2 id="daily-title">Daily spend by model</h2>
          {t.billed_requests > 0 && <span class="muted help push" title={BILLED_HELP}>line: the billed part</span>}
        </div>
        <DailyChart report={report} />
      </section>
      <SpendTable rows={report.rows} range={range} by={by} setBy={setBy} />
    </>
  );
}

function DailyChart({ report }: { report: SpendReport }) {
  const models = report.models;
  // The billed part of each day, as a line over the bars (its own stack, so not added to them).
  const billed = report.total.billed_requests > 0;
  // A model with no known price has no bar to draw: its legend entry says so.
  const unpriced = new Set(models.filter((m) => report.days.every((d) => d.models.every((x) => x.model !== m || x.cost_usd === null))));
  return (
    <ChartCanvas
      name="daily-spend"
      label={billed ? "Daily spend by model, stacked bars, with the billed part as a line" : "Daily spend by model, stacked bars"}
      deps={[report]}
      config={() => ({
        type: "bar",
        data: {
          labels: report.days.map((d) => shortDate(d.day)),
          datasets: [
            ...models.map((model) => ({
              label: unpriced.has(model) ? `${modelName(model)} (price unknown)` : modelName(model),
              // An unknown price is no bar (null), never a $0 one.
              data: report.days.map((d) => {
                const spend = d.models.find((m) => m.model === model);
                return spend ? spend.cost_usd : 0;
              }),
              backgroundColor: modelColor(model),
              borderRadius: 2,
              maxBarThickness: 28,
            })),
            ...(billed
              ? [
                  {
                    type: "line" as const,
                    label: "Billed",
                    stack: "billed",
                    data: report.days.map((d) => d.total.billed_usd),
                    // Read when the chart is drawn, so a theme change redraws it in the new colour.
                    borderColor: getComputedStyle(document.documentElement).getPropertyValue("--text").trim(),
                    backgroundColor: getComputedStyle(document.documentElement).getPropertyValue("--text").trim(),
                    borderWidth: 1.5,
                    borderDash: [4, 3],
                    pointRadius: 2,
                    pointHoverRadius: 4,
                    order: -1,
                  },
                ]
              : []),
          ] as ChartDataset[],
        },
        options: {
          maintainAspectRatio: false,
          animation: false,
          interaction: { mode: "index", intersect: false },
          scales: {
            x: { stacked: true, grid: { display: false }, ticks: { maxRotation: 0, autoSkipPadding: 12 } },
            y: { stacked: true, ticks: { callback: (v) => `$${v}` }, border: { display: false } },
          },
          plugins: {
            legend: { position: "bottom", labels: { boxWidth: 10, boxHeight: 10, useBorderRadius: true, borderRadius: 2 } },
            tooltip: {
              callbacks: {
                label: (c) => {
                  const day = report.days[c.dataIndex];
                  if (c.datasetIndex >= models.length) {
                    return `Billed: ${moneyFine(day.total.billed_usd)} · subscription-equivalent ${moneyFine(day.total.subscription_usd)}`;
                  }
                  const spend = day.models.find((m) => m.model === models[c.datasetIndex]);
                  if (!spend) return `${c.dataset.label}: no requests`;
                  const unpriced = spend.unpriced_requests > 0 ? ` + ${spend.unpriced_requests} with unknown price` : "";
                  return spend.cost_usd === null ? `${modelName(spend.model)}: ${spend.requests} requests, unknown price` : `${c.dataset.label}: ${moneyFine(spend.cost_usd)}${unpriced}`;
                },
              },
            },
          },
        },
      })}
    />
  );
}

// `opt` columns give way first in a small window, so the cost stays in view.
type Column = { key: keyof SpendRow; title: string; num?: boolean; opt?: boolean; help?: string; render: (r: SpendRow) => string };

const COLUMNS: Column[] = [
  { key: "label", title: "", render: (r) => r.label },
  { key: "requests", title: "Requests", num: true, render: (r) => count(r.requests) },
  { key: "input_tokens", title: "Input", num: true, opt: true, render: (r) => tokens(r.input_tokens) },
  { key: "output_tokens", title: "Output", num: true, render: (r) => tokens(r.output_tokens) },
  { key: "cache_read_tokens", title: "Cache read", num: true, opt: true, render: (r) => tokens(r.cache_read_tokens) },
  { key: "cache_write_tokens", title: "Cache write", num: true, opt: true, render: (r) => tokens(r.cache_write_tokens) },
  { key: "billed_usd", title: "Billed", num: true, help: BILLED_HELP, render: (r) => moneyFine(r.billed_usd) },
  { key: "subscription_usd", title: "Subscription", num: true, opt: true, help: BILLED_HELP, render: (r) => moneyFine(r.subscription_usd) },
  { key: "cost_usd", title: "Cost", num: true, render: (r) => moneyFine(r.cost_usd) },
];

/** How many rows of the breakdown are drawn at first, and added by "Show more". */
const TABLE_PAGE = 200;

function SpendTable({ rows, range, by, setBy }: { rows: SpendRow[]; range: DayRange; by: GroupBy; setBy: (b: GroupBy) => void }) {
  const [sort, setSort] = useState<{ key: keyof SpendRow; dir: SortDir }>({ key: "cost_usd", dir: "desc" });
  const [filter, setFilter] = useState("");
  const shown = useMemo(() => sortRows(filterRows(rows, filter), sort.key, sort.dir), [rows, filter, sort]);
  const sum = sumRows(shown);
  // Long tables (a month by session has thousands of rows) are drawn a page
  // at a time: every row drawn costs the window memory. Sorting, filtering,
  // the totals and the export still cover every row.
  const [limit, setLimit] = useState(TABLE_PAGE);
  useEffect(() => setLimit(TABLE_PAGE), [rows, filter]);
  const drawn = shown.length > limit ? shown.slice(0, limit) : shown;
  const exporting = useAction();
  const groupTitle = GROUPS.find((g) => g.id === by)!.title;
  // The file is built by the core from the same query as the table, so it holds the same numbers (all rows, unfiltered).
  const save = (format: ExportFormat) =>
    exporting.run(`Exporting ${format.toUpperCase()}…`, () => api.exportSpend(range, by, format), (out) =>
      out.path ? `Saved ${rows.length} rows to ${out.path}` : `Exported ${out.file_name}`,
    );
  const header = (c: Column) => {
    const active = sort.key === c.key;
    const dir = active ? sort.dir : undefined;
    return (
      <th key={c.key} class={`${c.num ? "num" : ""}${c.opt ? " opt" : ""}${c.help ? " help" : ""}`} title={c.help} aria-sort={dir === "asc" ? "ascending" : dir === "desc" ? "descending" : "none"}>
        <button type="button" class="sort" onClick={() => setSort({ key: c.key, dir: active && sort.dir === "desc" ? "asc" : "desc" })}>
          {c.title || groupTitle}
          <span class="sort-mark" aria-hidden="true">{active ? (sort.dir === "desc" ? "↓" : "↑") : ""}</span>
        </button>
      </th>
    );
  };
  return (
    <section class="card" aria-labelledby="breakdown-title">
      <div class="card-head">
        <h2 id="breakdown-title">Breakdown</h2>
        <div class="segmented" role="group" aria-label="Group by">
          {GROUPS.map((g) => (
            <button key={g.id} type="button" class={by === g.id ? "active" : ""} aria-pressed={by === g.id} data-group={g.id} onClick={() => setBy(g.id)}>
              {g.title}
            </button>
          ))}
        </div>
      </div>
      <div class="toolbar">
        <input type="search" placeholder={`Filter by ${groupTitle.toLowerCase()}…`} aria-label="Filter rows" value={filter} onInput={(e) => setFilter((e.currentTarget as HTMLInputElement).value)} />
        <span class="push" />
        <button type="button" data-export="csv" onClick={() => save("csv")} disabled={exporting.busy !== null}>Export CSV</button>
        <button type="button" data-export="json" onClick={() => save("json")} disabled={exporting.busy !== null}>Export JSON</button>
      </div>
      <ActionStatus state={exporting} />
      <div class="table-wrap">
        <table data-testid="spend-table">
          <thead><tr>{COLUMNS.map(header)}</tr></thead>
          <tbody>
            {drawn.map((r) => (
              <tr key={r.key ?? "(none)"} class={r.cost_usd === null ? "unpriced" : ""}>
                {COLUMNS.map((c) => (
                  <td key={c.key} class={`${c.num ? "num" : "label"}${c.opt ? " opt" : ""}`} title={c.key === "label" ? `${r.key ?? "(none)"}\n${stamp(r.first_ms)} – ${stamp(r.last_ms)}` : undefined}>
                    {(c.key === "billed_usd" || c.key === "subscription_usd") && r.cost_usd === null ? (
                      <span class="muted">—</span>
                    ) : c.key === "cost_usd" && r.cost_usd === null ? (
                      <span class="badge unknown" title="No price is known for this model: add one in Settings">unknown price</span>
                    ) : (
                      <>
                        {c.render(r)}
                        {c.key === "cost_usd" && r.unpriced_requests > 0 && <span class="badge unknown" title="Requests without a known price are not in this sum">+{r.unpriced_requests} unpriced</span>}
                      </>
                    )}
                  </td>
                ))}
              </tr>
            ))}
            {shown.length === 0 && (
              <tr><td colSpan={COLUMNS.length} class="muted">No {groupTitle.toLowerCase()} matches “{filter}”.</td></tr>
            )}
            {drawn.length < shown.length && (
              <tr class="more">
                <td colSpan={COLUMNS.length}>
                  <span class="muted">Showing the first {count(drawn.length)} of {count(shown.length)} rows, as sorted.</span>{" "}
                  <button type="button" data-more onClick={() => setLimit((n) => n + TABLE_PAGE)}>Show {count(Math.min(TABLE_PAGE, shown.length - drawn.length))} more</button>{" "}
                  <button type="button" data-all onClick={() => setLimit(shown.length)}>Show all</button>
                </td>
              </tr>
            )}
          </tbody>
          <tfoot>
            <tr>
              <td>Total of {count(shown.length)} rows</td>
              <td class="num">{count(sum.requests)}</td>
              <td class="opt" />
              <td />
              <td class="opt" colSpan={2} />
              <td class="num" data-testid="table-billed">{money(sum.billed_usd)}</td>
              <td class="num opt" data-testid="table-subscription">{money(sum.subscription_usd)}</td>
              <td class="num" data-testid="table-total">{money(sum.cost_usd)}{sum.unpriced_requests > 0 && <span class="badge unknown">+{sum.unpriced_requests} unpriced</span>}</td>
            </tr>
          </tfoot>
        </table>
      </div>
    </section>
  );
}
