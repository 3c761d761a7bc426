import { describe, expect, it } from 'vitest';

import { explicitValue, interpreterSetting, priceTable, provider, serverSettings, type Settings } from '../../src/settings';

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
        expect(serverSettings(values, 'plansearch.search')).toEqual({
            codeActionCommand: 'plansearch.search',
            provider: 'openai',
            budget: 'quick',
            maxCalls: 40,
        });
    });

    it('trims strings a person set', () => {
        expect(explicitValue(settings({ baseUrl: { globalValue: ' http://127.0.0.1:8080/v1 ' } }), 'baseUrl')).toBe(
            'http://127.0.0.1:8080/v1',
        );
        expect(explicitValue(settings({}), 'baseUrl')).toBeUndefined();
    });
});

describe('interpreterSetting', () => {
    it('expands ~ and ${workspaceFolder}', () => {
        expect(interpreterSetting(settings({ interpreter: { globalValue: '~/venv/bin/python' } }), '/home/ann', undefined)).toBe(
            '/home/ann/venv/bin/python',
        );
        const inFolder = settings({ interpreter: { workspaceValue: '${workspaceFolder}/.venv/bin/python' } });
        expect(interpreterSetting(inFolder, '/home/ann', '/work/project')).toBe('/work/project/.venv/bin/python');
        expect(interpreterSetting(settings({ interpreter: { globalValue: '~ann/python' } }), '/home/me', undefined)).toBe('~ann/python');
    });

    it('is undefined when unset or blank (the Python extension decides then)', () => {
        expect(interpreterSetting(settings({}), '/home/ann', undefined)).toBeUndefined();
        expect(interpreterSetting(settings({ interpreter: { globalValue: '' } }), '/home/ann', undefined)).toBeUndefined();
    });
});

describe('the rest', () => {
    it('reads the price table and the provider, with their defaults', () => {
        expect(priceTable(settings({}))).toEqual({});
        expect(priceTable(settings({}, { pricing: { m: { input: 1, output: 2 } } }))).toEqual({ m: { input: 1, output: 2 } });
        expect(provider(settings({}))).toBe('anthropic');
        expect(provider(settings({ provider: { globalValue: 'openai' } }))).toBe('openai');
    });
});
