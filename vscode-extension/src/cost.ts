/** Tokens and their estimated cost, for the status bar. */

import type { ProgressCounts, SearchStats } from './protocol';

/** US dollars per million tokens. */
export interface Price {
    input: number;
    output: number;
}

/** Prices by model id or model id prefix. */
export type PriceTable = Readonly<Record<string, Price>>;

/** The price of `model`: its own entry, else the longest prefix of it that has one. */
export function priceFor(model: string, table: PriceTable): Price | undefined {
    let best: string | undefined;
    for (const [key, price] of Object.entries(table)) {
        if (isPrice(price) && model.startsWith(key) && (best === undefined || key.length > best.length)) {
            best = key;
        }
    }
    return best === undefined ? undefined : table[best];
}

export function estimateCost(stats: Pick<SearchStats, 'inputTokens' | 'outputTokens'>, price: Price): number {
    return (stats.inputTokens * price.input + stats.outputTokens * price.output) / 1_000_000;
}

/** 950 -> "950"; 12_345 -> "12.3k"; 2_500_000 -> "2.5M". */
export function formatTokens(count: number): string {
    if (count < 1000) {
        return String(count);
    }
    if (count < 1_000_000) {
        return `${trim(count / 1000)}k`;
    }
    return `${trim(count / 1_000_000)}M`;
}

export function formatCost(dollars: number): string {
    if (dollars === 0) {
        return '$0';
    }
    return dollars < 0.01 ? '<$0.01' : `$${dollars.toFixed(2)}`;
}

/** The running token count in a progress message ("code · 3 calls · 1,234 tokens · ..."). */
export function tokensInProgress(message: string): number | undefined {
    const match = /([\d,]+) tokens/.exec(message);
    return match ? Number(match[1].replaceAll(',', '')) : undefined;
}

/** "24.1k tokens · ≈$0.12", or just the tokens when the model has no price. */
export function usageText(stats: SearchStats, model: string, table: PriceTable): string {
    const tokens = `${formatTokens(stats.inputTokens + stats.outputTokens)} tokens`;
    const price = priceFor(model, table);
    return price ? `${tokens} · ≈${formatCost(estimateCost(stats, price))}` : tokens;
}

function trim(value: number): string {
    return String(Number(value.toFixed(value >= 100 ? 0 : value >= 10 ? 1 : 2)));
}

function isPrice(value: unknown): value is Price {
    const price = value as Partial<Price> | null;
    return typeof price?.input === 'number' && typeof price.output === 'number';
}

/** The status bar's share of a running search's progress account: the same counts as its
 * notification and picker, fewer of them. */
export function statusText(counts: ProgressCounts): string {
    const tested = counts.tested > 0 ? `, ${counts.tested} tested` : '';
    const candidates = `${counts.candidates} candidate${counts.candidates === 1 ? '' : 's'}`;
    return `${counts.stage} · ${candidates}${tested} · ${formatTokens(counts.tokens)} tokens`;
}
