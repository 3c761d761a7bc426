import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { commandLine, installArgs, isMissingModule, wheelIn } from '../../src/install.ts';

describe('install', () => {
    it('tells a missing module from other failures', () => {
        assert.equal(isMissingModule("Traceback ...\nModuleNotFoundError: No module named 'plansearch_lsp'\n"), true);
        assert.equal(isMissingModule("ModuleNotFoundError: No module named 'pygls'"), true);
        assert.equal(isMissingModule('SyntaxError: invalid syntax'), false);
    });

    it('finds the newest plansearch wheel', () => {
        const files = ['README.md', 'plansearch-0.9.0-py3-none-any.whl', 'plansearch-0.10.0-py3-none-any.whl'];
        assert.equal(wheelIn(files), 'plansearch-0.10.0-py3-none-any.whl');
        assert.equal(wheelIn(['plansearch_other-1.0-py3-none-any.whl', 'notes.txt']), undefined);
    });

    it('says the command as a shell would take it', () => {
        const args = installArgs('/ext/bundled/plansearch-0.1.0-py3-none-any.whl');
        assert.equal(commandLine('/usr/bin/python3', args), '/usr/bin/python3 -m pip install /ext/bundled/plansearch-0.1.0-py3-none-any.whl');
        assert.equal(commandLine('/My Envs/python', ["it's"]), `'/My Envs/python' 'it'\\''s'`);
    });
});
