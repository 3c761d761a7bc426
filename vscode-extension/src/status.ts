/** The status bar item: tokens (and estimated cost) of the running or the last search. */

import * as vscode from 'vscode';

import { plural } from './candidates';
import { statusText, usageText, type PriceTable } from './cost';
import type { GenerateResult, ProgressCounts } from './protocol';

export const PICK_COMMAND = 'plansearch.pickCandidate';

export class SearchStatus implements vscode.Disposable {
    private readonly item = vscode.window.createStatusBarItem('plansearch.status', vscode.StatusBarAlignment.Right, 100);

    constructor() {
        this.item.name = 'PlanSearch';
        this.item.command = PICK_COMMAND;
    }

    /** A running search: the same account as its notification and its picker (`message`),
     * shortened. */
    running(target: string, counts: ProgressCounts | undefined, message: string): void {
        this.item.text = `$(loading~spin) PlanSearch: ${counts ? statusText(counts) : message}`;
        this.item.tooltip = `PlanSearch is searching for ${target}: ${message}. Click to see the candidates.`;
        this.item.show();
    }

    finished(result: GenerateResult, prices: PriceTable): void {
        const stats = result.stats;
        const usage = usageText(stats, result.model, prices);
        this.item.text = `$(sparkle) PlanSearch: ${usage} (${result.finishReason})`;
        this.item.tooltip = [
            `PlanSearch: ${result.target}, ${result.strategy} with ${result.model}: ${result.finishReason}`,
            `${plural(result.candidates.length, 'candidate')}, ${plural(stats.calls, 'model call')} in ${stats.seconds.toFixed(1)} s`,
            `${stats.inputTokens.toLocaleString('en')} input and ${stats.outputTokens.toLocaleString('en')} output tokens`,
            usage.includes('≈') ? 'The cost is estimated from plansearch.pricing.' : `No price known for ${result.model} (see plansearch.pricing).`,
            'Click to see the candidates.',
        ].join('\n');
        this.item.show();
    }

    failed(message: string): void {
        this.item.text = '$(error) PlanSearch: failed';
        this.item.tooltip = message;
        this.item.show();
    }

    dispose(): void {
        this.item.dispose();
    }
}
