import { defineConfig } from "vite";

// The page is served by Tauri from ui/dist; `npm run dev` serves it on the
// devUrl tauri.conf.json names. `vite build --mode mock` builds the same app
// into dist-mock with its IPC mocked (e2e/mock-entry.ts), for the browser
// tests only: the app Tauri embeds never contains the mock.
export default defineConfig(({ mode }) => ({
  clearScreen: false,
  server: { port: 5173, strictPort: true },
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build:
    mode === "mock"
      ? { outDir: "dist-mock", emptyOutDir: true, target: "es2022", rollupOptions: { input: "e2e/mock.html" } }
      : { outDir: "dist", emptyOutDir: true, target: "es2022" },
}));
