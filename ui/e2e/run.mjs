// Browser tests of the dashboard: Debian's Chromium, driven by
// playwright-core, against the built UI (dist-mock: the app with its IPC
// mocked through @tauri-apps/api/mocks over a month of generated data).
// Visits every page in light and dark, checks charts, the date range, the
// export, the diff preview and apply, logs, settings errors, the first-run
// guide, empty states, keyboard focus and the 800x600 layout; saves a
// screenshot of every page and prints its path.
//
// Run by scripts/test-ui after `vite build --mode mock`:
//   node e2e/run.mjs [screenshot dir]

process.env.TZ = "Europe/Berlin"; // the browser runs in this zone too: days are local days
import { createServer } from "node:http";
import { mkdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { extname, join, resolve } from "node:path";
import { chromium } from "playwright-core";

const ROOT = resolve(import.meta.dirname, "..");
const DIST = join(ROOT, "dist-mock");
const SHOTS = resolve(process.argv[2] ?? join(ROOT, "..", "target", "ui-screenshots"));
const BROWSER = process.env.CHROMIUM ?? "/usr/bin/chromium";
const NOW_ISO = "2026-11-30T15:00:00";
const ZONE = "Europe/Berlin";

mkdirSync(join(SHOTS, "exports"), { recursive: true });

// ---- a static server for dist-mock on loopback ----
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".png": "image/png", ".svg": "image/svg+xml" };
const server = createServer((req, res) => {
  const path = new URL(req.url, "http://x").pathname;
  const file = join(DIST, path === "/" ? "e2e/mock.html" : path);
  if (path === "/favicon.ico") return res.writeHead(204).end(); // the app has none; Tauri asks for none
  if (!file.startsWith(DIST) || !existsSync(file)) return res.writeHead(404).end();
  res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" }).end(readFileSync(file));
});
await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
const BASE = `http://127.0.0.1:${server.address().port}/e2e/mock.html`;

// ---- a tiny test runner ----
let passed = 0;
let failed = 0;
const shots = [];
async function test(name, f) {
  try {
    await f();
    passed++;
    console.log(`ok   ${name}`);
  } catch (error) {
    failed++;
    console.log(`FAIL ${name}\n     ${String(error?.stack ?? error).split("\n").slice(0, 6).join("\n     ")}`);
  }
}
function assert(cond, message) {
  if (!cond) throw new Error(message);
}
function eq(actual, expected, message) {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) throw new Error(`${message}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}
const near = (a, b, message) => assert(Math.abs(a - b) < 0.005, `${message}: ${a} != ${b}`);

const browser = await chromium.launch({ executablePath: BROWSER, args: ["--disable-gpu", "--font-render-hinting=none"] });

async function open({ scheme = "light", query = "", width = 1280, height = 860 } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, timezoneId: ZONE, locale: "en-GB", colorScheme: scheme, acceptDownloads: false });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  await page.clock.setFixedTime(new Date(NOW_ISO));
  await page.goto(`${BASE}${query}`);
  await page.waitForSelector("#page .page-title");
  page.errors = errors;
  return page;
}
const go = async (page, id) => {
  await page.click(`nav [data-page="${id}"]`);
  await page.waitForSelector(`main[data-page="${id}"]`);
};
const mock = (page, f, arg) => page.evaluate(f, arg);
const calls = (page, cmd) => mock(page, `window.__gatehouseMock.calls.filter(c => c.cmd === ${JSON.stringify(cmd)}).map(c => c.args ?? null)`);
const chartData = (page, name) =>
  page.$eval(`canvas[data-chart="${name}"]`, (c) => ({ series: JSON.parse(c.dataset.series), sums: JSON.parse(c.dataset.sums), points: Number(c.dataset.points) }));
async function shot(page, name, fullPage = true) {
  await page.evaluate(() => document.fonts.ready);
  const file = join(SHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage });
  shots.push(file);
}

const PAGES = ["overview", "spend", "windows", "requests", "claude-code", "logs", "settings"];

// ---------- every page, light and dark ----------
for (const scheme of ["light", "dark"]) {
  await test(`every page renders without errors and is screenshotted (${scheme})`, async () => {
    const page = await open({ scheme });
    for (const id of PAGES) {
      await go(page, id);
      await page.waitForFunction(() => !document.querySelector("#page .status.busy"), null, { timeout: 5000 });
      if (id === "spend") await page.waitForSelector('canvas[data-chart="daily-spend"]');
      if (id === "windows") await page.waitForSelector('canvas[data-chart="windows"]');
      const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      assert(scheme === "dark" ? bg === "rgb(17, 20, 24)" : bg === "rgb(246, 247, 249)", `${scheme} theme background, got ${bg}`);
      await shot(page, `${id}-${scheme}`, id !== "requests");
    }
    eq(page.errors, [], "no page errors");
    await page.context().close();
  });
}

// ---------- Overview ----------
await test("overview: today's spend and the tray line agree; every window is a gauge; subagents' share", async () => {
  const page = await open();
  const today = await mock(page, () => {
    const { data } = window.__gatehouseMock;
    const d = new Date(data.now);
    const start = new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
    const rows = data.rows.filter((r) => r.ts_ms >= start);
    return { cost: rows.reduce((s, r) => s + (r.cost_usd ?? 0), 0), requests: rows.length, unpriced: rows.filter((r) => r.cost_usd === null).length };
  });
  await page.waitForSelector(".gauges [data-window]");
  const value = await page.textContent("#today .figure-value");
  eq(value, `$${today.cost.toFixed(2)}`, "today's figure");
  eq(await page.textContent("#facts p"), `Today: $${today.cost.toFixed(2)} at API prices · ${today.requests} requests`, "the tray's Today line");
  if (today.unpriced) assert((await page.textContent("#today")).includes(`+ ${today.unpriced} with unknown price`), "unpriced requests are counted apart");
  // The billed part beside today's total and each period's, its terms in the tooltip.
  const billedToday = await mock(page, () => {
    const { data } = window.__gatehouseMock;
    const d = new Date(data.now);
    const start = new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
    return data.rows.filter((r) => r.ts_ms >= start && r.flags.billed).reduce((s, r) => s + (r.cost_usd ?? 0), 0);
  });
  assert(billedToday > 0, "the fixture has billed requests today");
  eq(await page.textContent('#today [data-testid="billed-note"]'), `billed $${billedToday.toFixed(2)}`, "today's billed part");
  const tip = await page.getAttribute('#today [data-testid="billed-note"]', "title");
  assert(tip.includes("subscription-equivalent $") && tip.includes("API key") && tip.includes("transcripts"), tip);
  eq(await page.$$eval('.hero [data-testid="billed-note"]', (l) => l.length), 3, "today, 7 and 30 days each show their billed part");
  eq(await page.$$eval(".gauges [data-window]", (l) => l.map((e) => e.dataset.window)), ["5h", "7d", "7d_oi"], "gauges, unknown windows kept");
  const caption = await page.textContent('.gauges [data-window="5h"] .gauge-caption');
  assert(/^resets (\d\d:\d\d|\w{3} \d\d:\d\d)$/.test(caption), `5h reset in local time: ${caption}`);
  const shares = await page.textContent('[data-testid="class-shares"]');
  assert(shares.includes("Subagent (Explore)") && shares.includes("Main"), `class shares: ${shares}`);
  assert((await page.textContent('[data-testid="coverage"]')).includes("went through Gatehouse"), "coverage line");
  // Claude Code's warnings, each with its fix, in the core's words (keys set as code).
  const warning = await page.textContent('#claude-code-warnings [data-kind="environment_variable"]');
  assert(warning.startsWith("ANTHROPIC_API_KEY is set in the environment") && warning.includes("Fix: Remove the line that exports ANTHROPIC_API_KEY"), warning);
  // Quit is not on the Overview (it is in Settings, away from the logs).
  eq(await page.$$('[data-action="quit"]'), [], "no Quit on the Overview");
  await page.context().close();
});

await test("overview: requests failing over to a paid upstream are said beside the gateway", async () => {
  for (const scheme of ["light", "dark"]) {
    const page = await open({ scheme, query: "?failover" });
    await page.waitForSelector('[data-testid="failover"]');
    const text = await page.textContent('[data-testid="failover"]');
    assert(text.startsWith("Failing over to openrouter: anthropic: the subscription's window is used up."), text);
    const budgets = await page.$$eval('[data-testid="budgets"] li', (items) => items.map((li) => [li.className, li.querySelector(".gauge-title").textContent, li.querySelector(".gauge-value").textContent]));
    eq(budgets, [
      ["budget gauge warn", "openrouter · daily budget", "$4.21 of $5.00"],
      ["budget gauge ok", "openrouter · monthly budget", "$31.70 of $50.00"],
    ], "each budget, with its spend and how close it is");
    await shot(page, `overview-failover-${scheme}`);
    eq(page.errors, [], "no page errors");
    await page.context().close();
  }
});

await test("overview: a paused Claude Code is a third state, not a tick", async () => {
  const page = await open();
  await page.click('input[data-action="proxy"]'); // the gateway off: Claude Code is paused
  await page.waitForFunction(() => document.querySelector('input[data-action="claude_code"]') !== null);
  // The mock's user scope is not configured; configure it first, then stop the gateway.
  await mock(page, async () => {
    const { emit } = window.__gatehouseMock;
    await window.__TAURI_INTERNALS__.invoke("set_claude_code", { enabled: true });
    await window.__TAURI_INTERNALS__.invoke("set_proxy", { enabled: false });
    await emit("state", await window.__TAURI_INTERNALS__.invoke("get_state"));
  });
  await page.waitForSelector(".switch.paused");
  const box = await page.$eval('input[data-action="claude_code"]', (i) => ({ checked: i.checked, indeterminate: i.indeterminate }));
  eq(box, { checked: false, indeterminate: true }, "paused is neither on nor off");
  assert((await page.textContent(".switch.paused .switch-detail")).startsWith("Paused: the gateway is off"), "paused says why");
  await shot(page, "overview-paused-light");
  await page.context().close();
});

await test("the tray's Log in opens the Overview and starts one sign-in, not one per visit", async () => {
  const page = await open({ query: "?panel=logs" });
  await page.waitForSelector('main[data-page="logs"]');
  await mock(page, () => window.__gatehouseMock.emit("show-login"));
  await page.waitForSelector('main[data-page="overview"]');
  await page.waitForFunction(() => window.__gatehouseMock.calls.some((c) => c.cmd === "refresh_login"));
  await go(page, "spend");
  await go(page, "overview");
  await page.waitForSelector("#facts p");
  eq((await calls(page, "refresh_login")).length, 1, "one login action");
  await page.context().close();
});

await test("log in to Claude: the sign-in link, the code, the answer (the WebDriver test's elements)", async () => {
  const page = await open({ query: "?logged-out" });
  await page.waitForSelector('button[data-action="login"]');
  eq(await page.textContent('button[data-action="login"]'), "Log in to Claude…", "logged out");
  assert(!(await page.isVisible("#login-flow")), "no sign-in yet");
  await page.click('button[data-action="login"]');
  await page.waitForSelector("#login-flow", { state: "visible" });
  assert((await page.textContent("#sign-in-url")).startsWith("https://claude.ai/oauth/authorize"), "the link");
  eq(await page.evaluate(() => document.activeElement.id), "login-code", "the code field has focus");
  await page.fill("#login-code", "wrong");
  await page.click('#login-form button[type="submit"]');
  await page.waitForFunction(() => document.querySelector("#login-message")?.textContent.includes("not accepted"));
  assert(await page.isVisible("#login-flow"), "a refused code keeps the form");
  await page.fill("#login-code", "good-code#abc123");
  await page.click('#login-form button[type="submit"]');
  await page.waitForFunction(() => document.querySelector("#login-message")?.textContent === "Signed in to Claude.");
  await page.waitForSelector("#login-flow", { state: "hidden" });
  eq(await page.inputValue("#login-code"), "", "the code does not stay in the window");
  await mock(page, async () => window.__gatehouseMock.emit("state", await window.__TAURI_INTERNALS__.invoke("get_state")));
  await page.waitForFunction(() => document.querySelector('button[data-action="login"]').textContent === "Claude subscription: Max (via Claude Code)");
  await shot(page, "overview-signed-in-light");
  await page.context().close();
});

// ---------- Spend ----------
await test("spend: stacked daily bars by model with the right series and totals; unknown price marked", async () => {
  const page = await open();
  await go(page, "spend");
  await page.waitForSelector('canvas[data-chart="daily-spend"]');
  const query = (await calls(page, "spend_report")).at(-1).query;
  eq(query, { range: { first_day: "2026-11-01", last_day: "2026-11-30" }, by: "model" }, "the last 30 local days, by model");
  const report = await mock(page, (q) => window.__TAURI_INTERNALS__.invoke("spend_report", { query: q }), query);
  const expected = await mock(page, `(() => {
    const { data } = window.__gatehouseMock;
    const rows = data.rows.filter(r => r.ts_ms >= ${report.since_ms} && r.ts_ms < ${report.until_ms});
    const by = {};
    for (const r of rows) by[r.model] = (by[r.model] ?? 0) + (r.cost_usd ?? 0);
    const billed = rows.filter((r) => r.flags.billed).reduce((s, r) => s + (r.cost_usd ?? 0), 0);
    return { by, total: rows.reduce((s, r) => s + (r.cost_usd ?? 0), 0), billed };
  })()`);
  const chart = await chartData(page, "daily-spend");
  eq([...chart.series].sort(), ["Billed", "haiku-4-5", "nova-preview (price unknown)", "opus-4-5", "sonnet-4-5"], "one series per model, the unpriced one said so, and the billed line");
  near(chart.sums[chart.series.indexOf("Billed")], expected.billed, "the billed line sums to the billed requests' cost");
  for (const [model, cost] of Object.entries(expected.by)) {
    const name = model.replace(/^claude-/, "").replace(/-\d{8}$/, "");
    const index = chart.series.findIndex((s) => s === name || s === `${name} (price unknown)`);
    near(chart.sums[index], cost, `${name} sum`);
  }
  eq(chart.points, 30 * 5, "30 days x (4 models + the billed line)");
  const novaBars = await page.$eval('canvas[data-chart="daily-spend"]', (c) => c.dataset.nulls);
  assert(Number(novaBars) > 0, "days of the unpriced model are no bar (null), not $0 bars");
  eq(await page.textContent('[data-testid="spend-total"] .figure-value'), `$${expected.total.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`, "total");
  const dollars = (usd) => `$${usd.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
  eq(await page.textContent('[data-testid="spend-billed"]'), `billed ${dollars(expected.billed)} · subscription ${dollars(expected.total - expected.billed)}`, "the total's billed and subscription-equivalent parts");
  assert((await page.getAttribute('[data-testid="spend-billed"]', "title")).includes("API key"), "the terms in the tooltip");
  // The table's billed and subscription columns add up to its total, to the nano-dollar.
  const foot = async (id) => Math.round(Number((await page.textContent(`[data-testid="${id}"]`)).replace(/[$,]/g, "").split("+")[0]) * 100);
  eq((await foot("table-billed")) + (await foot("table-subscription")), await foot("table-total"), "billed + subscription = total, in the table's footer");
  eq(await page.$$eval('[data-testid="spend-table"] thead th.help', (h) => h.map((e) => [e.textContent.replace(/[↓↑]/, ""), e.title.includes("API key")])), [["Billed", true], ["Subscription", true]], "the billed columns explain themselves");
  const nova = await page.$eval('[data-testid="spend-table"] tbody', (t) => [...t.rows].find((r) => r.textContent.includes("nova")).lastElementChild.textContent);
  eq(nova, "unknown price", "the unpriced model's cost");
  await page.context().close();
});

await test("spend: a long breakdown is drawn 200 rows at a time; totals cover every row", async () => {
  const page = await open({ query: "?many-sessions" });
  await go(page, "spend");
  await page.click('[data-group="session"]');
  await page.waitForFunction(() => document.querySelector('[data-testid="spend-table"] tbody')?.textContent.includes("-session"));
  const total = Number((await page.textContent('[data-testid="spend-table"] tfoot td')).replace(/[^0-9]/g, ""));
  assert(total > 400, `the fixture has more than 400 sessions in 30 days (${total})`);
  const drawn = () => page.$$eval('[data-testid="spend-table"] tbody tr:not(.more)', (rows) => rows.length);
  eq(await drawn(), 200, "the first 200 rows are drawn");
  assert((await page.textContent("tr.more")).includes(`first 200 of ${total.toLocaleString("en-US")} rows`), "says how many are drawn");
  await page.$eval("tr.more", (row) => row.scrollIntoView());
  await shot(page, "spend-long-table-light", false);
  await page.click("tr.more button[data-more]");
  eq(await drawn(), 400, "Show more adds 200");
  await page.click("tr.more button[data-all]");
  eq(await drawn(), total, "Show all draws every row");
  eq(await page.$("tr.more"), null, "nothing more to show");
  await page.fill('input[aria-label="Filter rows"]', "zzz-no-such-session");
  await page.fill('input[aria-label="Filter rows"]', "");
  eq(await drawn(), 200, "a new filter starts again at 200");
});

await test("spend: the date range (presets and typed dates) asks for local days", async () => {
  const page = await open();
  await go(page, "spend");
  await page.waitForSelector('canvas[data-chart="daily-spend"]');
  await page.click('button:text-is("7 days")');
  // Seven days: a point per day for each series (the models and the billed line).
  await page.waitForFunction(() => {
    const c = document.querySelector('canvas[data-chart="daily-spend"]');
    return JSON.parse(c.dataset.sums).length > 0 && c.dataset.points === String(7 * JSON.parse(c.dataset.series).length);
  });
  const seven = (await calls(page, "spend_report")).at(-1).query.range;
  eq(seven, { first_day: "2026-11-24", last_day: "2026-11-30" }, "7 days");
  await page.fill('input[name="from"]', "2026-11-10");
  await page.fill('input[name="to"]', "2026-11-12");
  await page.waitForFunction(() => {
    const c = document.querySelector('canvas[data-chart="daily-spend"]');
    return c && c.dataset.points === String(3 * JSON.parse(c.dataset.series).length);
  });
  const typed = (await calls(page, "spend_report")).at(-1).query.range;
  eq(typed, { first_day: "2026-11-10", last_day: "2026-11-12" }, "10 to 12 Nov");
  await page.fill('input[name="from"]', "2026-11-20");
  assert((await page.textContent('[role="alert"]')).includes("after the end date"), "a reversed range is refused with a message");
  await page.context().close();
});

await test("spend: sort, filter, export CSV and JSON with the table's numbers", async () => {
  const page = await open();
  await go(page, "spend");
  await page.click('[data-group="project"]');
  await page.waitForFunction(() => document.querySelector('[data-testid="spend-table"] tbody')?.textContent.includes("~/src/webshop"));
  const labels = () => page.$$eval('[data-testid="spend-table"] tbody tr', (rows) => rows.map((r) => r.cells[0].textContent));
  const costs = () => page.$$eval('[data-testid="spend-table"] tbody tr', (rows) => rows.map((r) => Number(r.lastElementChild.textContent.replace(/[$,]/g, ""))));
  const before = await costs();
  eq(before, [...before].sort((a, b) => b - a), "sorted by cost, biggest first");
  await page.click('th button:text-is("Cost")');
  const after = await costs();
  eq(after, [...before].sort((a, b) => a - b), "the header sorts the other way");
  await page.fill('input[aria-label="Filter rows"]', "webshop");
  eq(await labels(), ["~/src/webshop"], "filtered");
  await page.fill('input[aria-label="Filter rows"]', "");
  await page.click('[data-export="csv"]');
  await page.waitForSelector(".status.done");
  assert((await page.textContent(".status.done")).includes("/home/ana/Downloads/gatehouse-spend-project-2026-11-01-2026-11-30.csv"), "says where it saved");
  await page.click('[data-export="json"]');
  await page.waitForFunction(() => window.__gatehouseMock.calls.filter((c) => c.cmd === "spend_export").length === 2);
  const asked = await calls(page, "spend_export");
  eq(asked.map((a) => [a.query, a.format, a.save]), [
    [{ range: { first_day: "2026-11-01", last_day: "2026-11-30" }, by: "project" }, "csv", true],
    [{ range: { first_day: "2026-11-01", last_day: "2026-11-30" }, by: "project" }, "json", true],
  ], "the export asks for the table's range and grouping, saved");
  // What the command returns is what it wrote: keep it as a file and check it against the table on screen.
  const files = [];
  for (const a of asked) {
    const out = await mock(page, (args) => window.__TAURI_INTERNALS__.invoke("spend_export", args), a);
    const file = join(SHOTS, "exports", out.file_name);
    writeFileSync(file, out.contents);
    files.push(file);
  }
  const csv = readFileSync(files[0], "utf8").trim().split("\n");
  eq(csv[0].split(",").slice(0, 2), ["project", "requests"], "CSV header");
  const tableTotal = Number((await page.textContent('[data-testid="table-total"]')).replace(/[$,]/g, "").split("+")[0]);
  const csvTotal = csv.slice(1).reduce((s, l) => s + Number(l.split(",")[6] || 0), 0);
  near(csvTotal, tableTotal, "the CSV's cost column sums to the table's total");
  eq(csv.length - 1, (await labels()).length, "one CSV line per table row");
  const json = JSON.parse(readFileSync(files[1], "utf8"));
  eq(json.rows.length, csv.length - 1, "same rows in the JSON");
  console.log(`     exported: ${files.join(", ")}`);
  await page.context().close();
});

// ---------- Windows ----------
await test("windows: a line per window with resets, projection, and the requests that used the window", async () => {
  const page = await open();
  await go(page, "windows");
  await page.waitForSelector('canvas[data-chart="windows"]');
  const report = await mock(page, () => window.__TAURI_INTERNALS__.invoke("windows_report", { query: { days: null, top: null } }));
  const chart = await chartData(page, "windows");
  eq(chart.series.slice(0, 3), ["5-hour window", "Weekly window", "Weekly window (oi)"], "a line per window, an unknown one too");
  eq(await page.$$eval("[data-window]", (l) => l.map((e) => e.dataset.window)), ["5h", "7d", "7d_oi"], "a gauge per window, an unknown one too");
  const five = report.windows[0].instances;
  const fivePoints = five.reduce((n, i) => n + i.points.length, 0);
  assert(five.length > 5, `the 5-hour window reset ${five.length - 1} times in the range`);
  const fiveSeries = await page.$eval('canvas[data-chart="windows"]', (c) => c.dataset.points);
  assert(Number(fiveSeries) >= fivePoints + five.length - 1, "every reading plus a break at each reset");
  const sums = chart.sums.slice(0, 3);
  const expected = report.windows.map((w) => w.instances.flatMap((i) => i.points).reduce((s, p) => s + Math.round(p.utilization * 1000) / 10, 0));
  near(sums[0], expected[0], "the 5-hour line holds every reading");
  near(sums[1], expected[1], "the weekly line holds every reading");
  near(sums[2], expected[2], "the unknown window's line holds every reading");
  const top = await page.$$eval('[data-testid="top-requests"] tbody tr', (rows) => rows.map((r) => r.cells[1].textContent));
  assert(top.length > 0 && top.every((t) => /^(\+[\d.]+|<0\.1) pts$/.test(t)), `deltas in points: ${top}`);
  const expectedTop = report.windows[0].top_requests.map((r) => r.delta);
  const why = await page.$eval('[data-testid="top-requests"] tbody tr', (r) => r.cells[4].textContent);
  eq(why, "Cache rebuild: model switch", "the biggest use is explained by its flag");
  eq(expectedTop, [...expectedTop].sort((a, b) => b - a), "biggest first");
  const projection = await page.textContent('[data-testid="projection-5h"]');
  assert(/full at|resets before it fills|Not filling/.test(projection), projection);
  await page.context().close();
});

// ---------- Requests ----------
await test("requests: the latest 200, details on click or Enter, live on the ledger event", async () => {
  const page = await open();
  await go(page, "requests");
  await page.waitForSelector('[data-testid="requests-table"]');
  eq(await page.$$eval('[data-testid="requests-table"] tbody tr', (r) => r.length), 200, "200 rows");
  const fit = await page.$eval('[data-testid="requests-table"]', (t) => ({ table: t.scrollWidth, room: t.parentElement.clientWidth }));
  assert(fit.table <= fit.room, `every column fits at 1280 px wide, with no sideways scrolling: ${JSON.stringify(fit)}`);
  const first = await page.$('[data-testid="requests-table"] tbody tr');
  await first.focus();
  await page.keyboard.press("Enter");
  await page.waitForSelector(".details dl");
  const details = await page.textContent(".details");
  assert(details.includes("Request id") && details.includes("claude-code"), "details with the key's name");
  assert(!/sk-ant-|gh_|x-gatehouse-key: [A-Za-z0-9]/.test(await page.content()), "no secret on the page");
  await shot(page, "requests-details-light", false);
  // A request the subscription refused and a paid upstream served: who served, and why.
  const failed = await mock(page, () => window.__gatehouseMock.data.rows.filter((r) => r.flags.failover).at(-1).id);
  const failedRow = `[data-testid="requests-table"] tr[data-request="${failed}"]`;
  eq(await page.textContent(`${failedRow} .via.failover`), "↪ openrouter", "who served, marked as a failover");
  await page.click(failedRow);
  await page.waitForFunction(() => document.querySelector(".details .badges")?.textContent.includes("Failed over"));
  const badge = await page.getAttribute(".details .badges .badge.warn", "title");
  assert(badge.includes("the subscription's window was used up"), badge);
  // Billed rows (served with an API key) are marked by their cost, and only those.
  const billedIds = await mock(page, () => window.__gatehouseMock.data.rows.filter((r) => r.flags.billed).map((r) => r.id));
  const marked = await page.$$eval('[data-testid="requests-table"] tbody tr', (rows) => rows.filter((r) => r.querySelector("[data-billed]")).map((r) => Number(r.dataset.request)));
  assert(marked.length > 0, "some of the latest 200 are billed");
  eq(marked.filter((id) => !billedIds.includes(id)), [], "only billed rows are marked");
  eq(await page.textContent(`${failedRow} [data-billed]`), "billed$", "a failed-over row was served by a paid key: billed");
  assert((await page.getAttribute(`${failedRow} [data-billed]`, "title")).includes("openrouter"), "the mark's tooltip names who billed it");
  eq(await page.textContent('[data-testid="paid-as"]'), "billed: served with an API key", "the details say it was billed");
  const before = (await calls(page, "recent_requests")).length;
  await mock(page, async () => {
    const [newest] = await window.__TAURI_INTERNALS__.invoke("recent_requests", { query: { limit: 1, before_id: null } });
    const row = { ...newest, id: newest.id + 1, ts_ms: newest.ts_ms + 30_000, model: "claude-opus-4-5-20251101", cost_usd: 0.4242, flags: { ...newest.flags, billed: false } };
    await window.__gatehouseMock.emit("ledger", { version: row.id, rows: [row], truncated: false });
  });
  await page.waitForFunction(() => document.querySelector('[data-testid="requests-table"] tbody tr td:nth-child(7)')?.textContent === "$0.42");
  eq(await page.$$eval('[data-testid="requests-table"] tbody tr', (r) => r.length), 200, "still the latest 200");
  eq((await calls(page, "recent_requests")).length, before + 1, "the new row came with the event, not from asking again (the +1 is this test's own call)");
  await mock(page, () => window.__gatehouseMock.emit("ledger", { version: 1e9, rows: [], truncated: true }));
  await page.waitForFunction((n) => window.__gatehouseMock.calls.filter((c) => c.cmd === "recent_requests").length > n, before + 1);
  await page.context().close();
});

// ---------- Claude Code ----------
await test("claude code: diff preview, cancel, then apply", async () => {
  const page = await open();
  await go(page, "claude-code");
  // Not configured: the warning's fix is the one "switch" button on the page.
  const switchOver = '[data-kind="not_configured"] [data-preview="configure"]';
  await page.waitForSelector(switchOver);
  eq(await page.$$('[data-testid="change"]'), [], "no second button for the same change");
  eq(await page.$$eval('[data-testid="scopes"] tbody tr', (r) => r.map((e) => e.dataset.scope)), ["managed", "user"], "no project: the managed and user settings");
  await page.click(switchOver);
  await page.waitForSelector('[data-testid="diff-preview"] .diff');
  await page.click('[data-testid="diff-preview"] button:text-is("Cancel")');
  eq(await page.$$('[data-testid="diff-preview"]'), [], "cancel closes the preview");
  eq(await calls(page, "claude_code_apply"), [], "nothing applied on cancel");
  await page.click(switchOver);
  await page.waitForSelector('[data-testid="diff-preview"] .diff');
  const added = await page.$$eval(".diff-line.add", (l) => l.map((e) => e.textContent.trim()));
  assert(added.some((l) => l.includes('"ANTHROPIC_BASE_URL": "http://127.0.0.1:4000"')), `the diff shows the change: ${added}`);
  assert(!(await page.textContent(".diff")).match(/x-gatehouse-key: (?!<gateway key, hidden>)/), "the key is never shown");
  await shot(page, "claude-code-preview-light");
  await page.click('[data-apply="configure"]');
  await page.waitForFunction(() => document.querySelector('[data-scope="user"] .badge')?.textContent === "through the gateway");
  eq(await calls(page, "claude_code_apply"), [{ change: "configure", project: null }], "apply invoked once, for the previewed change");
  await page.waitForSelector('[data-testid="change"] [data-preview="remove"]');
  await page.context().close();
});

await test("claude code: a team proxy is offered, previewed with its key hidden, applied, and removed again", async () => {
  const page = await open({ query: "?team" });
  await go(page, "claude-code");
  const use = '[data-testid="team-proxies"] [data-team="acme"] [data-preview="configure"]';
  await page.waitForSelector(use);
  eq(await page.textContent(use), "Use team proxy acme…", "one button per team proxy, named");
  await page.click(use);
  await page.waitForSelector('[data-testid="team-proxies"] [data-testid="diff-preview"] .diff');
  const added = await page.$$eval(".diff-line.add", (l) => l.map((e) => e.textContent.trim()));
  assert(added.some((l) => l.includes('"ANTHROPIC_BASE_URL": "https://llm.acme.example"')), `the diff shows the proxy: ${added}`);
  assert(added.some((l) => l.includes("x-litellm-api-key: Bearer <team key, hidden>")), `and the key, hidden: ${added}`);
  assert(!added.some((l) => l.includes("ANTHROPIC_AUTH_TOKEN") || l.includes("ANTHROPIC_API_KEY")), "the login is left alone");
  await shot(page, "claude-code-team-preview-light");
  await page.click('[data-testid="team-proxies"] [data-apply="configure"]');
  await page.waitForFunction(() => document.querySelector('[data-scope="user"] [data-team-proxy]')?.textContent === "team proxy");
  eq(await calls(page, "claude_code_team_apply"), [{ team: "acme", project: null }], "applied once, for that team");
  eq(await calls(page, "claude_code_apply"), [], "not the gateway's change");
  eq(await page.$$('[data-kind="not_configured"]'), [], "no offer to switch onto the gateway while the team proxy is in use");
  await mock(page, async () => window.__gatehouseMock.emit("state", await window.__TAURI_INTERNALS__.invoke("get_state")));
  await page.waitForFunction(() => document.querySelector(".cc-state strong")?.textContent === "Through a team proxy (https://llm.acme.example)");
  eq(await page.textContent('[data-testid="change"] h2'), "Claude Code goes through a team proxy", "the way back");
  await page.click('[data-testid="change"] [data-preview="remove"]');
  await page.waitForSelector('[data-testid="change"] [data-testid="diff-preview"] .diff');
  await page.click('[data-testid="change"] [data-apply="remove"]');
  await page.waitForSelector('[data-kind="not_configured"]');
  eq(await calls(page, "claude_code_apply"), [{ change: "remove", project: null }], "removed like the gateway's");
  eq(page.errors, [], "no page errors");
  await page.context().close();
});

await test("settings: a team proxy's connection shows its key's spend and budget", async () => {
  const page = await open({ query: "?team" });
  await go(page, "settings");
  const row = '[data-testid="connections"] [data-upstream="acme"]';
  await page.waitForSelector(`${row} [data-testid="team-spend"].done`);
  eq((await page.textContent(`${row} [data-testid="team-spend"]`)).replace("Refresh", "").trim(), "Key ana-laptop: $12.35 of a $50.00 budget (25%), resets 2027-01-01", "spend of the budget, and when it resets");
  eq(await calls(page, "team_key_info"), [{ team: "acme" }], "asked once, for that team");
  await page.click(`${row} [data-testid="team-spend"] button:text-is("Refresh")`);
  await page.waitForFunction(() => window.__gatehouseMock.calls.filter((c) => c.cmd === "team_key_info").length === 2);
  eq(await page.$$('[data-upstream="openrouter"] [data-testid="team-spend"]'), [], "only team proxies have one");
  await page.click(`${row} [data-action="test_upstream"]`);
  await page.waitForSelector(`${row}[data-verdict="ok"] .status.done`);
  await page.$eval('[data-testid="connections"]', (e) => e.scrollIntoView());
  await shot(page, "settings-connections-team-light", false);
  eq(page.errors, [], "no page errors");
  await page.context().close();
});

await test("claude code: every warning with its fix; a fix's button previews the change and applies it", async () => {
  const page = await open();
  await page.context().grantPermissions(["clipboard-read", "clipboard-write"]);
  await go(page, "claude-code");
  await page.waitForSelector('[data-testid="warnings"] .fix-item');
  eq(await page.$$eval('[data-testid="warnings"] .fix-item', (l) => l.map((e) => e.dataset.kind)), ["not_configured", "environment_variable"], "the warnings");
  const env = '[data-kind="environment_variable"]';
  assert((await page.textContent(`${env} .fix-text`)).startsWith("Fix: Remove the line that exports ANTHROPIC_API_KEY from your shell's startup files"), "its fix in words");
  eq(await page.textContent(`${env} .fix-command code`), "unset ANTHROPIC_API_KEY", "its command");
  eq(await page.$$(`${env} [data-preview], ${env} [data-fix]`), [], "nothing Gatehouse may do about the shell: no button");
  await page.click(`${env} [data-copy="command"]`);
  await page.waitForSelector(`${env} .status.done`);
  eq(await page.evaluate(() => navigator.clipboard.readText()), "unset ANTHROPIC_API_KEY", "the command is copied");

  // The fix Gatehouse can do: by keyboard, to the diff preview, then apply.
  const fix = '[data-kind="not_configured"]';
  eq(await page.textContent(`${fix} [data-preview="configure"]`), "Switch Claude Code onto Gatehouse…", "the fix's button");
  await page.focus(`${env} [data-copy="command"]`);
  await page.keyboard.press("Shift+Tab"); // the fix's button, after its command's "Copy the command"
  eq(
    await page.evaluate(() => ({ preview: document.activeElement.dataset.preview, outline: getComputedStyle(document.activeElement).outlineStyle })),
    { preview: "configure", outline: "solid" },
    "the fix's button is reached with the keyboard, its focus visible",
  );
  await page.keyboard.press("Enter");
  await page.waitForSelector(`${fix} [data-testid="diff-preview"] .diff`);
  const added = await page.$$eval(`${fix} .diff-line.add`, (l) => l.map((e) => e.textContent.trim()));
  assert(added.some((l) => l.includes('"CLAUDE_CODE_GATEWAY_HINT_HEADERS": "1"')), `the diff: ${added}`);
  eq(await calls(page, "claude_code_preview"), [{ change: "configure", project: null }], "previewed once");
  eq(await calls(page, "claude_code_apply"), [], "nothing applied before Apply");
  await shot(page, "claude-code-fix-preview-light");
  await page.click(`${fix} [data-apply="configure"]`);
  await page.waitForFunction(() => !document.querySelector('[data-kind="not_configured"]'));
  eq(await calls(page, "claude_code_apply"), [{ change: "configure", project: null }], "applied once, through the previewed change");
  await page.waitForFunction(() => document.querySelector('[data-scope="user"] .badge')?.textContent === "through the gateway");

  // A project's own settings: its scopes and its warnings.
  await page.selectOption('[data-testid="project"]', "/home/ana/src/gatehouse");
  await page.waitForSelector('[data-kind="overridden"]');
  eq((await calls(page, "claude_code_scopes")).at(-1), { project: "/home/ana/src/gatehouse" }, "asked for the project");
  eq(await page.$$eval('[data-testid="scopes"] tbody tr', (r) => r.map((e) => e.dataset.scope)), ["managed", "local", "project", "user"], "the project's scopes too");
  const overridden = '[data-kind="overridden"]';
  assert((await page.textContent(`${overridden} .fix-text`)).includes("shared through git"), "a committed file is changed in the repository");
  eq(await page.textContent(`${overridden} .fix-command code`), "gatehouse claude configure --scope local", "or overridden locally");
  await page.click(`${overridden} [data-copy="path"]`);
  await page.waitForSelector(`${overridden} .status.done`);
  eq(await page.evaluate(() => navigator.clipboard.readText()), "/home/ana/src/gatehouse/.claude/settings.json", "the file's path is copied");
  // Opening it where no editor answers: the failure says so, beside the warning.
  await page.click(`${overridden} [data-open="file"]`);
  await page.waitForSelector(`${overridden} .status.error`);
  eq(await page.textContent(`${overridden} .status.error`), "No application opens .json files on this desktop: the file is /home/ana/src/gatehouse/.claude/settings.json", "the error");
  eq((await calls(page, "open_claude_settings_file")), [{ path: "/home/ana/src/gatehouse/.claude/settings.json" }], "opened the warning's file");
  // Or, on this machine only: the project's local settings, which win over the committed file, through the preview.
  eq(await page.textContent(`${overridden} [data-preview="configure"]`), "Switch this project onto Gatehouse…", "the local fix's button");
  await page.click(`${overridden} [data-preview="configure"]`);
  await page.waitForSelector(`${overridden} [data-testid="diff-preview"] .diff`);
  assert((await page.textContent(`${overridden} [data-testid="diff-preview"] .path`)) === "/home/ana/src/gatehouse/.claude/settings.local.json", "the diff is of the local settings");
  eq((await calls(page, "claude_code_preview")).at(-1), { change: "configure", project: "/home/ana/src/gatehouse" }, "previewed for the project");
  await shot(page, "claude-code-local-preview-light");
  await page.click(`${overridden} [data-apply="configure"]`);
  await page.waitForFunction(() => document.querySelector('[data-scope="local"] .badge')?.textContent === "through the gateway");
  eq((await calls(page, "claude_code_apply")).at(-1), { change: "configure", project: "/home/ana/src/gatehouse" }, "applied to the project");
  eq(await page.$$(overridden), [], "the project no longer goes around the gateway");
  // Taken out again the same way, from its own card.
  await page.click('[data-testid="change"][data-scope="local"] [data-preview="remove"]');
  await page.waitForSelector('[data-testid="change"][data-scope="local"] .diff-line.del');
  await page.click('[data-testid="change"][data-scope="local"] [data-apply="remove"]');
  await page.waitForSelector(overridden);
  eq((await calls(page, "claude_code_apply")).at(-1), { change: "remove", project: "/home/ana/src/gatehouse" }, "removed from the project");
  eq(page.errors, [], "no page errors");
  await page.context().close();
});

for (const scheme of ["light", "dark"]) {
  await test(`claude code: the warnings and their fixes (${scheme})`, async () => {
    const page = await open({ scheme });
    await go(page, "claude-code");
    await page.waitForSelector('[data-kind="not_configured"]');
    await page.selectOption('[data-testid="project"]', "/home/ana/src/gatehouse");
    await page.waitForSelector('[data-kind="overridden"]');
    await shot(page, `claude-code-project-${scheme}`);
    await page.context().close();
  });
}

// ---------- Logs ----------
await test("logs: newest first, one format, no float noise, level filter and search", async () => {
  const page = await open();
  await go(page, "logs");
  await page.waitForSelector('[data-testid="log-lines"]');
  const texts = () => page.$$eval(".log-line", (l) => l.map((e) => e.textContent));
  const all = await texts();
  assert(all[0].includes("gateway started"), `newest first, as the core sends them: ${all[0]}`);
  assert(all[1].includes("claude-opus-4-5"), all[1]);
  assert(!all.join("\n").includes("4631150000000002"), "no float noise");
  assert(all[1].includes("ttfb_ms=1.46"), all[1]);
  await page.selectOption("select", "ERROR");
  eq((await texts()).length, 1, "errors only");
  await page.selectOption("select", "ALL");
  await page.fill('input[aria-label="Search the log"]', "529");
  eq((await texts()).length, 1, "search");
  await page.click("#open-log-file");
  await page.waitForSelector(".status.error");
  assert((await page.textContent(".status.error")).includes("No application opens .log files"), "says when no viewer exists");
  await page.context().close();
});

// ---------- Settings ----------
await test("settings: validation errors beside their fields, the core's errors too", async () => {
  const page = await open();
  await go(page, "settings");
  await page.waitForSelector('input[name="port"]');
  await page.click('button:text-is("Add a price")');
  await page.fill('input[aria-label="Model"]', "claude-nova-preview");
  await page.click('button:text-is("Save settings")');
  assert((await page.textContent(".settings")).includes("Needed: USD per million tokens."), "an incomplete price is refused");
  await page.fill('input[aria-label="Input price for claude-nova-preview"]', "2");
  await page.fill('input[aria-label="Output price for claude-nova-preview"]', "-1");
  await page.fill('input[name="window_thresholds"]', "80, 120");
  await page.click('button:text-is("Save settings")');
  const text = await page.textContent(".settings");
  assert(text.includes("A price is a number of dollars per million tokens, from 0 to 10,000."), "negative price");
  assert(text.includes("Each threshold is a whole percentage from 1 to 100"), "threshold out of range");
  eq(await calls(page, "settings_save"), [], "nothing sent while the form has errors");
  await page.fill('input[aria-label="Output price for claude-nova-preview"]', "10");
  await page.fill('input[name="window_thresholds"]', "95, 80");
  await page.fill('input[name="port"]', "80");
  await page.click('button:text-is("Save settings")');
  await page.waitForSelector(".field-error");
  assert((await page.textContent(".field-error")).includes("below 1024"), "the core's error beside the port");
  await page.fill('input[name="port"]', "4100");
  await page.click('button:text-is("Save settings")');
  await page.waitForSelector(".form-foot .status.done");
  assert((await page.textContent(".form-foot .status.done")).includes("when the gateway restarts"), "says a restart is needed");
  const saved = (await calls(page, "settings_save")).at(-1).form;
  eq([saved.port, saved.notifications.window_thresholds, saved.price_overrides], [4100, [80, 95], [{ model: "claude-nova-preview", input: 2, output: 10, cache_read: 0.2, cache_write_5m: 2.5, cache_write_1h: 4 }]], "saved values; empty cache prices from the input price");
  eq(await page.$$eval('[data-action="quit"]', (b) => b.length), 1, "Quit in Settings");
  await page.context().close();
});

// ---------- providers ----------
await test("settings: OpenRouter's browser sign-in, a pasted address, and the key's place", async () => {
  for (const scheme of ["light", "dark"]) {
    const page = await open({ scheme });
    await go(page, "settings");
    const card = '[data-provider="openrouter"]';
    await page.waitForSelector(`${card}[data-state="idle"]`);
    if (scheme === "light") await shot(page, "settings-providers-light");
    await page.click(`${card} [data-action="openrouter_sign_in"]`);
    await mock(page, async () => {
      const { emit } = window.__gatehouseMock;
      await emit("state", await window.__TAURI_INTERNALS__.invoke("get_state"));
    });
    await page.waitForSelector(`${card}[data-state="waiting"]`);
    eq((await calls(page, "openrouter_sign_in")).length, 1, "started once");
    assert((await page.textContent(card)).includes("Waiting for your browser"), "says it waits");
    // A browser elsewhere: a foreign address is refused beside the field, the right one finishes.
    await page.fill("#openrouter-pasted", "http://127.0.0.1:9/callback/another-run?code=x");
    await page.click('.paste-form button[type="submit"]');
    await page.waitForSelector(".paste-form .status.error");
    assert((await page.textContent(".paste-form .status.error")).includes("state does not match"), "the refusal");
    await shot(page, `settings-openrouter-waiting-${scheme}`);
    await page.fill("#openrouter-pasted", "http://127.0.0.1:43117/callback/Zr3xKp0LqNw8vT2bYc5eUg?code=c0de");
    await page.click('.paste-form button[type="submit"]');
    await mock(page, async () => {
      const { emit } = window.__gatehouseMock;
      await emit("state", await window.__TAURI_INTERNALS__.invoke("get_state"));
    });
    await page.waitForSelector(`${card}[data-state="signed_in"]`);
    const text = await page.textContent(card);
    assert(text.includes("keychain:openrouter") && text.includes("OS keychain"), text);
    eq(await page.$$(".paste-form"), [], "the paste field goes with the wait");
    if (scheme === "dark") await shot(page, "settings-openrouter-signed-in-dark");
    eq(page.errors, [], "no page errors");
    await page.context().close();
  }
});

await test("settings: Test shows each upstream's connection beside it", async () => {
  for (const scheme of ["light", "dark"]) {
    const page = await open({ scheme });
    await go(page, "settings");
    const row = (name) => `[data-testid="connections"] [data-upstream="${name}"]`;
    await page.waitForSelector(row("team"));
    eq(await page.$$eval('[data-testid="connections"] [data-upstream] strong', (s) => s.map((e) => e.textContent)), ["anthropic", "openrouter", "team"], "every upstream, in the config's order");
    await page.click(`${row("openrouter")} [data-action="test_upstream"]`);
    await page.waitForSelector(`${row("openrouter")}[data-verdict="ok"] .status.done`);
    assert((await page.textContent(`${row("openrouter")} .status.done`)).startsWith("OK: reachable, and its key (keychain:openrouter) is accepted"), "the result, inline");
    await page.click(`${row("team")} [data-action="test_upstream"]`);
    await page.waitForSelector(`${row("team")}[data-verdict="key_refused"] .status.error`);
    assert((await page.textContent(`${row("team")} .status.error`)).includes("refused its key (env:TEAM_LLM_KEY): HTTP 401"), "a refusal, as an error");
    await page.click(`${row("anthropic")} [data-action="test_upstream"]`);
    await page.waitForSelector(`${row("anthropic")}[data-verdict="ok"]`);
    eq((await calls(page, "test_upstream")).map((a) => a.name), ["openrouter", "team", "anthropic"], "one test per click, by name");
    eq(await page.$$(`${row("team")}[data-verdict="key_refused"]`).then((r) => r.length), 1, "earlier results stay");
    await page.$eval('[data-testid="connections"]', (e) => e.scrollIntoView());
    await shot(page, `settings-connections-${scheme}`, false);
    eq(page.errors, [], "no page errors");
    await page.context().close();
  }
});

// ---------- engines ----------
/** Sends the page the `state` event, as the app does when the snapshot changes. */
const pushState = (page) =>
  mock(page, async () => {
    const { emit } = window.__gatehouseMock;
    await emit("state", await window.__TAURI_INTERNALS__.invoke("get_state"));
  });
const LITELLM = '[data-testid="engines"] [data-engine="litellm"]';

await test("settings: LiteLLM installs with a progress bar, shows where it is, and uninstalls", async () => {
  for (const scheme of ["light", "dark"]) {
    const page = await open({ scheme, query: "?litellm=none" });
    await go(page, "settings");
    await page.waitForSelector(`${LITELLM}[data-state="not_installed"]`);
    assert((await page.textContent('[data-engine="builtin"]')).includes("always on"), "the built-in gateway is always the front door");
    assert((await page.textContent('[data-engine="builtin"]')).includes("Claude Code and every client talk to it"), "and says so");
    eq(await page.textContent(`${LITELLM} [data-action="litellm_install"]`), "Install LiteLLM (about 650 MB)", "the install button says its size");
    eq(await page.$$eval('[data-testid="connections"] [data-through="litellm"]', (b) => b.map((e) => e.closest("[data-upstream]").dataset.upstream)), ["aws", "aws-eu"], "each Bedrock connection says it goes through LiteLLM, and only those");
    eq(await page.$$eval('[data-testid="litellm-serves"] li', (l) => l.map((e) => e.textContent.trim())), ["aws — LiteLLM is not installed; run `gatehouse engine litellm install`", "aws-eu — the gateway started before it was added; restart the gateway to use it"], "the upstreams it serves, with why they wait");
    if (scheme === "light") await shot(page, "settings-litellm-none-light");

    await page.click(`${LITELLM} [data-action="litellm_install"]`);
    await pushState(page);
    await page.waitForSelector(`${LITELLM}[data-state="installing"] progress`);
    eq(await calls(page, "litellm_install"), [{ force: false }], "one install, not forced");
    eq(await page.$$(`${LITELLM} button`), [], "no button while it installs");
    await mock(page, () => window.__gatehouseMock.progress({ phase: "packages", fraction: 0.42, message: "Downloading botocore (13.1MiB)" }));
    await pushState(page);
    await page.waitForFunction((sel) => document.querySelector(`${sel} progress`)?.value === 0.42, LITELLM);
    const installing = await page.textContent(LITELLM);
    assert(installing.includes("Installing LiteLLM and its dependencies… 42%") && installing.includes("Downloading botocore"), installing);
    const refused = await mock(page, () => window.__TAURI_INTERNALS__.invoke("litellm_install", { force: false }).then(() => "started", String));
    assert(refused.includes("being installed already"), `a second install is refused: ${refused}`);
    await page.$eval('[data-testid="engines"]', (e) => e.scrollIntoView());
    await shot(page, `settings-litellm-installing-${scheme}`, false);

    await mock(page, () => window.__gatehouseMock.litellm("installed"));
    await pushState(page);
    await page.waitForSelector(`${LITELLM}[data-state="installed"]`);
    const installed = await page.textContent(LITELLM);
    assert(installed.includes("Installed: 652 MB, Python 3.12.3, in /home/ana/.local/share/gatehouse/engines/litellm/venv"), installed);
    eq(await page.$$eval('[data-testid="litellm-serves"] li', (l) => l.map((e) => e.dataset.engineState)), ["ready", "not_ready"], "one ready, one starting");
    assert((await page.textContent('[data-testid="litellm-serves"] [data-upstream="aws-eu"]')).includes("starting (12 s so far"), "starting, with how long");
    eq(await page.getAttribute('[data-testid="litellm-run"]', "data-run"), "ready", "the engine runs");
    assert((await page.textContent('[data-testid="litellm-run"]')).includes("serves Chat Completions"), "what it serves");
    await page.$eval('[data-testid="engines"]', (e) => e.scrollIntoView());
    await shot(page, `settings-litellm-installed-${scheme}`, false);

    await page.click(`${LITELLM} [data-action="litellm_uninstall"]`);
    await page.waitForSelector('[data-testid="engines"] .status.done');
    assert((await page.textContent('[data-testid="engines"] .status.done')).startsWith("Removed LiteLLM 1.106.2 (652 MB freed)."), "says what it removed");
    await pushState(page);
    await page.waitForSelector(`${LITELLM}[data-state="not_installed"]`);
    eq(page.errors, [], "no page errors");
    await page.context().close();
  }
});

await test("settings: a broken LiteLLM install offers Repair, and a failed install says why", async () => {
  for (const scheme of ["light", "dark"]) {
    const page = await open({ scheme, query: "?litellm=problem" });
    await go(page, "settings");
    await page.waitForSelector(`${LITELLM}[data-state="problem"]`);
    assert((await page.textContent(`${LITELLM} .status.warn`)).includes("was never finished"), "the problem, in the core's words");
    await page.click(`${LITELLM} [data-action="litellm_repair"]`);
    eq(await calls(page, "litellm_install"), [{ force: true }], "Repair forces the install");
    await pushState(page);
    await page.waitForSelector(`${LITELLM}[data-state="installing"]`);
    const failure = { kind: "no_python", message: "no Python 3.10 or newer found on PATH (python3.13, python3): install Python 3.10 or newer with its venv module" };
    await mock(page, (f) => window.__gatehouseMock.litellm("problem", f), failure);
    await pushState(page);
    await page.waitForSelector(`${LITELLM} [data-failure="no_python"]`);
    assert((await page.textContent(`${LITELLM} [data-failure]`)).includes("The last install failed: no Python 3.10 or newer"), "the failure, typed and worded");
    await page.waitForSelector(`${LITELLM} [data-action="litellm_repair"]`);
    await page.$eval('[data-testid="engines"]', (e) => e.scrollIntoView());
    await shot(page, `settings-litellm-problem-${scheme}`, false);
    eq(page.errors, [], "no page errors");
    await page.context().close();
  }
});

// ---------- first run, empty, keyboard, small window ----------
await test("first run: the guide walks through gateway, Claude Code and the import", async () => {
  const page = await open({ query: "?first-run" });
  await page.waitForSelector(".guide");
  eq(await page.$$eval(".guide .step.done", (s) => s.length), 1, "only the gateway is done");
  await shot(page, "first-run-light");
  await page.click('.guide button:text-is("Import now")');
  await page.waitForFunction(() => document.querySelector(".guide")?.textContent.includes("212 requests from before Gatehouse, read from 41 transcript files."));
  eq((await calls(page, "import_transcripts")).length, 1, "the import ran once");
  eq(await page.$$eval(".guide .step.done", (s) => s.length), 2, "the import is done, from the ledger's word");
  await shot(page, "first-run-imported-light");
  await page.click('.guide button:text-is("Preview the change…")');
  await page.waitForSelector('main[data-page="claude-code"]');
  await page.context().close();
});

await test("first run: a new user without transcripts has nothing to import, and that step is done", async () => {
  const page = await open({ query: "?first-run&empty" });
  await page.waitForSelector(".guide");
  eq(await page.$$eval(".guide .step.done", (s) => s.length), 2, "the gateway and the import are done");
  const step = await page.textContent(".guide .steps li:nth-child(3)");
  assert(step.includes("Claude Code has no transcripts yet: there is nothing to import."), step);
  eq(await page.$$('.guide button:text-is("Import now")').then((b) => b.length), 0, "no import to run");
  eq(page.errors, [], "no errors in the page");
  await page.context().close();
});

await test("first run: the guide hides on \"Done\", and the app remembers", async () => {
  for (const scheme of ["light", "dark"]) {
    const page = await open({ scheme, query: "?first-run" });
    await page.waitForSelector(".guide");
    if (scheme === "dark") await shot(page, "first-run-dark");
    await page.click('.guide button:text-is("Done, hide this")');
    await page.waitForSelector(".guide", { state: "detached" });
    eq((await calls(page, "first_run_done")).length, 1, "the dismissal was sent to the app once");
    // Away and back: the Overview asks the app again, which says no.
    await go(page, "spend");
    await go(page, "overview");
    await page.waitForSelector("#windows-title");
    // The Overview asks from an effect, after its first paint: wait for the question, not the title.
    await page.waitForFunction(() => window.__gatehouseMock.calls.filter((c) => c.cmd === "first_run_state").length >= 2);
    eq(await page.$$(".guide").then((g) => g.length), 0, "the guide stays hidden");
    eq(page.errors, [], "no errors in the page");
    await page.context().close();
  }
});

await test("no first run: an existing user's Overview has no guide", async () => {
  const page = await open();
  await page.waitForSelector("#windows-title");
  await page.waitForFunction(() => window.__gatehouseMock.calls.some((c) => c.cmd === "first_run_state"));
  eq(await page.$$(".guide").then((g) => g.length), 0, "no guide");
  await page.context().close();
});

await test("empty ledger: empty states say what to do", async () => {
  const page = await open({ query: "?empty" });
  await go(page, "requests");
  await page.waitForSelector(".empty");
  eq(await page.textContent(".empty-title"), "No requests yet: configure Claude Code.", "requests");
  await shot(page, "requests-empty-light");
  await go(page, "spend");
  await page.waitForSelector(".empty");
  assert((await page.textContent(".empty")).includes("Claude Code"), "spend");
  await go(page, "windows");
  await page.waitForSelector(".empty");
  await page.context().close();
});

await test("keyboard: every page reachable with Tab and Enter, focus visible", async () => {
  const page = await open();
  await page.keyboard.press("Tab");
  const focused = await page.evaluate(() => ({ page: document.activeElement.dataset.page, outline: getComputedStyle(document.activeElement).outlineStyle }));
  eq(focused, { page: "overview", outline: "solid" }, "the first nav item has a visible focus ring");
  await page.keyboard.press("Tab");
  await page.keyboard.press("Tab");
  await page.keyboard.press("Enter");
  await page.waitForSelector('main[data-page="windows"]');
  await page.context().close();
});

for (const [width, height] of [[800, 600], [1920, 1080]]) {
  await test(`layout at ${width}x${height}: nothing overflows sideways`, async () => {
    const page = await open({ width, height });
    for (const id of ["overview", "spend", "requests"]) {
      await go(page, id);
      await page.waitForFunction(() => !document.querySelector("#page .status.busy"));
      const overflow = await page.evaluate(() => [...document.querySelectorAll("#page > .page > *")].filter((e) => e.scrollWidth > e.clientWidth + 1 && !e.classList.contains("table-wrap")).map((e) => e.className));
      eq(overflow, [], `${id}: no section wider than the window`);
      if (id === "requests") {
        // The 5-hour column stays in view beside a billed row's mark ("$" in a small window).
        await page.waitForSelector('[data-testid="requests-table"] [data-billed]');
        const fit = await page.evaluate(() => {
          const th = [...document.querySelectorAll('[data-testid="requests-table"] th')].find((e) => e.textContent === "5h");
          const marks = [...document.querySelectorAll('[data-testid="requests-table"] [data-billed]')];
          const right = th.getBoundingClientRect().right;
          // The same table without the marks: they must take no room the columns did not have.
          marks.forEach((m) => (m.style.display = "none"));
          const unmarked = th.getBoundingClientRect().right;
          marks.forEach((m) => (m.style.display = ""));
          return { right, unmarked, room: window.innerWidth, mark: marks[0].innerText };
        });
        assert(fit.right <= fit.room, `the 5h column is in view at ${width} px: ${JSON.stringify(fit)}`);
        assert(Math.abs(fit.right - fit.unmarked) < 0.5, `the billed marks do not push the 5h column: ${JSON.stringify(fit)}`);
        eq(fit.mark, width === 800 ? "$" : "billed", "the billed mark's text");
      }
      if (width === 800) await shot(page, `${id}-800x600`, id !== "requests");
    }
    await page.context().close();
    // Settings with every card filled: the Engines card's long venv path, the Bedrock upstreams.
    const settings = await open({ width, height, query: "?litellm=installed" });
    await go(settings, "settings");
    await settings.waitForSelector('[data-testid="engines"]');
    const wide = await settings.evaluate(() => [...document.querySelectorAll("#page > .page *")].filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1).map((e) => e.className || e.tagName));
    eq(wide, [], "settings: nothing reaches past the window's right edge");
    if (width === 800) {
      await settings.locator('[data-testid="engines"]').scrollIntoViewIfNeeded();
      await shot(settings, "settings-litellm-800x600", false);
    }
    await settings.context().close();
  });
}

await browser.close();
server.close();
console.log("\nscreenshots:");
for (const file of shots) console.log(`  ${file}`);
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
