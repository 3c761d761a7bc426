/** The status bar item: tokens (and estimated cost) of the running or the last search. */

import * as vscode from 'vscode';

import { formatTokens, usageText, type PriceTable } from './cost';
import type { GenerateResult } from './protocol';

export const PICK_COMMAND = 'plansearch.pickCandidate';

export class SearchStatus implements vscode.Disposable {
    private readonly item = vscode.window.createStatusBarItem('plansearch.status', vscode.StatusBarAlignment.Right, 100);

    constructor() {
        this.item.name = 'PlanSearch';
        this.item.command = PICK_COMMAND;
    }

    running(target: string, tokens: number): void {
        this.item.text = `$(loading~spin) PlanSearch: ${formatTokens(tokens)} tokens`;
        this.item.tooltip = `PlanSearch is searching for ${target}. Click to see the candidates.`;
        this.item.show();
    }

    finished(result: GenerateResult, prices: PriceTable): void {
        const stats = result.stats;
        const usage = usageText(stats, result.model, prices);
        this.item.text = `$(sparkle) PlanSearch: ${usage} (${result.finishReason})`;
        this.item.tooltip = [
            `PlanSearch: ${result.target}, ${result.strategy} with ${result.model}: ${result.finishReason}`,
            `${result.candidates.length} candidates, ${stats.calls} model calls in ${stats.seconds.toFixed(1)} s`,
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
