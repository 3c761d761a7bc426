/** The candidates of one search, best first: as they stream in, then as the server ranked them. */

import type { CandidateItem } from './protocol';

const HEADLINE_LENGTH = 90;

export class CandidateList {
    private readonly arrived = new Map<string, { item: CandidateItem; order: number }>();
    private ranked: CandidateItem[] | undefined;

    /** Take in candidates from a partial result (a candidate seen again replaces itself). */
    add(items: readonly CandidateItem[]): void {
        for (const item of items) {
            const order = this.arrived.get(item.id)?.order ?? this.arrived.size;
            this.arrived.set(item.id, { item, order });
        }
    }

    /** The server's final ranking, which wins over the order kept while streaming. */
    rank(items: readonly CandidateItem[]): void {
        this.ranked = [...items];
        this.add(items);
    }

    get items(): CandidateItem[] {
        if (this.ranked !== undefined) {
            return [...this.ranked];
        }
        return [...this.arrived.values()]
            .sort((a, b) => compare(a.item, b.item) || a.order - b.order)
            .map((entry) => entry.item);
    }

    find(id: string): CandidateItem | undefined {
        return this.arrived.get(id)?.item;
    }
}

/** Best first: passes every test, then the larger share of tests passed, then more passed. */
export function compare(a: CandidateItem, b: CandidateItem): number {
    return (
        Number(b.passesAll) - Number(a.passesAll) ||
        share(b) - share(a) ||
        b.passed - a.passed
    );
}

function share(item: CandidateItem): number {
    return item.tested && item.total > 0 ? item.passed / item.total : -1;
}

/**
 * What a picker row shows: an icon and the plan's first line; the tally; its warnings (side
 * effects, special-casing, in-process verdicts), then the first failure or the reason.
 */
export function describe(item: CandidateItem): { label: string; description: string; detail: string } {
    const icon = !item.tested ? '$(circle-large-outline)' : item.passesAll ? '$(pass)' : '$(error)';
    const flags = item.flags ?? [];
    const warning = flags.length > 0 ? ' $(warning)' : '';
    const reason = item.firstFailure ?? item.explanation ?? '';
    return {
        label: `${icon}${warning} ${shorten(item.headline || '(no plan)', HEADLINE_LENGTH)}`,
        description: item.tally,
        detail: flags.length > 0 ? `$(warning) ${flags.join(' · ')}${reason ? ` — ${reason}` : ''}` : reason,
    };
}

export function shorten(text: string, length: number): string {
    const line = text.split('\n', 1)[0].trim();
    return line.length <= length ? line : `${line.slice(0, length - 1)}…`;
}
