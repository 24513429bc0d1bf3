import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // cdktf's Testing.setupJest() registers its matchers on the global `expect`.
    globals: true,
    setupFiles: ["./vitest.setup.ts"],
    include: ["**/*.test.ts"],
    exclude: ["node_modules/**", "cdktf.out/**", ".lab/**"],
    // Integration tests (emulator applies, lab runs) set their own, longer timeouts.
    testTimeout: 20_000,
    hookTimeout: 120_000,
    // Lab and emulator tests bring up shared fixtures: keep files isolated but not all at once on 2 cores.
    maxWorkers: 2,
  },
});
