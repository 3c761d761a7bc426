import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { explicitValue, interpreterSetting, priceTable, provider, serverSettings, type Settings } from '../../src/settings.ts';

type Levels = { globalValue?: unknown; workspaceValue?: unknown; workspaceFolderValue?: unknown };

/** Settings as VS Code reports them: `levels` set by a person, `defaults` from package.json. */
function settings(levels: Record<string, Levels>, defaults: Record<string, unknown> = {}): Settings {
    return {
        get: <T>(key: string) => {
            const set = levels[key];
            return (set?.workspaceFolderValue ?? set?.workspaceValue ?? set?.globalValue ?? defaults[key]) as T | undefined;
        },
        inspect: <T>(key: string) => levels[key] as { globalValue?: T; workspaceValue?: T; workspaceFolderValue?: T } | undefined,
    };
}

describe('serverSettings', () => {
    it('sends only what a person set, and the command of the code action', () => {
        const values = settings(
            {
                provider: { globalValue: 'openai' },
                budget: { globalValue: 'full', workspaceValue: 'quick' },
                maxCalls: { workspaceFolderValue: 40, globalValue: 10 },
                model: { globalValue: '  ' },
                deadline: { globalValue: null },
                interpreter: { globalValue: '/usr/bin/python3' },
                pricing: { globalValue: { x: { input: 1, output: 1 } } },
            },
            { provider: 'anthropic', strategy: 'plansearch' },
        );
        assert.deepEqual(serverSettings(values, 'plansearch.search'), {
            codeActionCommand: 'plansearch.search',
            provider: 'openai',
            budget: 'quick',
            maxCalls: 40,
        });
    });

    it('trims strings a person set', () => {
        const values = settings({ baseUrl: { globalValue: ' http://127.0.0.1:8080/v1 ' } });
        assert.equal(explicitValue(values, 'baseUrl'), 'http://127.0.0.1:8080/v1');
        assert.equal(explicitValue(settings({}), 'baseUrl'), undefined);
    });
});

describe('interpreterSetting', () => {
    it('expands ~ and ${workspaceFolder}', () => {
        const inHome = settings({ interpreter: { globalValue: '~/venv/bin/python' } });
        assert.equal(interpreterSetting(inHome, '/home/ann', undefined), '/home/ann/venv/bin/python');
        const inFolder = settings({ interpreter: { workspaceValue: '${workspaceFolder}/.venv/bin/python' } });
        assert.equal(interpreterSetting(inFolder, '/home/ann', '/work/project'), '/work/project/.venv/bin/python');
        const otherHome = settings({ interpreter: { globalValue: '~ann/python' } });
        assert.equal(interpreterSetting(otherHome, '/home/me', undefined), '~ann/python');
    });

    it('is undefined when unset or blank (the Python extension decides then)', () => {
        assert.equal(interpreterSetting(settings({}), '/home/ann', undefined), undefined);
        assert.equal(interpreterSetting(settings({ interpreter: { globalValue: '' } }), '/home/ann', undefined), undefined);
    });
});

describe('the rest', () => {
    it('reads the price table and the provider, with their defaults', () => {
        assert.deepEqual(priceTable(settings({})), {});
        assert.deepEqual(priceTable(settings({}, { pricing: { m: { input: 1, output: 2 } } })), { m: { input: 1, output: 2 } });
        assert.equal(provider(settings({})), 'anthropic');
        assert.equal(provider(settings({ provider: { globalValue: 'openai' } })), 'openai');
    });
});
