import { describe, expect, it } from 'vitest';

import { commandLine, installArgs, isMissingModule, wheelIn } from '../../src/install';

describe('install', () => {
    it('tells a missing module from other failures', () => {
        expect(isMissingModule("Traceback ...\nModuleNotFoundError: No module named 'plansearch_lsp'\n")).toBe(true);
        expect(isMissingModule("ModuleNotFoundError: No module named 'pygls'")).toBe(true);
        expect(isMissingModule('SyntaxError: invalid syntax')).toBe(false);
    });

    it('finds the newest plansearch wheel', () => {
        expect(wheelIn(['README.md', 'plansearch-0.9.0-py3-none-any.whl', 'plansearch-0.10.0-py3-none-any.whl'])).toBe(
            'plansearch-0.10.0-py3-none-any.whl',
        );
        expect(wheelIn(['plansearch_other-1.0-py3-none-any.whl', 'notes.txt'])).toBeUndefined();
    });

    it('says the command as a shell would take it', () => {
        const args = installArgs('/ext/bundled/plansearch-0.1.0-py3-none-any.whl');
        expect(commandLine('/usr/bin/python3', args)).toBe(
            '/usr/bin/python3 -m pip install /ext/bundled/plansearch-0.1.0-py3-none-any.whl',
        );
        expect(commandLine('/My Envs/python', ["it's"])).toBe(`'/My Envs/python' 'it'\\''s'`);
    });
});
