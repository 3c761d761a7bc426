/**
 * Starting the PlanSearch language server: the interpreter (the `plansearch.interpreter` setting,
 * else the Python extension's selection), a check that it has the `plansearch` package (with an
 * offer to install it there), then `python -m plansearch_lsp` over stdio, and the API keys.
 */

import { execFile, spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
    LanguageClient,
    RevealOutputChannelOn,
    State,
    type LanguageClientOptions,
    type ServerOptions,
} from 'vscode-languageclient/node';

import { commandLine, installArgs, isMissingModule, PROBE_ARGS, wheelIn } from './install';
import type { RedactingLog } from './log';
import { SET_API_KEY, type SetApiKeyParams } from './protocol';
import { selectedInterpreter } from './python';
import { PROVIDERS, type ApiKeys } from './secrets';
import { interpreterSetting, SECTION, serverSettings } from './settings';

/** The command the server's code action runs: the extension's search with its picker. */
export const SEARCH_COMMAND = 'plansearch.search';
const PROBE_TIMEOUT_MS = 60_000;

type Probe = { ok: true } | { ok: false; missing: boolean; message: string };

export class Server implements vscode.Disposable {
    private client: LanguageClient | undefined;
    private pending: Promise<LanguageClient | undefined> = Promise.resolve(undefined);
    /** The keys the running server has, by provider. */
    private readonly sent = new Map<string, string>();
    private readonly started = new vscode.EventEmitter<LanguageClient>();
    /** Fires with each new client once it runs (to register notification handlers). */
    readonly onDidStart = this.started.event;

    private readonly extensionPath: string;
    private readonly log: RedactingLog;
    private readonly keys: ApiKeys;

    constructor(extensionPath: string, log: RedactingLog, keys: ApiKeys) {
        this.extensionPath = extensionPath;
        this.log = log;
        this.keys = keys;
    }

    /** The running client, starting the server first if needed; undefined when it cannot run
     * (the person has been told why). */
    async ready(): Promise<LanguageClient | undefined> {
        const client = await this.pending;
        if (client?.isRunning()) {
            return client;
        }
        return this.restart();
    }

    /** Stop the server if it runs, and start it again. */
    restart(): Promise<LanguageClient | undefined> {
        this.pending = this.pending.catch(() => undefined).then(async () => {
            await this.stop();
            return this.start();
        });
        return this.pending;
    }

    /** Hand the server every key it does not have yet, and the removal of any key it has that
     * is no longer held. */
    async sendKeys(): Promise<void> {
        const client = this.client;
        if (!client?.isRunning()) {
            return;
        }
        const held = new Map(this.keys.entries());
        for (const provider of PROVIDERS) {
            const key = held.get(provider) ?? '';
            if (key !== (this.sent.get(provider) ?? '')) {
                const params: SetApiKeyParams = { provider, key };
                await client.sendNotification(SET_API_KEY, params);
                this.sent.set(provider, key);
            }
        }
    }

    async stop(): Promise<void> {
        const client = this.client;
        this.client = undefined;
        if (client?.isRunning()) {
            await client.stop();
        }
        await client?.dispose();
    }

    dispose(): void {
        void this.stop();
        this.started.dispose();
    }

    private async start(): Promise<LanguageClient | undefined> {
        const folder = vscode.workspace.workspaceFolders?.[0];
        const python = await this.interpreter(folder);
        if (python === undefined) {
            void this.tellSettings(
                'PlanSearch: no Python interpreter. Select one in the Python extension, or set plansearch.interpreter.',
            );
            return undefined;
        }
        const probe = await probeInterpreter(python, folder?.uri.fsPath);
        if (!probe.ok) {
            this.log.warn(`${python} cannot run the PlanSearch server: ${probe.message}`);
            if (probe.missing) {
                void this.offerInstall(python);
            } else {
                void this.tellSettings(`PlanSearch: ${python} cannot run the server: ${probe.message}`);
            }
            return undefined;
        }
        this.log.info(`starting the PlanSearch server: ${commandLine(python, ['-m', 'plansearch_lsp'])}`);
        const client = new LanguageClient('plansearch', 'PlanSearch', serverOptions(python, folder), clientOptions(this.log));
        client.onDidChangeState((event) => {
            if (event.newState === State.Running && this.client === client) {
                this.sent.clear(); // the client restarted a server that had stopped: a new process
                void this.sendKeys();
            }
        });
        try {
            await client.start();
        } catch (error) {
            this.log.error(`the PlanSearch server did not start: ${String(error)}`);
            void this.tellSettings('PlanSearch: the server did not start; see the PlanSearch output.');
            await client.dispose();
            return undefined;
        }
        this.client = client;
        this.sent.clear();
        await this.sendKeys();
        this.started.fire(client);
        return client;
    }

    private async interpreter(folder: vscode.WorkspaceFolder | undefined): Promise<string | undefined> {
        const settings = vscode.workspace.getConfiguration(SECTION, folder);
        const configured = interpreterSetting(settings, homedir(), folder?.uri.fsPath);
        if (configured !== undefined) {
            return configured;
        }
        try {
            return await selectedInterpreter(folder?.uri);
        } catch (error) {
            this.log.warn(`the Python extension did not say which interpreter is selected: ${String(error)}`);
            return undefined;
        }
    }

    /** Offer to install the bundled wheel into `python`, saying the exact command. */
    private async offerInstall(python: string): Promise<void> {
        const bundled = path.join(this.extensionPath, 'bundled');
        const wheel = wheelIn(await readdir(bundled).catch(() => []));
        if (wheel === undefined) {
            void this.tellSettings(
                `PlanSearch: the plansearch package is not installed in ${python}. Install it there, or choose another interpreter.`,
            );
            return;
        }
        const args = installArgs(path.join(bundled, wheel));
        const command = commandLine(python, args);
        const choice = await vscode.window.showWarningMessage(
            `PlanSearch: the plansearch package is not installed in ${python}. Install it there? This will run: ${command}`,
            'Install',
            'Open Settings',
        );
        if (choice === 'Open Settings') {
            await openSettings();
        } else if (choice === 'Install') {
            const code = await vscode.window.withProgress(
                { location: vscode.ProgressLocation.Notification, title: `PlanSearch: installing plansearch into ${python}` },
                () => this.run(python, args),
            );
            if (code === 0) {
                await this.restart();
            } else {
                this.log.show(true);
                void vscode.window.showErrorMessage(`PlanSearch: "${command}" failed (exit ${code}); see the PlanSearch output.`);
            }
        }
    }

    /** Run a command, its output going to the log; resolves to its exit code. */
    private run(command: string, args: string[]): Promise<number> {
        this.log.info(`running: ${commandLine(command, args)}`);
        return new Promise((resolve) => {
            const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
            child.stdout.on('data', (data: Buffer) => this.log.append(data.toString()));
            child.stderr.on('data', (data: Buffer) => this.log.append(data.toString()));
            child.on('error', (error) => {
                this.log.error(String(error));
                resolve(-1);
            });
            child.on('close', (code) => resolve(code ?? -1));
        });
    }

    private async tellSettings(message: string): Promise<void> {
        if ((await vscode.window.showErrorMessage(message, 'Open Settings')) === 'Open Settings') {
            await openSettings();
        }
    }
}

function serverOptions(python: string, folder: vscode.WorkspaceFolder | undefined): ServerOptions {
    return {
        command: python,
        args: ['-m', 'plansearch_lsp'],
        options: { cwd: folder?.uri.fsPath, env: { ...process.env, PYTHONUNBUFFERED: '1' } },
    };
}

function clientOptions(log: RedactingLog): LanguageClientOptions {
    const settings = (scope?: string): Record<string, unknown> =>
        serverSettings(vscode.workspace.getConfiguration(SECTION, scope ? vscode.Uri.parse(scope) : undefined), SEARCH_COMMAND);
    return {
        documentSelector: [
            { scheme: 'file', language: 'python' },
            { scheme: 'untitled', language: 'python' },
        ],
        outputChannel: log,
        traceOutputChannel: log,
        revealOutputChannelOn: RevealOutputChannelOn.Never,
        initializationOptions: settings(),
        synchronize: { configurationSection: SECTION },
        middleware: {
            workspace: {
                // The server reads its section with `workspace/configuration`: answer with the
                // values a person set, never the extension's own settings.
                configuration: async (params, token, next) => {
                    const answers = await next(params, token);
                    if (!Array.isArray(answers)) {
                        return answers;
                    }
                    return params.items.map((item, index) =>
                        item.section === SECTION ? settings(item.scopeUri) : answers[index],
                    );
                },
            },
        },
    };
}

function probeInterpreter(python: string, cwd: string | undefined): Promise<Probe> {
    return new Promise((resolve) => {
        execFile(python, PROBE_ARGS, { cwd, timeout: PROBE_TIMEOUT_MS }, (error, _stdout, stderr) => {
            if (error === null) {
                resolve({ ok: true });
            } else if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
                resolve({ ok: false, missing: false, message: 'no such file' });
            } else {
                const lines = stderr.trim().split('\n');
                resolve({ ok: false, missing: isMissingModule(stderr), message: lines.at(-1) || error.message });
            }
        });
    });
}

async function openSettings(): Promise<void> {
    await vscode.commands.executeCommand('workbench.action.openSettings', '@ext:plansearch.plansearch');
}
