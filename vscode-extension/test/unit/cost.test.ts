import { describe, expect, it } from 'vitest';

import { estimateCost, formatCost, formatTokens, priceFor, tokensInProgress, usageText } from '../../src/cost';

const TABLE = {
    'claude-sonnet': { input: 3, output: 15 },
    'claude-sonnet-4-5-special': { input: 1, output: 2 },
    'gpt-4o': { input: 2.5, output: 10 },
    'gpt-4o-mini': { input: 0.15, output: 0.6 },
    broken: { input: 'free' } as unknown as { input: number; output: number },
};

describe('priceFor', () => {
    it('takes the exact entry, else the longest prefix', () => {
        expect(priceFor('gpt-4o-mini', TABLE)).toEqual({ input: 0.15, output: 0.6 });
        expect(priceFor('gpt-4o-2024-08-06', TABLE)).toEqual({ input: 2.5, output: 10 });
        expect(priceFor('claude-sonnet-4-5-special-2', TABLE)).toEqual({ input: 1, output: 2 });
        expect(priceFor('claude-sonnet-5-5', TABLE)).toEqual({ input: 3, output: 15 });
    });

    it('knows no price for other models, nor from an entry that is not a price', () => {
        expect(priceFor('llama3.1', TABLE)).toBeUndefined();
        expect(priceFor('broken-model', TABLE)).toBeUndefined();
    });
});

describe('estimates and formats', () => {
    it('prices input and output tokens per million', () => {
        expect(estimateCost({ inputTokens: 1_000_000, outputTokens: 200_000 }, { input: 3, output: 15 })).toBeCloseTo(6);
    });

    it('formats token counts and dollars compactly', () => {
        expect(formatTokens(950)).toBe('950');
        expect(formatTokens(1000)).toBe('1k');
        expect(formatTokens(12_345)).toBe('12.3k');
        expect(formatTokens(123_456)).toBe('123k');
        expect(formatTokens(2_500_000)).toBe('2.5M');
        expect(formatCost(0)).toBe('$0');
        expect(formatCost(0.004)).toBe('<$0.01');
        expect(formatCost(1.234)).toBe('$1.23');
    });

    it('reads the running token count from a progress message', () => {
        expect(tokensInProgress('code · 12 calls · 12,345 tokens · 3 candidates')).toBe(12_345);
        expect(tokensInProgress('starting')).toBeUndefined();
    });

    it('shows the cost only when the model has a price', () => {
        const stats = { calls: 3, inputTokens: 20_000, outputTokens: 4_100, seconds: 2 };
        expect(usageText(stats, 'claude-sonnet-5-5', TABLE)).toBe('24.1k tokens · ≈$0.12');
        expect(usageText(stats, 'llama3.1', TABLE)).toBe('24.1k tokens');
    });
});
