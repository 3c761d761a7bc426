/**
 * The extension's settings (section `plansearch`), read through `inspect` so that only values a
 * person set reach the server: the server's own defaults, environment and config file apply to
 * the rest. Free of the `vscode` module, so it is tested on its own.
 */

import type { PriceTable } from './cost';

export const SECTION = 'plansearch';

/**
 * Settings the server takes, declared in `plansearch/config.py` (and the server's own in
 * `server/options.py`); the rest are the extension's own. `tests/test_settings_declared_once.py`
 * holds this list and `package.json` to that declaration.
 */
export const SERVER_SETTINGS = [
    'provider', 'model', 'baseUrl', 'strategy', 'budget', 'concurrency', 'maxCalls',
    'maxOutputTokens', 'maxCandidates', 'deadline', 'direct', 'timeout', 'maxRetries', 'cache',
    'runTests', 'workspaceTests', 'testsFile', 'generateTests', 'stopWhenPassing', 'testTimeout',
    'candidateTimeout', 'memoryMb', 'isolation', 'storePath', 'watchTests',
] as const;

/** The part of `vscode.WorkspaceConfiguration` this module reads. */
export interface Settings {
    get<T>(key: string): T | undefined;
    inspect<T>(key: string): { globalValue?: T; workspaceValue?: T; workspaceFolderValue?: T } | undefined;
}

/** The value a person set at the narrowest level; unset, null and blank strings are none. */
export function explicitValue(settings: Settings, key: string): unknown {
    const levels = settings.inspect<unknown>(key);
    const value = levels?.workspaceFolderValue ?? levels?.workspaceValue ?? levels?.globalValue;
    if (value === null || (typeof value === 'string' && value.trim() === '')) {
        return undefined;
    }
    return typeof value === 'string' ? value.trim() : value;
}

/**
 * The `plansearch` section as the server gets it (initialization options and
 * `workspace/configuration`): the values set, and the command its code action runs.
 */
export function serverSettings(settings: Settings, codeActionCommand: string): Record<string, unknown> {
    const section: Record<string, unknown> = { codeActionCommand };
    for (const key of SERVER_SETTINGS) {
        const value = explicitValue(settings, key);
        if (value !== undefined) {
            section[key] = value;
        }
    }
    return section;
}

/** The interpreter set in `plansearch.interpreter`, with `~` and `${workspaceFolder}` expanded. */
export function interpreterSetting(settings: Settings, home: string, folder: string | undefined): string | undefined {
    const value = explicitValue(settings, 'interpreter');
    if (typeof value !== 'string') {
        return undefined;
    }
    let path = value.replace(/^~(?=$|\/)/, home);
    if (folder !== undefined) {
        path = path.replaceAll('${workspaceFolder}', folder);
    }
    return path;
}

export function priceTable(settings: Settings): PriceTable {
    return settings.get<PriceTable>('pricing') ?? {};
}

/** The provider searches use (whose key the server needs). */
export function provider(settings: Settings): string {
    return settings.get<string>('provider') ?? 'anthropic';
}
