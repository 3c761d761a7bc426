/** The extension's commands: Generate, Show Plan, Set API Key, Restart Server, and the picker. */

import * as vscode from 'vscode';
import type { Hover } from 'vscode-languageclient/node';

import { functionAt } from './preview';
import { RANKING_CHANGED, type RankingChangedParams, type Target } from './protocol';
import { Search, SHOW_LOG_COMMAND, showMarkdown, type Services } from './search';
import { askForKey, type ApiKeys } from './secrets';
import { SECTION, provider } from './settings';
import { PICK_COMMAND } from './status';
import { SEARCH_COMMAND } from './server';

export class Commands implements vscode.Disposable {
    private last: Search | undefined;
    private readonly services: Services;
    private readonly keys: ApiKeys;
    private readonly registrations: vscode.Disposable[];

    constructor(services: Services, keys: ApiKeys) {
        this.services = services;
        this.keys = keys;
        this.registrations = [
            vscode.commands.registerCommand(SEARCH_COMMAND, (target?: Target) => this.generate(target)),
            vscode.commands.registerCommand('plansearch.showPlan', () => this.showPlan()),
            vscode.commands.registerCommand('plansearch.setApiKey', () => this.setApiKey()),
            vscode.commands.registerCommand('plansearch.restartServer', () => services.server.restart()),
            vscode.commands.registerCommand(SHOW_LOG_COMMAND, () => services.log.show(true)),
            vscode.commands.registerCommand(PICK_COMMAND, () => this.pick()),
            services.server.onDidStart((client) =>
                client.onNotification(RANKING_CHANGED, (params: RankingChangedParams) => this.rankingChanged(params)),
            ),
        ];
    }

    /** Search at `target` (from the code action), or at the cursor of the active editor. */
    async generate(target?: Target): Promise<void> {
        const where = target ?? cursorTarget();
        if (where === undefined) {
            void vscode.window.showWarningMessage('PlanSearch: put the cursor in a Python function stub (or select a problem statement) first.');
            return;
        }
        const client = await this.services.server.ready();
        if (client === undefined) {
            return;
        }
        if (this.last?.running === false) {
            this.last.dispose(); // a search still running is left to finish, its picker usable
        }
        const search = new Search(this.services, where);
        this.last = search;
        await search.run(client);
    }

    /** The plan of the generated function the cursor is in (the server's hover over its
     * header), else one chosen from the last search's candidates. */
    async showPlan(): Promise<void> {
        const hover = await this.hoverAtCursor();
        if (hover !== undefined) {
            await showMarkdown(this.services.documents.set('/plan/at-cursor.md', hover));
            return;
        }
        const search = this.last;
        const items = search?.candidates.items ?? [];
        if (search === undefined || items.length === 0) {
            void vscode.window.showInformationMessage(
                'PlanSearch: no plan here. Put the cursor in a generated function, or run PlanSearch: Generate first.',
            );
            return;
        }
        const chosen = await vscode.window.showQuickPick(
            items.map((item, index) => ({ label: `${index + 1}. ${item.headline}`, description: item.tally, item })),
            { title: 'PlanSearch: Show Plan', placeHolder: 'The candidate whose plan to show' },
        );
        if (chosen !== undefined) {
            await search.showPlan(chosen.item);
        }
    }

    async setApiKey(): Promise<void> {
        const answer = await askForKey(provider(vscode.workspace.getConfiguration(SECTION)));
        if (answer === undefined) {
            return;
        }
        await this.keys.set(answer.provider, answer.key);
        await this.services.server.sendKeys();
        void vscode.window.showInformationMessage(
            answer.key ? `PlanSearch: the ${answer.provider} key is stored.` : `PlanSearch: the ${answer.provider} key is removed.`,
        );
    }

    pick(): void {
        if (this.last === undefined) {
            void vscode.window.showInformationMessage('PlanSearch: no search yet. Run PlanSearch: Generate in a function stub.');
            return;
        }
        this.last.pick();
    }

    dispose(): void {
        this.last?.dispose();
        this.registrations.forEach((registration) => registration.dispose());
    }

    private rankingChanged(params: RankingChangedParams): void {
        const best = params.candidates[0];
        this.services.log.info(
            `${params.qualname ?? 'a function'} re-ranked after ${params.testFile} changed${best ? `: best is now ${best.id} (${best.tally})` : ''}`,
        );
        if (this.last?.result?.runId === params.runId) {
            this.last.candidates.rank(params.candidates);
        }
    }

    private async hoverAtCursor(): Promise<string | undefined> {
        const editor = vscode.window.activeTextEditor;
        if (editor?.document.languageId !== 'python') {
            return undefined;
        }
        const cursor = editor.selection.active;
        const block = functionAt(editor.document.getText().split(/\r?\n/), cursor.line);
        const client = await this.services.server.ready();
        const hover = await client?.sendRequest<Hover | null>('textDocument/hover', {
            textDocument: { uri: editor.document.uri.toString() },
            position: block ? { line: block.start, character: block.indent.length } : cursor,
        });
        const contents = hover?.contents;
        return contents !== undefined && typeof contents === 'object' && 'kind' in contents ? contents.value : undefined;
    }
}

function cursorTarget(): Target | undefined {
    const editor = vscode.window.activeTextEditor;
    if (editor?.document.languageId !== 'python') {
        return undefined;
    }
    const { start, end, active } = editor.selection;
    const textDocument = { uri: editor.document.uri.toString() };
    return editor.selection.isEmpty
        ? { textDocument, position: { line: active.line, character: active.character } }
        : { textDocument, range: { start: { line: start.line, character: start.character }, end: { line: end.line, character: end.character } } };
}
