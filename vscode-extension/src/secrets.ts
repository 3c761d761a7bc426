/**
 * API keys in VS Code's secret storage, one per provider. A key is never written to settings,
 * the output channel or a log: it goes from the input box to secret storage and to the server.
 */

import * as vscode from 'vscode';

export const PROVIDERS = ['anthropic', 'openai'] as const;
export type Provider = (typeof PROVIDERS)[number];

const STORAGE_PREFIX = 'plansearch.apiKey.';

export class ApiKeys implements vscode.Disposable {
    private readonly keys = new Map<Provider, string>();
    private readonly changed = new vscode.EventEmitter<void>();
    private readonly watch: vscode.Disposable;
    /** Fires when a key was set or removed, here or in another window. */
    readonly onDidChange = this.changed.event;
    private readonly storage: vscode.SecretStorage;

    constructor(storage: vscode.SecretStorage) {
        this.storage = storage;
        this.watch = storage.onDidChange(async (event) => {
            if (event.key.startsWith(STORAGE_PREFIX)) {
                await this.load();
                this.changed.fire();
            }
        });
    }

    async load(): Promise<void> {
        for (const provider of PROVIDERS) {
            const key = await this.storage.get(STORAGE_PREFIX + provider);
            if (key) {
                this.keys.set(provider, key);
            } else {
                this.keys.delete(provider);
            }
        }
    }

    /** Store `key` for `provider`; an empty key removes it. */
    async set(provider: Provider, key: string): Promise<void> {
        if (key) {
            this.keys.set(provider, key);
            await this.storage.store(STORAGE_PREFIX + provider, key);
        } else {
            this.keys.delete(provider);
            await this.storage.delete(STORAGE_PREFIX + provider);
        }
    }

    /** Every key held, by provider. */
    entries(): [Provider, string][] {
        return [...this.keys.entries()];
    }

    /** The key values, for scrubbing logs. */
    values(): string[] {
        return [...this.keys.values()];
    }

    dispose(): void {
        this.watch.dispose();
        this.changed.dispose();
    }
}

/** Ask which provider and which key; undefined when the person gave up. */
export async function askForKey(current: string): Promise<{ provider: Provider; key: string } | undefined> {
    const ordered = [...PROVIDERS].sort((a, b) => Number(b === current) - Number(a === current));
    const provider = (await vscode.window.showQuickPick(ordered, {
        title: 'PlanSearch: Set API Key',
        placeHolder: 'The provider the key is for',
    })) as Provider | undefined;
    if (provider === undefined) {
        return undefined;
    }
    const key = await vscode.window.showInputBox({
        title: `PlanSearch: API key for ${provider}`,
        prompt: "Kept in VS Code's secret storage and handed to the PlanSearch server. Leave empty to remove the key.",
        password: true,
        ignoreFocusOut: true,
    });
    return key === undefined ? undefined : { provider, key: key.trim() };
}
