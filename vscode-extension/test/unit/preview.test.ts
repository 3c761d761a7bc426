import { describe, expect, it } from 'vitest';

import { functionAt, indented } from '../../src/preview';

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
        expect(functionAt(SOURCE, 5)).toEqual({ start: 3, end: 6, indent: '' });
        expect(functionAt(SOURCE, 3)).toEqual({ start: 3, end: 6, indent: '' });
    });

    it('follows a header over several lines and a nested body', () => {
        expect(functionAt(SOURCE, 14)).toEqual({ start: 9, end: 15, indent: '    ' });
        expect(functionAt(SOURCE, 11)).toEqual({ start: 9, end: 15, indent: '    ' });
    });

    it('takes a one-line function, and nothing outside a function', () => {
        expect(functionAt(SOURCE, 16)).toEqual({ start: 16, end: 17, indent: '    ' });
        expect(functionAt(SOURCE, 0)).toBeUndefined();
        expect(functionAt(SOURCE, 15)).toBeUndefined();
        expect(functionAt(SOURCE, 17)).toBeUndefined();
    });
});

describe('indented', () => {
    it('indents non-blank lines and drops trailing space', () => {
        expect(indented('def f():\n\n    return 1\n\n', '    ')).toBe('    def f():\n\n        return 1');
    });
});
