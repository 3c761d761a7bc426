/** Activation: the log, keys, status bar, server and commands; restarts when the interpreter changes. */

import * as vscode from 'vscode';

import { Commands } from './commands';
import { RedactingLog } from './log';
import { onInterpreterChanged } from './python';
import { ApiKeys } from './secrets';
import { Server } from './server';
import { priceTable, SECTION } from './settings';
import { SearchStatus } from './status';
import { SCHEME, VirtualDocuments } from './virtualDocs';

let running: Server | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
    const keys = new ApiKeys(context.secrets);
    await keys.load();
    const log = new RedactingLog('PlanSearch', () => keys.values());
    const server = new Server(context.extensionPath, log, keys);
    running = server;
    const documents = new VirtualDocuments();
    const status = new SearchStatus();
    const prices = (): ReturnType<typeof priceTable> => priceTable(vscode.workspace.getConfiguration(SECTION));
    context.subscriptions.push(
        log,
        keys,
        documents,
        status,
        new Commands({ server, status, documents, log, prices }, keys),
        server,
        vscode.workspace.registerTextDocumentContentProvider(SCHEME, documents),
        keys.onDidChange(() => void server.sendKeys()),
        vscode.workspace.onDidChangeConfiguration((event) => {
            if (event.affectsConfiguration(`${SECTION}.interpreter`)) {
                log.info('plansearch.interpreter changed: restarting the server');
                void server.restart();
            }
        }),
    );
    const pythonChanged = await onInterpreterChanged(() => {
        log.info('the interpreter selected in the Python extension changed: restarting the server');
        void server.restart();
    }).catch((error: unknown) => {
        log.warn(`cannot follow the Python extension's interpreter: ${String(error)}`);
        return undefined;
    });
    if (pythonChanged !== undefined) {
        context.subscriptions.push(pythonChanged);
    }
    void server.restart();
}

/** Stop the server before the subscriptions are disposed, so that it exits cleanly. */
export async function deactivate(): Promise<void> {
    await running?.stop();
}
