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

import { CandidateList, fixesFor, fixTitle, outcomeText, type Fix } from './candidates';
import type { PriceTable } from './cost';
import type { RedactingLog } from './log';
import { CandidatePicker } from './picker';
import { planMarkdown } from './planView';
import { coveredLines, firstDifference, functionAt, indented, previewTop } from './preview';
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
    type ProgressCounts,
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
/** The command that shows the PlanSearch output channel. */
export const SHOW_LOG_COMMAND = 'plansearch.showLog';

/** Progress as the server reports it: its message, and the same account as numbers. */
type ProgressValue = (WorkDoneProgressBegin | WorkDoneProgressReport | WorkDoneProgressEnd) & { counts?: ProgressCounts };

export class Search implements vscode.Disposable {
    readonly candidates = new CandidateList();
    result: GenerateResult | undefined;
    /** Why the search failed (or found nothing), if it did. */
    private failure: { message: string; fixes: Fix[]; title: string } | undefined;
    private label: string;
    /** The latest progress message: the notification, the picker title and the status bar
     * show it (the status bar its counts) at the same moment. */
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
            fix: (fix) => void runFix(fix),
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
        this.services.status.running(this.label, undefined, this.stage);
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

    /** Show the picker again (after it was closed): the candidates, or why there are none. */
    pick(): void {
        if (this.picker.visible) {
            return;
        }
        if (this.failure !== undefined) {
            this.picker.fail(this.failure.title, this.failure.message, this.failure.fixes);
            this.picker.reveal();
        } else {
            this.picker.show(this.title(), this.candidates.items, this.running);
        }
    }

    /** The plan, with the code as it lands in the file (the stub's header and docstring
     * kept), when the server can say. */
    async showPlan(item: CandidateItem): Promise<void> {
        const landed = (await this.serverPreview(item))?.function ?? undefined;
        const uri = this.services.documents.set(`/plan/${item.id}.md`, planMarkdown(item, this.label, landed));
        await showMarkdown(uri);
    }

    dispose(): void {
        this.picker.dispose();
        this.cancellation.dispose();
    }

    /** One progress value, shown everywhere at once: the notification, the picker's title and
     * the status bar say the same. */
    private progress(value: ProgressValue): void {
        if (value.kind === 'begin') {
            this.label = value.title.replace(/^PlanSearch: /, '');
        }
        if (value.kind === 'end' || value.message === undefined || this.result !== undefined) {
            return;
        }
        this.stage = value.message;
        this.report(`${this.label}: ${value.message}`);
        this.services.status.running(this.label, value.counts, value.message);
        if (this.picker.visible) {
            this.picker.status(this.title(), true);
        }
    }

    private partial(value: PartialResult): void {
        this.searchId = value.searchId ?? this.searchId;
        this.candidates.add(value.candidates, value.ranking);
        if (this.picker.visible && this.result === undefined) {
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
        if (result.candidates.length === 0 && result.finishReason === 'cancelled') {
            if (this.picker.visible) {
                this.picker.update([]);
                this.picker.status(this.title(), false);
            }
            return; // the person stopped it: nothing to choose, nothing to explain
        }
        if (result.candidates.length === 0) {
            const message = result.message ?? result.errors[0] ?? 'The search ended without a candidate.';
            const error = result.finishReason === 'error';
            void this.failed(message, `PlanSearch: ${result.target}: ${error ? 'failed' : `no candidate (${result.finishReason})`}`, error);
            return;
        }
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
        this.services.log.error(`the search for ${this.label} failed: ${message}`);
        await this.failed(message, `PlanSearch: ${this.label}: failed`, true);
    }

    /** The search failed, or found nothing: the picker's first row says why (the picker stays
     * open if it was), its other rows and a notification offer the fixes. */
    private async failed(message: string, title: string, error: boolean): Promise<void> {
        const fixes = fixesFor(message);
        this.failure = { message, fixes, title };
        this.services.status.failed(message);
        if (this.picker.visible) {
            this.picker.fail(title, message, fixes);
        }
        const show = error ? vscode.window.showErrorMessage : vscode.window.showWarningMessage;
        const buttons = [...new Set(fixes.map(fixTitle))];
        const chosen = await show(`PlanSearch: ${message}`, ...buttons);
        const fix = fixes.find((candidate) => fixTitle(candidate) === chosen);
        if (fix !== undefined) {
            await runFix(fix);
        }
    }

    private async announce(result: GenerateResult): Promise<void> {
        const choice = await vscode.window.showInformationMessage(
            `PlanSearch: ${outcomeText(result.candidates, result.tests, result.finishReason)} for ${result.target}.`,
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
        return `PlanSearch: ${this.result.target}: ${outcomeText(this.result.candidates, this.result.tests, this.result.finishReason)}`;
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
            return;
        }
        await this.revealBelowPicker(right, line);
    }

    /** Scroll the diff so that its first change sits below the picker, which covers the top
     * of the editor area: by as many lines as the picker's rows take, and a little more. */
    private async revealBelowPicker(uri: vscode.Uri, line: number): Promise<void> {
        const editor = await visibleEditor(uri);
        if (editor === undefined) {
            this.services.log.trace(`preview: no editor of ${uri.toString()} to scroll`);
            return;
        }
        const visible = editor.visibleRanges[0];
        const lines = visible === undefined ? 30 : visible.end.line - visible.start.line + 1;
        const settings = vscode.workspace.getConfiguration('editor', uri);
        const covered = coveredLines(this.picker.rowCount, settings.get<number>('lineHeight') ?? 0, settings.get<number>('fontSize') ?? 14);
        const top = previewTop(line, covered, lines);
        this.services.log.trace(`preview: first change at line ${line + 1}, ${covered} lines under the picker, ${lines} in view: line ${top + 1} at the top`);
        const reveal = (): void => editor.revealRange(new vscode.Range(top, 0, top, 0), vscode.TextEditorRevealType.AtTop);
        reveal();
        // The diff editor scrolls once more when it has computed the diff (to the selection):
        // for a moment after opening, a scroll that is not ours is undone, a few times at most.
        let corrections = 3;
        const watch = vscode.window.onDidChangeTextEditorVisibleRanges((event) => {
            const first = event.visibleRanges[0]?.start.line;
            if (event.textEditor === editor && first !== undefined && first !== top && corrections-- > 0) {
                this.services.log.trace(`preview: scrolled to line ${first + 1} by the editor; back to line ${top + 1}`);
                reveal();
            }
        });
        setTimeout(() => watch.dispose(), 1500);
    }

    /** The server's before and after, exactly as applying would do it. */
    private async serverPreview(item: CandidateItem): Promise<PreviewResult | undefined> {
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

/** The editor showing `uri` (a side of a diff included), once VS Code reports it (at most a few
 * seconds after it opened). */
function visibleEditor(uri: vscode.Uri): Promise<vscode.TextEditor | undefined> {
    const find = (): vscode.TextEditor | undefined =>
        vscode.window.visibleTextEditors.find((open) => open.document.uri.toString() === uri.toString());
    const found = find();
    if (found !== undefined) {
        return Promise.resolve(found);
    }
    return new Promise((resolve) => {
        const done = (editor: vscode.TextEditor | undefined): void => {
            clearTimeout(timer);
            subscription.dispose();
            resolve(editor);
        };
        const timer = setTimeout(() => done(find()), 3000);
        const subscription = vscode.window.onDidChangeVisibleTextEditors(() => {
            const editor = find();
            if (editor !== undefined) {
                done(editor);
            }
        });
    });
}

/** Carry out a fix a failed search offers. */
async function runFix(fix: Fix): Promise<void> {
    switch (fix.kind) {
        case 'settings':
            // In a remote window a machine-scoped setting (the base URL, the interpreter) is
            // set in the remote machine's settings, which the user settings tab does not show.
            if (vscode.env.remoteName !== undefined && machineScoped(fix.setting)) {
                await vscode.commands.executeCommand('workbench.action.openRemoteSettings', { query: fix.setting });
            } else {
                await vscode.commands.executeCommand('workbench.action.openSettings', fix.setting);
            }
            return;
        case 'apiKey':
            await vscode.commands.executeCommand('plansearch.setApiKey');
            return;
        case 'log':
            await vscode.commands.executeCommand(SHOW_LOG_COMMAND);
            return;
    }
}

/** Whether a setting of this extension is machine-scoped (its package.json says). */
function machineScoped(setting: string): boolean {
    const extension = vscode.extensions.all.find((candidate) => candidate.packageJSON?.contributes?.configuration?.properties?.[setting] !== undefined);
    const scope: unknown = extension?.packageJSON.contributes.configuration.properties[setting].scope;
    return typeof scope === 'string' && scope.startsWith('machine');
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
