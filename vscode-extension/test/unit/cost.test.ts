import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { estimateCost, formatCost, formatTokens, priceFor, statusText, tokensInProgress, usageText, type Price } from '../../src/cost.ts';

const TABLE = {
    'claude-sonnet': { input: 3, output: 15 },
    'claude-sonnet-4-5-special': { input: 1, output: 2 },
    'gpt-4o': { input: 2.5, output: 10 },
    'gpt-4o-mini': { input: 0.15, output: 0.6 },
    broken: { input: 'free' } as unknown as Price,
};

describe('priceFor', () => {
    it('takes the exact entry, else the longest prefix', () => {
        assert.deepEqual(priceFor('gpt-4o-mini', TABLE), { input: 0.15, output: 0.6 });
        assert.deepEqual(priceFor('gpt-4o-2024-08-06', TABLE), { input: 2.5, output: 10 });
        assert.deepEqual(priceFor('claude-sonnet-4-5-special-2', TABLE), { input: 1, output: 2 });
        assert.deepEqual(priceFor('claude-sonnet-5-5', TABLE), { input: 3, output: 15 });
    });

    it('knows no price for other models, nor from an entry that is not a price', () => {
        assert.equal(priceFor('llama3.1', TABLE), undefined);
        assert.equal(priceFor('broken-model', TABLE), undefined);
    });
});

describe('estimates and formats', () => {
    it('prices input and output tokens per million', () => {
        const cost = estimateCost({ inputTokens: 1_000_000, outputTokens: 200_000 }, { input: 3, output: 15 });
        assert.ok(Math.abs(cost - 6) < 1e-9, String(cost));
    });

    it('formats token counts and dollars compactly', () => {
        assert.deepEqual([950, 1000, 12_345, 123_456, 2_500_000].map(formatTokens), ['950', '1k', '12.3k', '123k', '2.5M']);
        assert.deepEqual([0, 0.004, 1.234].map(formatCost), ['$0', '<$0.01', '$1.23']);
    });

    it('reads the running token count from a progress message', () => {
        assert.equal(tokensInProgress('code · 12 calls · 12,345 tokens · 3 candidates'), 12_345);
        assert.equal(tokensInProgress('starting'), undefined);
    });

    it('shows the cost only when the model has a price', () => {
        const stats = { calls: 3, inputTokens: 20_000, outputTokens: 4_100, seconds: 2 };
        assert.equal(usageText(stats, 'claude-sonnet-5-5', TABLE), '24.1k tokens · ≈$0.12');
        assert.equal(usageText(stats, 'llama3.1', TABLE), '24.1k tokens');
    });
});

describe('statusText', () => {
    it('says the progress account in words, with plurals', () => {
        const counts = { stage: 'writing plans', calls: 1, failedCalls: 0, tokens: 12_345, candidates: 1, tested: 1, passing: 1 };
        assert.equal(statusText(counts), 'writing plans · 1 candidate, 1 tested · 12.3k tokens');
        assert.equal(statusText({ ...counts, stage: 'testing', candidates: 3, tested: 0 }), 'testing · 3 candidates · 12.3k tokens');
    });
});
