// Inter (SIL Open Font License, from the inter-ui package; the license is in
// the font's name table), bundled with the app: the same type on every
// desktop, and WebKit reads it from the app instead of asking fontconfig to
// match a family for each weight and size (about 100 ms of the window's
// first paint with system fonts). Loaded here rather than by an @font-face
// in style.css, whose rules may not be known yet when the script runs: then
// the first frame, which waits for the font, would not have it.

import interUrl from "inter-ui/variable/InterVariable.woff2?url";

/** Resolves once Inter can be drawn, or after `capMs` (then text waits for it, drawn blank). */
export function loadFont(capMs: number): Promise<void> {
  const inter = new FontFace("Inter", `url(${interUrl}) format("woff2")`, { weight: "100 900", display: "block" });
  document.fonts.add(inter);
  return Promise.race([inter.load().then(() => {}, () => {}), new Promise<void>((done) => setTimeout(done, capMs))]);
}
