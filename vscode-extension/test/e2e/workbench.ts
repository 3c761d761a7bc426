/** Driving the VS Code workbench in the browser: files, the cursor, commands, pickers, toasts. */

import type { Locator, Page } from 'playwright-core';

export const UI_MS = 20_000;

export class Workbench {
    readonly page: Page;

    constructor(page: Page) {
        this.page = page;
    }

    async openFile(name: string): Promise<void> {
        await this.page.locator('.explorer-folders-view .monaco-list-row', { hasText: new RegExp(`^${name.replaceAll('.', '\\.')}$`) }).dblclick();
        await this.page.locator('.tab.active', { hasText: name }).waitFor({ timeout: UI_MS });
    }

    /** Put the cursor at "line:column" (1-based) with Go to Line. */
    async goTo(lineColumn: string): Promise<void> {
        await this.page.keyboard.press('Control+g');
        await this.quickInput().locator('input').waitFor({ timeout: UI_MS });
        await this.page.keyboard.type(lineColumn);
        // an Enter taken before the picker has read the typed position is lost (a CI run)
        const line = lineColumn.split(':')[0];
        await this.quickRow(new RegExp(`go to line ${line}\\b`)).waitFor({ timeout: UI_MS });
        await this.page.keyboard.press('Enter');
        await this.quickInput().waitFor({ state: 'hidden', timeout: UI_MS });
    }

    /** Open the code-action menu at the cursor and wait for the action titled `title`. The
     * menu asks the language server, which may not have answered the first time the keys are
     * pressed (the light bulb comes later): the keys are pressed again, a few times. */
    async codeAction(title: string): Promise<Locator> {
        const action = this.page.locator('.action-widget .monaco-list-row', { hasText: title });
        for (let attempt = 0; attempt < 4; attempt++) {
            await this.page.keyboard.press('Control+.');
            try {
                await action.waitFor({ timeout: UI_MS / 4 });
                return action;
            } catch {
                await this.page.keyboard.press('Escape');
            }
        }
        await action.waitFor({ timeout: UI_MS });
        return action;
    }

    /** Run a command from the palette by its full title. */
    async runCommand(title: string): Promise<void> {
        await this.page.keyboard.press('F1');
        await this.quickInput().locator('input').waitFor({ timeout: UI_MS });
        await this.page.keyboard.type(title);
        await this.quickRow(title).first().waitFor({ timeout: UI_MS });
        await this.page.keyboard.press('Enter');
    }

    quickInput(): Locator {
        return this.page.locator('.quick-input-widget');
    }

    quickTitle(): Locator {
        return this.quickInput().locator('.quick-input-title');
    }

    quickRow(text: string | RegExp): Locator {
        return this.quickInput().locator('.monaco-list-row', { hasText: text });
    }

    quickRows(): Locator {
        return this.quickInput().locator('.monaco-list-row');
    }

    toast(text: string | RegExp): Locator {
        return this.page.locator('.notifications-toasts .notification-toast', { hasText: text });
    }

    statusItem(text: string | RegExp): Locator {
        return this.page.locator('.statusbar-item', { hasText: text });
    }

    /** The line holding `text` in the active editor (not in a diff). */
    line(text: string): Locator {
        return this.page
            .locator('.editor-instance')
            .filter({ hasNot: this.page.locator('.monaco-diff-editor') })
            .locator('.view-lines .view-line', { hasText: text })
            .first();
    }

    /** The tab of a candidate's preview diff. */
    previewTab(name: string): Locator {
        return this.page.locator('.tab', { hasText: new RegExp(`${name}: now ↔ candidate \\w+`) });
    }

    async save(): Promise<void> {
        await this.page.keyboard.press('Control+s');
        await this.page.locator('.tab.active.dirty').waitFor({ state: 'detached', timeout: UI_MS });
    }
}
