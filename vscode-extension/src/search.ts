/**
 * One search: the `plansearch/generate` request with its progress notification (whose Cancel
 * cancels the request), candidates streaming into the picker, previews, and applying a choice.
 */

import { randomUUID } from 'node:crypto';
import * as vscode from 'vscode';
import {
    ProgressType,
    WorkDoneProgress,
    type LanguageClient,
    type WorkDoneProgressBegin,
    type WorkDoneProgressEnd,
    type WorkDoneProgressReport,
} from 'vscode-languageclient/node';

import { CandidateList } from './candidates';
import { tokensInProgress, type PriceTable } from './cost';
import type { RedactingLog } from './log';
import { CandidatePicker } from './picker';
import { planMarkdown } from './planView';
import { firstDifference, functionAt, indented } from './preview';
import {
    APPLY,
    GENERATE,
    PREVIEW,
    type ApplyParams,
    type ApplyResult,
    type CandidateItem,
    type GenerateParams,
    type GenerateResult,
    type PartialResult,
    type PreviewParams,
    type PreviewResult,
    type Target,
} from './protocol';
import type { Server } from './server';
import type { SearchStatus } from './status';
import { SCHEME, type VirtualDocuments } from './virtualDocs';

export interface Services {
    server: Server;
    status: SearchStatus;
    documents: VirtualDocuments;
    log: RedactingLog;
    prices(): PriceTable;
}

const APPLY_AGAIN = 'Apply to the current text';
const CHOOSE = 'Choose…';
const SET_KEY = 'Set API Key';

export class Search implements vscode.Disposable {
    readonly candidates = new CandidateList();
    result: GenerateResult | undefined;
    /** Why the search failed, if it did. */
    private failure: string | undefined;
    private label: string;
    private stage = 'starting';
    private readonly cancellation = new vscode.CancellationTokenSource();
    private readonly picker: CandidatePicker;
    private chosen: CandidateItem | undefined;
    /** Known from the first partial result, before the search ends. */
    private searchId: string | undefined;
    /** Counts previews asked for: an answer that is no longer the latest is dropped. */
    private previews = 0;
    private report: (message: string) => void = () => undefined;
    private readonly services: Services;
    private readonly target: Target;

    constructor(services: Services, target: Target) {
        this.services = services;
        this.target = target;
        this.label = fileName(target.textDocument.uri);
        this.picker = new CandidatePicker({
            preview: (item) => void this.preview(item),
            choose: (item) => void this.choose(item),
            showPlan: (item) => void this.showPlan(item),
        });
        this.picker.onDidHide(() => void closePreviews());
    }

    get running(): boolean {
        return this.result === undefined && this.failure === undefined;
    }

    /** Run to the end (or the cancellation); never throws: failures are shown. */
    async run(client: LanguageClient): Promise<void> {
        const params: GenerateParams = { ...this.target, workDoneToken: randomUUID(), partialResultToken: randomUUID() };
        const subscriptions = [
            client.onProgress(WorkDoneProgress.type, params.workDoneToken, (value) => this.progress(value)),
            client.onProgress(new ProgressType<PartialResult>(), params.partialResultToken, (value) => this.partial(value)),
        ];
        const request = client.sendRequest<GenerateResult>(GENERATE, params, this.cancellation.token);
        this.services.status.running(this.label, 0);
        this.picker.show(this.title(), [], true);
        void vscode.window.withProgress(
            { location: vscode.ProgressLocation.Notification, title: 'PlanSearch', cancellable: true },
            async (progress, token) => {
                token.onCancellationRequested(() => this.stop());
                this.report = (message) => progress.report({ message });
                this.report(this.stage);
                await request.catch(() => undefined);
            },
        );
        try {
            this.finish(await request);
        } catch (error) {
            void this.fail(error);
        } finally {
            subscriptions.forEach((subscription) => subscription.dispose());
        }
    }

    /** Cancel the request: the server stops the search and answers with what it kept. */
    stop(): void {
        this.services.log.info(`stopping the search for ${this.label}`);
        this.cancellation.cancel();
    }

    /** Show the picker again (after it was closed). */
    pick(): void {
        if (this.failure !== undefined) {
            void vscode.window.showErrorMessage(`PlanSearch: the last search failed: ${this.failure}`);
        } else if (!this.picker.visible) {
            this.picker.show(this.title(), this.candidates.items, this.running);
        }
    }

    async showPlan(item: CandidateItem): Promise<void> {
        const uri = this.services.documents.set(`/plan/${item.id}.md`, planMarkdown(item, this.label));
        await showMarkdown(uri);
    }

    dispose(): void {
        this.picker.dispose();
        this.cancellation.dispose();
    }

    private progress(value: WorkDoneProgressBegin | WorkDoneProgressReport | WorkDoneProgressEnd): void {
        if (value.kind === 'begin') {
            this.label = value.title.replace(/^PlanSearch: /, '');
        }
        if (value.kind === 'end' || value.message === undefined) {
            return;
        }
        this.stage = value.message;
        this.report(`${this.label}: ${value.message}`);
        this.services.status.running(this.label, tokensInProgress(value.message) ?? 0);
        if (this.picker.visible) {
            this.picker.status(this.title(), true);
        }
    }

    private partial(value: PartialResult): void {
        this.searchId = value.searchId ?? this.searchId;
        this.candidates.add(value.candidates);
        if (this.picker.visible) {
            this.picker.update(this.candidates.items);
        }
    }

    private finish(result: GenerateResult): void {
        this.result = result;
        this.searchId = result.searchId;
        this.label = result.target;
        this.candidates.rank(result.candidates);
        this.services.status.finished(result, this.services.prices());
        this.services.log.info(
            `search ${result.searchId} for ${result.target}: ${result.candidates.length} candidates (${result.finishReason})`,
        );
        result.errors.forEach((error) => this.services.log.warn(error));
        if (this.chosen !== undefined) {
            void this.apply(this.chosen);
        } else if (this.picker.visible) {
            this.picker.status(this.title(), false);
            this.picker.update(this.candidates.items);
        } else {
            void this.announce(result);
        }
    }

    private async fail(error: unknown): Promise<void> {
        const message = error instanceof Error ? error.message : String(error);
        this.failure = message;
        this.picker.dispose();
        this.services.status.failed(message);
        this.services.log.error(`the search for ${this.label} failed: ${message}`);
        const actions = /API key/i.test(message) ? [SET_KEY] : [];
        if ((await vscode.window.showErrorMessage(`PlanSearch: ${message}`, ...actions)) === SET_KEY) {
            await vscode.commands.executeCommand('plansearch.setApiKey');
        }
    }

    private async announce(result: GenerateResult): Promise<void> {
        if (result.candidates.length === 0) {
            const why = result.message ?? result.errors[0];
            void vscode.window.showWarningMessage(`PlanSearch found no candidates for ${result.target} (${result.finishReason})${why ? `: ${why}` : ''}`);
            return;
        }
        const choice = await vscode.window.showInformationMessage(
            `PlanSearch: ${result.candidates.length} candidates for ${result.target} (${result.finishReason}).`,
            CHOOSE,
        );
        if (choice === CHOOSE) {
            this.pick();
        }
    }

    private title(): string {
        if (this.result === undefined) {
            return `PlanSearch: ${this.label}: ${this.stage}`;
        }
        const passing = this.result.candidates.filter((item) => item.passesAll).length;
        const tests = this.result.tests > 0 ? `, ${passing} pass every test` : '';
        return `PlanSearch: ${this.result.target}: ${this.result.candidates.length} candidates${tests} (${this.result.finishReason})`;
    }

    /** Apply now, or (while the search runs) stop it and apply once it answered. */
    private async choose(item: CandidateItem): Promise<void> {
        this.previews++; // a preview still on its way is not opened any more
        if (this.result !== undefined) {
            await this.apply(item);
            return;
        }
        this.chosen = item;
        this.stop();
    }

    private async apply(item: CandidateItem, rebase = false): Promise<void> {
        const client = await this.services.server.ready();
        const result = this.result;
        if (client === undefined || result === undefined) {
            return;
        }
        const params: ApplyParams = { searchId: result.searchId, candidateId: item.id, rebase };
        let reply: ApplyResult;
        try {
            reply = await client.sendRequest<ApplyResult>(APPLY, params);
        } catch (error) {
            void vscode.window.showErrorMessage(`PlanSearch: ${error instanceof Error ? error.message : String(error)}`);
            return;
        }
        await closePreviews();
        if (reply.applied) {
            this.services.log.info(`applied candidate ${item.id} (${item.tally}) to ${result.target}`);
            return;
        }
        const why = `PlanSearch did not apply candidate ${item.id}: ${reply.reason ?? 'the editor refused the edit'}.`;
        if (reply.canRebase && !rebase) {
            if ((await vscode.window.showWarningMessage(why, APPLY_AGAIN)) === APPLY_AGAIN) {
                await this.apply(item, true);
            }
        } else {
            void vscode.window.showWarningMessage(why);
        }
    }

    /** A diff of the document as it is and as applying the candidate would leave it. */
    private async preview(item: CandidateItem): Promise<void> {
        const ticket = ++this.previews;
        const sides = (await this.serverPreview(item)) ?? this.localPreview(item);
        if (sides === undefined || ticket !== this.previews || !this.picker.visible) {
            return; // another row was previewed meanwhile, or a candidate was chosen
        }
        const left = this.services.documents.set(`/preview/now/${this.label}.py`, sides.before);
        const right = this.services.documents.set(`/preview/${item.id}/${this.label}.py`, sides.after);
        const line = firstDifference(sides.before, sides.after);
        await vscode.commands.executeCommand('vscode.diff', left, right, `${this.label}: now ↔ candidate ${item.id} (${item.tally})`, {
            preview: true,
            preserveFocus: true,
            selection: new vscode.Range(line, 0, line, 0),
        });
        if (!this.picker.visible) {
            await closePreviews(); // the picker closed while the diff was opening
        }
    }

    /** The server's before and after, exactly as applying would do it. */
    private async serverPreview(item: CandidateItem): Promise<{ before: string; after: string } | undefined> {
        const client = await this.services.server.ready();
        if (client === undefined || this.searchId === undefined) {
            return undefined;
        }
        const params: PreviewParams = { searchId: this.searchId, candidateId: item.id };
        try {
            return await client.sendRequest<PreviewResult>(PREVIEW, params);
        } catch (error) {
            this.services.log.warn(`no preview from the server: ${error instanceof Error ? error.message : String(error)}`);
            return undefined;
        }
    }

    /** The function as it is now against the candidate's code as written. */
    private localPreview(item: CandidateItem): { before: string; after: string } | undefined {
        const uri = vscode.Uri.parse(this.target.textDocument.uri).toString();
        const document = vscode.workspace.textDocuments.find((open) => open.uri.toString() === uri);
        if (document === undefined) {
            return undefined;
        }
        const lines = document.getText().split(/\r?\n/);
        const at = this.target.range?.start ?? this.target.position ?? { line: 0, character: 0 };
        const block = functionAt(lines, at.line);
        const now = block ? lines.slice(block.start, block.end).join('\n') : '';
        return { before: `${now}\n`, after: `${indented(item.code, block?.indent ?? '')}\n` };
    }
}

async function closePreviews(): Promise<void> {
    const tabs = vscode.window.tabGroups.all
        .flatMap((group) => group.tabs)
        .filter((tab) => tab.input instanceof vscode.TabInputTextDiff && tab.input.modified.scheme === SCHEME);
    if (tabs.length > 0) {
        await vscode.window.tabGroups.close(tabs, true);
    }
}

export async function showMarkdown(uri: vscode.Uri): Promise<void> {
    try {
        await vscode.commands.executeCommand('markdown.showPreview', uri);
    } catch {
        await vscode.window.showTextDocument(uri, { preview: true });
    }
}

function fileName(uri: string): string {
    return vscode.Uri.parse(uri).path.split('/').at(-1) ?? uri;
}
