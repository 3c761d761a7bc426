import { defineConfig } from 'vitest/config';

// The end-to-end test in real VS Code (code-server); run it through scripts/e2e.sh.
export default defineConfig({
    test: {
        include: ['test/e2e/**/*.e2e.ts'],
        testTimeout: 90_000,
        hookTimeout: 120_000,
        fileParallelism: false,
        bail: 1,
    },
});
