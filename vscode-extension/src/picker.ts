/**
 * The candidate picker: a QuickPick filled as candidates are tested, best first. Moving through
 * it previews a candidate; accepting chooses it; the book button opens its plan.
 */

import * as vscode from 'vscode';

import { describe } from './candidates';
import type { CandidateItem } from './protocol';

interface Row extends vscode.QuickPickItem {
    candidate: CandidateItem;
}

export interface PickerActions {
    preview(item: CandidateItem): void;
    choose(item: CandidateItem): void;
    showPlan(item: CandidateItem): void;
}

const PLAN_BUTTON: vscode.QuickInputButton = { iconPath: new vscode.ThemeIcon('book'), tooltip: 'Show plan' };

export class CandidatePicker implements vscode.Disposable {
    private readonly quickPick = vscode.window.createQuickPick<Row>();
    private readonly subscriptions: vscode.Disposable[] = [];
    private previewed: string | undefined;
    /** The row this picker made active last; another one means the user moved. */
    private madeActive: string | undefined;
    /** Until the user moves, the best candidate is the active row as the ranking changes. */
    private followBest = true;
    private open = false;
    private readonly hidden = new vscode.EventEmitter<void>();
    readonly onDidHide = this.hidden.event;

    constructor(actions: PickerActions) {
        const pick = this.quickPick;
        pick.matchOnDescription = true;
        pick.matchOnDetail = true;
        pick.keepScrollPosition = true;
        this.subscriptions.push(
            pick.onDidChangeActive(([row]) => {
                if (row !== undefined && row.candidate.id !== this.madeActive) {
                    this.followBest = false;
                }
                if (row !== undefined && row.candidate.id !== this.previewed) {
                    this.previewed = row.candidate.id;
                    actions.preview(row.candidate);
                }
            }),
            pick.onDidAccept(() => {
                const [row] = pick.selectedItems.length > 0 ? pick.selectedItems : pick.activeItems;
                if (row !== undefined) {
                    pick.hide();
                    actions.choose(row.candidate);
                }
            }),
            pick.onDidTriggerItemButton((event) => actions.showPlan(event.item.candidate)),
            pick.onDidHide(() => {
                this.open = false;
                this.previewed = undefined;
                this.madeActive = undefined;
                this.followBest = true;
                this.hidden.fire();
            }),
        );
    }

    get visible(): boolean {
        return this.open;
    }

    show(title: string, items: readonly CandidateItem[], busy: boolean): void {
        this.status(title, busy);
        this.update(items);
        this.open = true;
        this.quickPick.show();
    }

    /** Replace the rows: the best one active until the user moves, then the user's. */
    update(items: readonly CandidateItem[]): void {
        const pick = this.quickPick;
        const active = pick.activeItems[0]?.candidate.id;
        const rows = items.map((candidate, index): Row => {
            const { label, description, detail } = describe(candidate);
            return { label: `${index + 1}. ${label}`, description, detail, candidate, buttons: [PLAN_BUTTON] };
        });
        const target = this.followBest ? rows[0] : rows.find((row) => row.candidate.id === active);
        this.madeActive = target?.candidate.id ?? this.madeActive;
        pick.items = rows;
        if (target !== undefined) {
            pick.activeItems = [target];
        }
    }

    status(title: string, busy: boolean): void {
        this.quickPick.title = title;
        this.quickPick.busy = busy;
        this.quickPick.placeholder = busy
            ? 'Candidates appear as they are tested. Enter applies one (and stops the search).'
            : 'Enter applies the candidate; the book button shows its plan.';
    }

    dispose(): void {
        this.subscriptions.forEach((subscription) => subscription.dispose());
        this.hidden.dispose();
        this.quickPick.dispose();
    }
}
