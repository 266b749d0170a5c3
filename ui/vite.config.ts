import { defineConfig } from "vite";

// The page is served by Tauri from ui/dist; `npm run dev` serves it on the
// devUrl tauri.conf.json names.
export default defineConfig({
  clearScreen: false,
  server: { port: 5173, strictPort: true },
  build: { outDir: "dist", emptyOutDir: true, target: "es2022" },
});
