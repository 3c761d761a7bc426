import { describe as group, expect, it } from 'vitest';

import { CandidateList, compare, describe, shorten } from '../../src/candidates';
import type { CandidateItem } from '../../src/protocol';

function candidate(id: string, passed: number, total: number, extra: Partial<CandidateItem> = {}): CandidateItem {
    return {
        id,
        rank: null,
        headline: `plan of ${id}`,
        code: `def f():\n    return ${JSON.stringify(id)}\n`,
        tested: true,
        tally: `${passed}/${total} tests`,
        passed,
        total,
        passesAll: total > 0 && passed === total,
        firstFailure: passed < total ? 'test_x: assert 1 == 2' : null,
        explanation: null,
        plan: { observations: [], sketch: null, criticism: null, fixedSketch: null, pseudocode: null },
        ...extra,
    };
}

group('CandidateList while streaming', () => {
    it('orders passing candidates first, then by the share of tests passed, then by arrival', () => {
        const list = new CandidateList();
        list.add([candidate('c1', 1, 4)]);
        list.add([candidate('c2', 4, 4)]);
        list.add([candidate('c3', 3, 4), candidate('c4', 1, 4)]);
        list.add([candidate('c5', 0, 0, { tested: false, passesAll: false, tally: 'not tested' })]);
        expect(list.items.map((item) => item.id)).toEqual(['c2', 'c3', 'c1', 'c4', 'c5']);
    });

    it('replaces a candidate seen again, keeping its place among equals', () => {
        const list = new CandidateList();
        list.add([candidate('c1', 1, 2), candidate('c2', 1, 2)]);
        list.add([candidate('c1', 1, 2, { tally: 'updated' })]);
        expect(list.items.map((item) => [item.id, item.tally])).toEqual([
            ['c1', 'updated'],
            ['c2', '1/2 tests'],
        ]);
    });

    it("takes the server's final ranking as it is, even against its own order", () => {
        const list = new CandidateList();
        list.add([candidate('c1', 2, 2), candidate('c2', 0, 2)]);
        list.rank([candidate('c2', 0, 2, { rank: 1 }), candidate('c1', 2, 2, { rank: 2 })]);
        expect(list.items.map((item) => item.id)).toEqual(['c2', 'c1']);
        expect(list.find('c1')?.rank).toBe(2);
        expect(list.find('nope')).toBeUndefined();
    });
});

group('compare', () => {
    it('puts more passed tests first when shares are equal', () => {
        expect(compare(candidate('a', 2, 4), candidate('b', 4, 8))).toBeGreaterThan(0);
        expect(compare(candidate('a', 4, 4), candidate('b', 4, 4))).toBe(0);
    });
});

group('describe', () => {
    it('shows an icon by outcome, the plan headline, the tally and the first failure', () => {
        expect(describe(candidate('c1', 4, 4))).toEqual({ label: '$(pass) plan of c1', description: '4/4 tests', detail: '' });
        expect(describe(candidate('c2', 1, 4))).toEqual({
            label: '$(error) plan of c2',
            description: '1/4 tests',
            detail: 'test_x: assert 1 == 2',
        });
        const untested = candidate('c3', 0, 0, { tested: false, passesAll: false, headline: '', explanation: 'no tests found' });
        expect(describe(untested)).toMatchObject({ label: '$(circle-large-outline) (no plan)', detail: 'no tests found' });
    });

    it('keeps the first line of a long headline, shortened with an ellipsis', () => {
        expect(shorten('first line\nsecond', 80)).toBe('first line');
        expect(shorten('x'.repeat(100), 10)).toBe(`${'x'.repeat(9)}…`);
    });
});
