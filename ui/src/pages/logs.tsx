// Logs: the gateway log tail, newest first, in one format, with a search
// and a level filter. Reloaded when the app's state changes (a new line is
// usually a state change), and on request.

import { useMemo, useState } from "preact/hooks";
import { api } from "../api";
import type { Ctx } from "../app";
import { filterLogs, logTime, tidy, type Level } from "../logic";
import { ActionStatus, Section, useAction, useLoad } from "../ui";

const LEVELS: (Level | "ALL")[] = ["ALL", "ERROR", "WARN", "INFO", "DEBUG"];

export function Logs({ ctx }: { ctx: Ctx }) {
  const tail = useLoad(api.logLines, [ctx.view]);
  const [level, setLevel] = useState<Level | "ALL">("ALL");
  const [search, setSearch] = useState("");
  const opening = useAction();
  const lines = useMemo(() => filterLogs(tail.data ?? [], level, search), [tail.data, level, search]);
  return (
    <div class="page">
      <div class="page-head">
        <h1 class="page-title">Logs</h1>
        <span class="muted">the gateway's log, newest first</span>
      </div>
      <div class="toolbar">
        <input type="search" placeholder="Search the log…" aria-label="Search the log" value={search} onInput={(e) => setSearch((e.currentTarget as HTMLInputElement).value)} />
        <label>
          Level{" "}
          <select value={level} onChange={(e) => setLevel((e.currentTarget as HTMLSelectElement).value as Level | "ALL")}>
            {LEVELS.map((l) => <option key={l} value={l}>{l === "ALL" ? "All levels" : `${l[0]}${l.slice(1).toLowerCase()} and worse`}</option>)}
          </select>
        </label>
        <span class="push" />
        <button type="button" onClick={tail.reload}>Refresh</button>
        <button type="button" id="open-log-file" data-autofocus onClick={() => opening.run("Opening the log file…", api.openLogFile)}>Open the file</button>
      </div>
      <ActionStatus state={opening} />
      <Section loaded={tail}>
        {(raw) =>
          raw.length === 0 ? (
            <p class="muted">Nothing logged yet. The gateway writes here when it starts.</p>
          ) : lines.length === 0 ? (
            <p class="muted">No line matches.</p>
          ) : (
            <ol class="log" data-testid="log-lines">
              {lines.map((l, i) => (
                <li key={i} class={`log-line ${l.level.toLowerCase()}`}>
                  <span class="log-time num">{logTime(l.ts_ms)}</span>
                  <span class={`log-level ${l.level.toLowerCase()}`}>{l.level}</span>
                  <span class="log-text"><span class="log-source">{l.source}</span> {tidy(l.message)}</span>
                </li>
              ))}
            </ol>
          )
        }
      </Section>
    </div>
  );
}
