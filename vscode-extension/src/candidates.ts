/**
 * The candidates of one search, best first and grouped by behaviour: as they stream in, then as
 * the server ranked them; what a picker row says; the fixes a failure suggests; how a search
 * sums up. Free of the `vscode` module, so it is tested on its own.
 */

import type { CandidateItem, Place } from './protocol';

const HEADLINE_LENGTH = 90;

export class CandidateList {
    private readonly arrived = new Map<string, { item: CandidateItem; order: number }>();
    private places = new Map<string, Place>();
    private ranked: CandidateItem[] | undefined;

    /** Take in candidates from a partial result (a candidate seen again replaces itself), and
     * every candidate's place in the ranking after it, when the server sends that. */
    add(items: readonly CandidateItem[], places?: readonly Place[] | null): void {
        for (const item of items) {
            const order = this.arrived.get(item.id)?.order ?? this.arrived.size;
            this.arrived.set(item.id, { item, order });
        }
        if (places) {
            this.places = new Map(places.map((place) => [place.id, place]));
        }
    }

    /** The server's final ranking, which wins over the order kept while streaming. */
    rank(items: readonly CandidateItem[]): void {
        this.ranked = [...items];
        this.places.clear();
        this.add(items);
    }

    /** Best first: the server's latest ranking (each candidate where it placed it last). */
    get items(): CandidateItem[] {
        if (this.ranked !== undefined) {
            return [...this.ranked];
        }
        return [...this.arrived.values()]
            .map((entry) => ({ ...entry, item: this.placed(entry.item) }))
            .sort((a, b) => byPlace(a.item, b.item) || compare(a.item, b.item) || a.order - b.order)
            .map((entry) => entry.item);
    }

    find(id: string): CandidateItem | undefined {
        const found = this.arrived.get(id)?.item;
        return found && this.placed(found);
    }

    private placed(item: CandidateItem): CandidateItem {
        const place = this.places.get(item.id);
        return place === undefined
            ? item
            : { ...item, rank: place.rank, cluster: place.cluster, clusterSize: place.clusterSize, representative: place.representative };
    }
}

function byPlace(a: CandidateItem, b: CandidateItem): number {
    if (a.rank === null || b.rank === null) {
        return 0;
    }
    return a.rank - b.rank;
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

/** Candidates that behave alike (the same results on every test): the best, then the others. */
export interface Group {
    best: CandidateItem;
    others: CandidateItem[];
}

/** `items` (best first) as groups of candidates that behave alike, best group first; an untested
 * candidate is a group of its own. */
export function groups(items: readonly CandidateItem[]): Group[] {
    const found: Group[] = [];
    const byCluster = new Map<number, Group>();
    for (const item of items) {
        const cluster = item.cluster ?? null;
        const known = cluster === null ? undefined : byCluster.get(cluster);
        if (known !== undefined) {
            known.others.push(item);
            continue;
        }
        const group: Group = { best: item, others: [] };
        found.push(group);
        if (cluster !== null) {
            byCluster.set(cluster, group);
        }
    }
    return found;
}

/** "12 candidates behave like this", or nothing for a candidate alone (or untested). */
export function alike(group: Group, groupCount: number): string {
    const size = group.others.length + 1;
    if (size > 1) {
        return `${size} candidates behave like this`;
    }
    return group.best.tested && groupCount > 1 && group.best.cluster != null ? 'behaves unlike the others' : '';
}

/**
 * What a picker row shows: an icon and the plan's first line; the tally; how many behave alike,
 * its warnings (side effects, special-casing, in-process verdicts), then the first failure or the
 * reason.
 */
export function describe(item: CandidateItem, behaviour = ''): { label: string; description: string; detail: string } {
    const icon = !item.tested ? '$(circle-large-outline)' : item.passesAll ? '$(pass)' : '$(error)';
    const flags = item.flags ?? [];
    const warning = flags.length > 0 ? ' $(warning)' : '';
    const reason = item.firstFailure ?? item.explanation ?? '';
    const parts = [behaviour, flags.length > 0 ? `$(warning) ${flags.join(' · ')}` : ''].filter((part) => part !== '');
    const head = parts.join(' · ');
    return {
        label: `${icon}${warning} ${shorten(item.headline || '(no plan)', HEADLINE_LENGTH)}`,
        description: item.tally,
        detail: head && reason ? `${head} — ${reason}` : head || reason,
    };
}

export function shorten(text: string, length: number): string {
    const line = text.split('\n', 1)[0].trim();
    return line.length <= length ? line : `${line.slice(0, length - 1)}…`;
}

/** A way out of a failed search that the picker and the notification offer. */
export type Fix = { kind: 'settings'; setting: string } | { kind: 'apiKey' } | { kind: 'log' };

const SETTING = /`?plansearch\.([a-z][A-Za-z]*)`?/g;
const ABOUT_KEYS = /\bAPI key\b|Set API Key|_API_KEY\b/i;

/**
 * The fixes a failure's message points to (the server names settings as `plansearch.baseUrl`):
 * setting a key when it is about a key, opening each setting it names (two at most), and the log.
 */
export function fixesFor(message: string): Fix[] {
    const fixes: Fix[] = [];
    if (ABOUT_KEYS.test(message)) {
        fixes.push({ kind: 'apiKey' });
    }
    const settings = new Set([...message.matchAll(SETTING)].map((match) => match[1]).filter((name) => name !== 'apiKey'));
    for (const setting of [...settings].slice(0, 2)) {
        fixes.push({ kind: 'settings', setting: `plansearch.${setting}` });
    }
    fixes.push({ kind: 'log' });
    return fixes;
}

/** A fix's button or row title. */
export function fixTitle(fix: Fix): string {
    switch (fix.kind) {
        case 'settings':
            return 'Open Settings';
        case 'apiKey':
            return 'Set API Key';
        case 'log':
            return 'Show Log';
    }
}

/** `1 candidate`, `2 candidates`. */
export function plural(count: number, noun: string): string {
    return `${count.toLocaleString('en')} ${noun}${count === 1 ? '' : 's'}`;
}

/** How a finished search sums up: "7 candidates, 4 pass every test (completed)". */
export function outcomeText(candidates: readonly CandidateItem[], tests: number, finishReason: string): string {
    const passing = candidates.filter((item) => item.passesAll).length;
    const passes = tests > 0 ? `, ${passing} ${passing === 1 ? 'passes' : 'pass'} every test` : '';
    return `${plural(candidates.length, 'candidate')}${passes} (${finishReason})`;
}
