import { describe, expect, it } from 'vitest';

import { fenced, planMarkdown } from '../../src/planView';
import type { CandidateItem } from '../../src/protocol';

const ITEM: CandidateItem = {
    id: 'c7',
    rank: 2,
    headline: 'Sort, then sweep',
    code: 'def merge(xs):\n    return sorted(xs)\n',
    tested: true,
    tally: '3/4 of test_intervals.py',
    passed: 3,
    total: 4,
    passesAll: false,
    firstFailure: 'test_intervals.py::test_touching: assert [(1, 3)] == [(1, 2), (2, 3)]',
    explanation: 'fails 1 trusted test',
    plan: {
        observations: ['Sorting by start helps', ' Touching intervals merge '],
        sketch: 'Sort, then sweep.',
        criticism: null,
        fixedSketch: 'Sort, then sweep, merging touching ones.',
        pseudocode: 'for x in xs:\n    ```odd```',
    },
};

describe('planMarkdown', () => {
    it('has the tests, the plan in its order, and the code', () => {
        const page = planMarkdown(ITEM, 'merge');
        expect(page.startsWith('# merge: candidate c7\n\nRank 2.\n\n## Tests\n\n- Fails: 3/4 of test_intervals.py')).toBe(true);
        expect(page).toContain('First failure:\n\n```text\ntest_intervals.py::test_touching');
        expect(page).toContain('## Observations\n\n- Sorting by start helps\n- Touching intervals merge');
        expect(page).not.toContain('## Criticism');
        const order = ['## Sketch', '## Fixed sketch', '## Pseudocode', '## Code'].map((title) => page.indexOf(title));
        expect(order).toEqual([...order].sort((a, b) => a - b));
        expect(page).toContain('````text\nfor x in xs:\n    ```odd```\n````');
        expect(page).toContain('```python\ndef merge(xs):\n    return sorted(xs)\n```');
    });

    it('says when a candidate was neither ranked nor tested', () => {
        const page = planMarkdown({ ...ITEM, rank: null, tested: false }, 'merge');
        expect(page).toContain('Not ranked.\n\n## Tests\n\nNot tested.');
    });

    it('fences text longer than any backtick run inside it', () => {
        expect(fenced('a ``` b', 'md')).toBe('````md\na ``` b\n````');
    });
});
