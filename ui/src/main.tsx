// The dashboard's entry: mounts the app into #app.

import { render } from "preact";
import { api, preload } from "./api";
import { App } from "./app";
import { loadFont } from "./font";

// The app's state, and on the Overview its figures, are asked for before the
// first render, so that the window's first frame shows them; after 300 ms
// the page renders anyway and shows them as they come.
const opened = (window as { gatehouseOpenPanel?: string }).gatehouseOpenPanel;
const first: Record<string, () => Promise<unknown>> = opened
  ? { state: api.state }
  : { state: api.state, overview: api.overview };
// The first frame waits for the bundled font too, so that it is drawn once, in Inter.
void Promise.all([preload(first, 300), loadFont(300)]).then(() => render(<App />, document.getElementById("app")!));
