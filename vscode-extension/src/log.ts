/**
 * The PlanSearch output channel: the extension's log and the server's output and trace. Every
 * line goes through `redact` with the keys held in secret storage, so no key reaches it.
 */

import { inspect } from 'node:util';
import * as vscode from 'vscode';

import { redact } from './redact';

export class RedactingLog implements vscode.LogOutputChannel {
    private readonly channel: vscode.LogOutputChannel;
    private readonly secrets: () => Iterable<string>;

    /** `secrets` returns the values to scrub (read at every write). */
    constructor(name: string, secrets: () => Iterable<string>) {
        this.channel = vscode.window.createOutputChannel(name, { log: true });
        this.secrets = secrets;
    }

    get name(): string {
        return this.channel.name;
    }

    get logLevel(): vscode.LogLevel {
        return this.channel.logLevel;
    }

    get onDidChangeLogLevel(): vscode.Event<vscode.LogLevel> {
        return this.channel.onDidChangeLogLevel;
    }

    trace(message: string, ...args: unknown[]): void {
        this.channel.trace(this.clean(message, args));
    }

    debug(message: string, ...args: unknown[]): void {
        this.channel.debug(this.clean(message, args));
    }

    info(message: string, ...args: unknown[]): void {
        this.channel.info(this.clean(message, args));
    }

    warn(message: string, ...args: unknown[]): void {
        this.channel.warn(this.clean(message, args));
    }

    error(error: string | Error, ...args: unknown[]): void {
        const message = typeof error === 'string' ? error : (error.stack ?? error.message);
        this.channel.error(this.clean(message, args));
    }

    append(value: string): void {
        this.channel.append(this.clean(value, []));
    }

    appendLine(value: string): void {
        this.channel.appendLine(this.clean(value, []));
    }

    replace(value: string): void {
        this.channel.replace(this.clean(value, []));
    }

    clear(): void {
        this.channel.clear();
    }

    show(columnOrPreserveFocus?: vscode.ViewColumn | boolean, preserveFocus?: boolean): void {
        if (typeof columnOrPreserveFocus === 'boolean') {
            this.channel.show(columnOrPreserveFocus);
        } else {
            this.channel.show(columnOrPreserveFocus, preserveFocus);
        }
    }

    hide(): void {
        this.channel.hide();
    }

    dispose(): void {
        this.channel.dispose();
    }

    private clean(message: string, args: readonly unknown[]): string {
        const text = [message, ...args.map((arg) => (typeof arg === 'string' ? arg : inspect(arg)))].join(' ');
        return redact(text, this.secrets());
    }
}
