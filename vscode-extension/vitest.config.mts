import { defineConfig } from 'vitest/config';

// Unit tests: the extension's logic that needs no VS Code.
export default defineConfig({
    test: {
        include: ['test/unit/**/*.test.ts'],
        testTimeout: 5_000,
    },
});
