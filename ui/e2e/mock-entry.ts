// The app with its IPC mocked (for the browser tests only; built into
// dist-mock by `vite build --mode mock`, never into the app's dist).
// The page's query string picks the scenario: ?first-run, ?empty,
// ?logged-out, ?many-sessions (a new session every few requests),
// ?litellm=none|installing|installed|problem (a Bedrock upstream, and the
// LiteLLM engine in that state), ?team (a team's LiteLLM proxy, `acme`).

import { mockIPC } from "@tauri-apps/api/mocks";
import { emit } from "@tauri-apps/api/event";
import { generate, handler, NOW_ISO, type Call, type LiteLlmScenario } from "./fixture";

const params = new URLSearchParams(location.search);
const calls: Call[] = [];
const data = generate(new Date(NOW_ISO).getTime(), params.has("many-sessions") ? 0.3 : undefined);
const answer = handler(data, calls, { firstRun: params.has("first-run"), empty: params.has("empty"), loggedOut: params.has("logged-out"), failover: params.has("failover"), litellm: params.get("litellm") as LiteLlmScenario | null, team: params.has("team") });
mockIPC((cmd, args) => answer(cmd, args as Record<string, unknown>), { shouldMockEvents: true });

(window as unknown as { __gatehouseMock: unknown }).__gatehouseMock = { calls, data, emit, litellm: answer.litellm, progress: answer.progress };
if (params.has("panel")) (window as { gatehouseOpenPanel?: string }).gatehouseOpenPanel = params.get("panel")!;

await import("../src/main");
