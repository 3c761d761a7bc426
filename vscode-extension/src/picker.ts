/**
 * The candidate picker: a QuickPick filled as candidates are tested, one row per behaviour (the
 * best of the candidates that behave alike), best first. A row's unfold button shows the others
 * of its group below it; moving through the rows previews a candidate; accepting chooses it; the
 * book button opens its plan. When the search fails, its first row says why and the rows below
 * it are the fixes.
 */

import * as vscode from 'vscode';

import { alike, describe, fixTitle, groups, type Fix } from './candidates';
import type { CandidateItem } from './protocol';

type Row = vscode.QuickPickItem &
    (
        | { role: 'candidate'; candidate: CandidateItem; group?: { others: number; open: boolean } }
        | { role: 'failure'; fix: Fix | undefined }
        | { role: 'fix'; fix: Fix }
    );

export interface PickerActions {
    preview(item: CandidateItem): void;
    choose(item: CandidateItem): void;
    showPlan(item: CandidateItem): void;
    fix(fix: Fix): void;
}

const PLAN_BUTTON: vscode.QuickInputButton = { iconPath: new vscode.ThemeIcon('book'), tooltip: 'Show plan' };
const FIX_ICONS: Record<Fix['kind'], string> = { settings: '$(gear)', apiKey: '$(key)', log: '$(output)' };

function groupButton(others: number, open: boolean): vscode.QuickInputButton {
    const noun = others === 1 ? 'other' : 'others';
    return open
        ? { iconPath: new vscode.ThemeIcon('fold'), tooltip: `Hide the ${others} ${noun}` }
        : { iconPath: new vscode.ThemeIcon('unfold'), tooltip: `Show the ${others} ${noun}` };
}

export class CandidatePicker implements vscode.Disposable {
    private readonly quickPick = vscode.window.createQuickPick<Row>();
    private readonly subscriptions: vscode.Disposable[] = [];
    private previewed: string | undefined;
    /** The row this picker made active last; another one means the user moved. */
    private madeActive: string | undefined;
    /** Until the user moves, the best candidate is the active row as the ranking changes. */
    private followBest = true;
    private open = false;
    /** The groups (by their best candidate) whose others are shown. */
    private readonly unfolded = new Set<string>();
    private items: readonly CandidateItem[] = [];
    private readonly hidden = new vscode.EventEmitter<void>();
    readonly onDidHide = this.hidden.event;

    constructor(actions: PickerActions) {
        const pick = this.quickPick;
        pick.matchOnDescription = true;
        pick.matchOnDetail = true;
        pick.keepScrollPosition = true;
        this.subscriptions.push(
            pick.onDidChangeActive(([row]) => {
                if (row?.role !== 'candidate') {
                    return;
                }
                if (row.candidate.id !== this.madeActive) {
                    this.followBest = false;
                }
                if (row.candidate.id !== this.previewed) {
                    this.previewed = row.candidate.id;
                    actions.preview(row.candidate);
                }
            }),
            pick.onDidAccept(() => {
                const [row] = pick.selectedItems.length > 0 ? pick.selectedItems : pick.activeItems;
                if (row === undefined) {
                    return;
                }
                if (row.role === 'candidate') {
                    pick.hide();
                    actions.choose(row.candidate);
                } else if (row.fix !== undefined) {
                    pick.hide();
                    actions.fix(row.fix);
                }
            }),
            pick.onDidTriggerItemButton(({ item, button }) => {
                if (item.role !== 'candidate') {
                    return;
                }
                if (button === PLAN_BUTTON) {
                    actions.showPlan(item.candidate);
                } else if (item.group !== undefined) {
                    this.toggle(item.candidate.id);
                }
            }),
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

    /** Rows the picker shows now (each about two lines high). */
    get rowCount(): number {
        return this.quickPick.items.length;
    }

    show(title: string, items: readonly CandidateItem[], busy: boolean): void {
        this.status(title, busy);
        this.update(items);
        this.reveal();
    }

    /** Replace the rows: the best one active until the user moves, then the user's. */
    update(items: readonly CandidateItem[]): void {
        this.items = items;
        const pick = this.quickPick;
        const active = pick.activeItems[0];
        const activeId = active?.role === 'candidate' ? active.candidate.id : undefined;
        const rows = this.rows(items);
        const candidates = rows.filter((row): row is Row & { role: 'candidate' } => row.role === 'candidate');
        const target = this.followBest ? candidates[0] : candidates.find((row) => row.candidate.id === activeId);
        this.madeActive = target?.candidate.id ?? this.madeActive;
        pick.items = rows;
        if (target !== undefined) {
            pick.activeItems = [target];
        }
    }

    /** Say why the search failed, as the first row, and offer `fixes` in the rows below. */
    fail(title: string, reason: string, fixes: readonly Fix[]): void {
        const [first, ...rest] = reason.split(/(?<=[.!?])\s+/);
        const failure: Row = {
            role: 'failure',
            fix: fixes[0],
            label: `$(error) ${first}`,
            detail: rest.join(' '),
            alwaysShow: true,
        };
        const rows: Row[] = [
            failure,
            ...fixes.map((fix): Row => ({
                role: 'fix',
                fix,
                label: `${FIX_ICONS[fix.kind]} ${fixTitle(fix)}`,
                description: fix.kind === 'settings' ? fix.setting : undefined,
                alwaysShow: true,
            })),
        ];
        const pick = this.quickPick;
        pick.title = title;
        pick.busy = false;
        pick.placeholder = 'The search failed: Enter runs the first fix, or choose one below.';
        pick.items = rows;
        pick.activeItems = [failure];
    }

    status(title: string, busy: boolean): void {
        this.quickPick.title = title;
        this.quickPick.busy = busy;
        this.quickPick.placeholder = busy
            ? 'Candidates appear as they are tested, one row per behaviour. Enter applies one (and stops the search).'
            : this.items.length === 0
              ? 'No candidate.'
              : 'One row per behaviour, best first. Enter applies its candidate; the unfold button shows the others.';
    }

    /** Show the picker (again). */
    reveal(): void {
        this.open = true;
        this.quickPick.show();
    }

    dispose(): void {
        this.subscriptions.forEach((subscription) => subscription.dispose());
        this.hidden.dispose();
        this.quickPick.dispose();
    }

    private toggle(id: string): void {
        if (!this.unfolded.delete(id)) {
            this.unfolded.add(id);
        }
        this.followBest = false;
        this.madeActive = id;
        const rows = this.rows(this.items);
        this.quickPick.items = rows;
        const row = rows.find((candidate) => candidate.role === 'candidate' && candidate.candidate.id === id);
        if (row !== undefined) {
            this.quickPick.activeItems = [row];
        }
    }

    private rows(items: readonly CandidateItem[]): Row[] {
        const found = groups(items);
        return found.flatMap((group): Row[] => {
            const others = group.others.length;
            const open = others > 0 && this.unfolded.has(group.best.id);
            const { label, description, detail } = describe(group.best, alike(group, found.length));
            const buttons = others > 0 ? [groupButton(others, open), PLAN_BUTTON] : [PLAN_BUTTON];
            const head: Row = {
                role: 'candidate',
                candidate: group.best,
                group: others > 0 ? { others, open } : undefined,
                label,
                description,
                detail,
                buttons,
            };
            if (!open) {
                return [head];
            }
            return [
                head,
                ...group.others.map((candidate): Row => {
                    const row = describe(candidate);
                    return { role: 'candidate', candidate, ...row, label: `↳ ${row.label}`, buttons: [PLAN_BUTTON] };
                }),
            ];
        });
    }
}
