import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { coveredLines, firstDifference, functionAt, indented, previewTop } from '../../src/preview.ts';

const SOURCE = `import math


def area(r: float) -> float:
    """Area of a circle."""
    ...


class Shapes:
    def perimeter(
        self,
        r: float,
    ) -> float:
        # a comment (with a bracket
        pass

    def other(self): return 1
x = 1
`.split('\n');

describe('functionAt', () => {
    it('finds the function from its body or its header, without trailing blank lines', () => {
        assert.deepEqual(functionAt(SOURCE, 5), { start: 3, end: 6, indent: '' });
        assert.deepEqual(functionAt(SOURCE, 3), { start: 3, end: 6, indent: '' });
    });

    it('follows a header over several lines and a nested body', () => {
        assert.deepEqual(functionAt(SOURCE, 14), { start: 9, end: 15, indent: '    ' });
        assert.deepEqual(functionAt(SOURCE, 11), { start: 9, end: 15, indent: '    ' });
    });

    it('takes a one-line function, and nothing outside a function', () => {
        assert.deepEqual(functionAt(SOURCE, 16), { start: 16, end: 17, indent: '    ' });
        for (const line of [0, 15, 17]) {
            assert.equal(functionAt(SOURCE, line), undefined, `line ${line}`);
        }
    });
});

describe('indented', () => {
    it('indents non-blank lines and drops trailing space', () => {
        assert.equal(indented('def f():\n\n    return 1\n\n', '    '), '    def f():\n\n        return 1');
    });
});

describe('firstDifference', () => {
    it('finds the first line that differs', () => {
        assert.equal(firstDifference('a\nb\nc\n', 'a\nB\nc\n'), 1);
        assert.equal(firstDifference('a\r\nb\r\n', 'a\nb\nx\n'), 2);
    });
    it('is the end of the shorter text when only lines were added', () => {
        assert.equal(firstDifference('a', 'a\nb'), 1);
    });
    it('is 0 for equal texts', () => {
        assert.equal(firstDifference('a\nb', 'a\nb'), 0);
    });
});

describe('revealing a preview below the picker', () => {
    it('counts the lines the picker covers from its rows and the line height', () => {
        assert.equal(coveredLines(2, 0, 14), 6); // (110 + 88 - 90) / 19, rounded up
        assert.equal(coveredLines(30, 0, 14), coveredLines(9, 0, 14)); // the list scrolls past 9 rows
        assert.equal(coveredLines(2, 1.5, 14), 6); // a line height below 8 multiplies the font size
    });

    it('scrolls so that the first change lands below the covered lines, when the file lets it', () => {
        assert.equal(previewTop(40, 10, 40), 28);
        assert.equal(previewTop(5, 10, 40), 0); // near the top of the file: nothing to scroll
        assert.equal(previewTop(40, 30, 20), 24); // a short editor: near its bottom
    });
});
