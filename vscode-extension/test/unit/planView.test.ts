import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { fenced, planMarkdown } from '../../src/planView.ts';
import type { CandidateItem } from '../../src/protocol.ts';

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
        assert.ok(page.startsWith('# merge: candidate c7\n\nRank 2.\n\n## Tests\n\n- Fails: 3/4 of test_intervals.py\n- fails 1 trusted test'), page);
        assert.ok(page.includes('First failure:\n\n```text\ntest_intervals.py::test_touching'), page);
        assert.ok(page.includes('## Observations\n\n- Sorting by start helps\n- Touching intervals merge\n'), page);
        assert.ok(!page.includes('## Criticism'));
        const order = ['## Sketch', '## Fixed sketch', '## Pseudocode', '## Code'].map((title) => page.indexOf(title));
        assert.ok(order[0] > 0);
        assert.deepEqual(order, [...order].sort((a, b) => a - b));
        assert.ok(page.includes('````text\nfor x in xs:\n    ```odd```\n````'), page);
        assert.ok(page.endsWith('```python\ndef merge(xs):\n    return sorted(xs)\n```\n'), page);
    });

    it('shows the code as it lands in the file when the server said', () => {
        const landed = 'def merge(xs: list) -> list:\n    """Merge."""\n    return sorted(xs)\n';
        const page = planMarkdown(ITEM, 'merge', landed);
        assert.ok(page.endsWith(`## Code, as it lands in the file\n\n\`\`\`python\n${landed}\`\`\`\n`), page);
    });

    it('says when a candidate was neither ranked nor tested', () => {
        const page = planMarkdown({ ...ITEM, rank: null, tested: false }, 'merge');
        assert.ok(page.includes('Not ranked.\n\n## Tests\n\nNot tested.'), page);
    });

    it('fences text longer than any backtick run inside it', () => {
        assert.equal(fenced('a ``` b', 'md'), '````md\na ``` b\n````');
    });
});
