/** Read-only documents the extension shows: plans, and the two sides of a preview. */

import * as vscode from 'vscode';

export const SCHEME = 'plansearch';

export class VirtualDocuments implements vscode.TextDocumentContentProvider, vscode.Disposable {
    private readonly texts = new Map<string, string>();
    private readonly changed = new vscode.EventEmitter<vscode.Uri>();
    readonly onDidChange = this.changed.event;

    /** Put `text` at `path` (e.g. "/plan/c3.md") and return its URI. */
    set(path: string, text: string): vscode.Uri {
        const uri = vscode.Uri.from({ scheme: SCHEME, path });
        const key = uri.toString();
        const known = this.texts.has(key);
        this.texts.set(key, text);
        if (known) {
            this.changed.fire(uri);
        }
        return uri;
    }

    provideTextDocumentContent(uri: vscode.Uri): string {
        return this.texts.get(uri.toString()) ?? '';
    }

    dispose(): void {
        this.changed.dispose();
    }
}
