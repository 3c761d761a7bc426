import assert from 'node:assert/strict';
import { describe as group, it } from 'node:test';

import { CandidateList, compare, describe, shorten } from '../../src/candidates.ts';
import type { CandidateItem } from '../../src/protocol.ts';

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

const ids = (list: CandidateList): string[] => list.items.map((item) => item.id);

group('CandidateList while streaming', () => {
    it('orders passing candidates first, then by the share of tests passed, then by arrival', () => {
        const list = new CandidateList();
        list.add([candidate('c1', 1, 4)]);
        list.add([candidate('c2', 4, 4)]);
        list.add([candidate('c3', 3, 4), candidate('c4', 1, 4)]);
        list.add([candidate('c5', 0, 0, { tested: false, passesAll: false, tally: 'not tested' })]);
        assert.deepEqual(ids(list), ['c2', 'c3', 'c1', 'c4', 'c5']);
    });

    it('replaces a candidate seen again, keeping its place among equals', () => {
        const list = new CandidateList();
        list.add([candidate('c1', 1, 2), candidate('c2', 1, 2)]);
        list.add([candidate('c1', 1, 2, { tally: 'updated' })]);
        assert.deepEqual(
            list.items.map((item) => [item.id, item.tally]),
            [
                ['c1', 'updated'],
                ['c2', '1/2 tests'],
            ],
        );
    });

    it("takes the server's final ranking as it is, even against its own order", () => {
        const list = new CandidateList();
        list.add([candidate('c1', 2, 2), candidate('c2', 0, 2)]);
        list.rank([candidate('c2', 0, 2, { rank: 1 }), candidate('c1', 2, 2, { rank: 2 })]);
        assert.deepEqual(ids(list), ['c2', 'c1']);
        assert.equal(list.find('c1')?.rank, 2);
        assert.equal(list.find('nope'), undefined);
    });
});

group('compare', () => {
    it('puts more passed tests first when shares are equal', () => {
        assert.ok(compare(candidate('a', 2, 4), candidate('b', 4, 8)) > 0);
        assert.equal(compare(candidate('a', 4, 4), candidate('b', 4, 4)), 0);
    });
});

group('describe', () => {
    it('shows an icon by outcome, the plan headline, the tally and the first failure', () => {
        assert.deepEqual(describe(candidate('c1', 4, 4)), { label: '$(pass) plan of c1', description: '4/4 tests', detail: '' });
        assert.deepEqual(describe(candidate('c2', 1, 4)), {
            label: '$(error) plan of c2',
            description: '1/4 tests',
            detail: 'test_x: assert 1 == 2',
        });
        const untested = candidate('c3', 0, 0, { tested: false, passesAll: false, headline: '', explanation: 'no tests found' });
        assert.deepEqual(describe(untested), {
            label: '$(circle-large-outline) (no plan)',
            description: '0/0 tests',
            detail: 'no tests found',
        });
    });

    it('warns on the row about side effects, special-casing and in-process verdicts', () => {
        const flagged = candidate('c4', 3, 4, { flags: ['writes ~/leak.txt', 'may special-case the tests'] });
        assert.deepEqual(describe(flagged), {
            label: '$(error) $(warning) plan of c4',
            description: '3/4 tests',
            detail: '$(warning) writes ~/leak.txt · may special-case the tests — test_x: assert 1 == 2',
        });
    });

    it('keeps the first line of a long headline, shortened with an ellipsis', () => {
        assert.equal(shorten('first line\nsecond', 80), 'first line');
        assert.equal(shorten('x'.repeat(100), 10), `${'x'.repeat(9)}…`);
    });
});
