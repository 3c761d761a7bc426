import assert from 'node:assert/strict';
import { describe as group, it } from 'node:test';

import {
    alike,
    CandidateList,
    compare,
    describe,
    fixesFor,
    groups,
    outcomeText,
    plural,
    shorten,
} from '../../src/candidates.ts';
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

group('grouping by behaviour', () => {
    it('regroups what streamed in by the latest ranking the server sent', () => {
        const list = new CandidateList();
        list.add([candidate('direct', 2, 2, { rank: 1, cluster: 1, clusterSize: 1, representative: true })]);
        list.add([candidate('c1', 0, 2, { rank: 2, cluster: 2, clusterSize: 1, representative: true })]);
        list.add(
            [candidate('c2', 2, 2, { rank: 2 })],
            [
                { id: 'direct', rank: 1, cluster: 1, clusterSize: 2, representative: true },
                { id: 'c2', rank: 2, cluster: 1, clusterSize: 2, representative: false },
                { id: 'c1', rank: 3, cluster: 2, clusterSize: 1, representative: true },
            ],
        );
        assert.deepEqual(ids(list), ['direct', 'c2', 'c1']);
        assert.equal(list.find('c1')?.rank, 3);
        const found = groups(list.items);
        assert.deepEqual(
            found.map((g) => [g.best.id, g.others.map((o) => o.id)]),
            [
                ['direct', ['c2']],
                ['c1', []],
            ],
        );
        assert.equal(alike(found[0], found.length), '2 candidates behave like this');
        assert.equal(alike(found[1], found.length), 'behaves unlike the others');
    });

    it('keeps untested candidates each on a row of its own', () => {
        const untested = { tested: false, passesAll: false, cluster: null, clusterSize: 0 };
        const found = groups([candidate('a', 0, 0, untested), candidate('b', 0, 0, untested)]);
        assert.equal(found.length, 2);
        assert.equal(alike(found[0], 2), '');
    });

    it('says on the row how many behave alike, before the warnings and the failure', () => {
        const row = describe(candidate('c4', 3, 4, { flags: ['may special-case the tests'] }), '3 candidates behave like this');
        assert.equal(row.detail, '3 candidates behave like this · $(warning) may special-case the tests — test_x: assert 1 == 2');
    });
});

group('fixesFor', () => {
    it('opens the setting an unreachable endpoint names, and the log', () => {
        const message = 'Cannot reach the Anthropic API at http://127.0.0.1:9. Set it with `plansearch.baseUrl` or ANTHROPIC_BASE_URL.';
        assert.deepEqual(fixesFor(message), [{ kind: 'settings', setting: 'plansearch.baseUrl' }, { kind: 'log' }]);
    });

    it('sets a key first when the message is about one', () => {
        const message = 'No API key for the Anthropic API. Set one with the command "PlanSearch: Set API Key". Or `plansearch.provider` = openai `plansearch.baseUrl` = http://localhost:11434/v1 `plansearch.model` = llama3.1';
        assert.deepEqual(fixesFor(message), [
            { kind: 'apiKey' },
            { kind: 'settings', setting: 'plansearch.provider' },
            { kind: 'settings', setting: 'plansearch.baseUrl' },
            { kind: 'log' },
        ]);
        assert.deepEqual(fixesFor('No candidate: 8 replies could not be parsed; see the log.'), [{ kind: 'log' }]);
    });
});

group('the progress account', () => {
    it('says the same counts in words, with plurals', () => {
        assert.equal(plural(2, 'candidate'), '2 candidates');
        const done = [candidate('a', 2, 2), candidate('b', 1, 2)];
        assert.equal(outcomeText(done, 2, 'completed'), '2 candidates, 1 passes every test (completed)');
        assert.equal(outcomeText(done.slice(0, 1), 0, 'cancelled'), '1 candidate (cancelled)');
    });
});
