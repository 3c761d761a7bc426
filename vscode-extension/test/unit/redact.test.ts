import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { REDACTED, redact } from '../../src/redact.ts';

describe('redact', () => {
    it('replaces every occurrence of every secret', () => {
        const key = 'sk-ant-0123456789abcdef';
        const text = `Params: {"provider":"anthropic","key":"${key}"} and again ${key}`;
        assert.equal(
            redact(text, [key, 'sk-openai-99999999']),
            `Params: {"provider":"anthropic","key":"${REDACTED}"} and again ${REDACTED}`,
        );
    });

    it('leaves short values alone: they would match ordinary words', () => {
        assert.equal(redact('the key is abc', ['abc']), 'the key is abc');
    });
});
