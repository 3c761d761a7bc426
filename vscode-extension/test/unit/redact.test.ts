import { describe, expect, it } from 'vitest';

import { REDACTED, redact } from '../../src/redact';

describe('redact', () => {
    it('replaces every occurrence of every secret', () => {
        const key = 'sk-ant-0123456789abcdef';
        const text = `Params: {"provider":"anthropic","key":"${key}"} and again ${key}`;
        expect(redact(text, [key, 'sk-openai-99999999'])).toBe(
            `Params: {"provider":"anthropic","key":"${REDACTED}"} and again ${REDACTED}`,
        );
    });

    it('leaves short values alone: they would match ordinary words', () => {
        expect(redact('the key is abc', ['abc'])).toBe('the key is abc');
    });
});
