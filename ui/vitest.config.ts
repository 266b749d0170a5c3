import { defineConfig } from "vitest/config";

// UI logic tests (src/**/*.test.ts), in Node, in a zone with clock changes.
export default defineConfig({
  test: { include: ["src/**/*.test.ts"], environment: "node" },
});
