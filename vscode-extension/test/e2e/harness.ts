/**
 * What the end-to-end test runs on: a workspace with a stub and its tests, the loopback model
 * server, code-server with the built .vsix installed, and headless Chromium driven by Playwright.
 * Every process gets its own process group and is killed with it at the end.
 */

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const EXTENSION_DIR = path.resolve(import.meta.dirname, '../..');
export const REPO = path.resolve(EXTENSION_DIR, '..');
export const SCREENSHOTS = path.join(EXTENSION_DIR, 'test-results', 'screenshots');
export const LOGS = path.join(EXTENSION_DIR, 'test-results', 'logs');
export const KEY = 'sk-ant-e2e-0123456789abcdef';

export const PREFIX = `"""Geometry helpers.

Circles, measured from their radius r (a float, in any unit):

- area(r): the surface inside the circle, in square units;
- perimeter(r): the length of the circle;
- diameter(r): twice the radius.

Each function takes r >= 0 and returns a float. The examples in the
docstrings run with \`python -m doctest geometry.py\`, and test_geometry.py
checks the same values with pytest.
"""
import math


`;
export const AREA_HEADER = 'def area(r: float) -> float:\n';
export const AREA_DOC = '    """Area of a circle of radius r.\n\n    >>> area(3.0)\n    28.274333882308138\n    """\n';
export const PERIMETER =
    '\n\ndef perimeter(r: float) -> float:\n    """Perimeter of a circle of radius r.\n\n    >>> perimeter(1.0)\n    6.283185307179586\n    """\n    ...\n';
export const DIAMETER = '\n\ndef diameter(r: float) -> float:\n    """Diameter of a circle of radius r.\n\n    >>> diameter(1.0)\n    2.0\n    """\n';
export const STUB_TEXT = `${PREFIX}${AREA_HEADER}${AREA_DOC}    ...\n${PERIMETER}${DIAMETER}    ...\n`;
/** The line (1-based) and column of the `...` of `area`, `perimeter` and `diameter`. */
export const AREA_STUB = stubAt('area');
export const PERIMETER_STUB = stubAt('perimeter');
export const DIAMETER_STUB = stubAt('diameter');
/** The line (1-based) of the `def` of `area`. */
export const AREA_DEF = STUB_TEXT.split('\n').findIndex((line) => line.startsWith('def area(')) + 1;

function stubAt(name: string): string {
    const lines = STUB_TEXT.split('\n');
    const start = lines.findIndex((line) => line.startsWith(`def ${name}(`));
    const stub = lines.findIndex((line, index) => index > start && line === '    ...');
    return `${stub + 1}:5`;
}
const TESTS = `import math

from geometry import area


def test_unit_circle():
    assert area(1.0) == math.pi


def test_radius_two():
    assert abs(area(2.0) - 4 * math.pi) < 1e-9
`;

const STARTUP_MS = 60_000;

function required(name: string): string {
    const value = process.env[name];
    if (!value) {
        throw new Error(`${name} is not set: run the end-to-end test with scripts/e2e.sh`);
    }
    return value;
}

export class Session {
    readonly calls: string[] = [];
    private readonly processes: ChildProcess[] = [];
    private context: BrowserContext | undefined;
    page!: Page;
    readonly run = mkdtempSync(path.join(tmpdir(), 'plansearch-e2e-'));
    readonly workspace = path.join(this.run, 'workspace');
    readonly userData = path.join(this.run, 'user-data');
    readonly home = path.join(this.run, 'home');
    private shot = 0;

    /** The model server, the workspace, code-server with the extension, and a browser on it. */
    async start(interpreter: string): Promise<void> {
        rmSync(SCREENSHOTS, { recursive: true, force: true });
        const modelPort = await this.startModel();
        mkdirSync(this.workspace, { recursive: true });
        writeFileSync(path.join(this.workspace, 'geometry.py'), STUB_TEXT);
        writeFileSync(path.join(this.workspace, 'test_geometry.py'), TESTS);
        writeFileSync(path.join(this.workspace, 'pyproject.toml'), "[project]\nname = 'ws'\n");
        this.writeSettings(interpreter, modelPort);
        const extensions = path.join(this.run, 'extensions');
        execFileSync(required('CODE_SERVER'), ['--extensions-dir', extensions, '--user-data-dir', this.userData,
            '--install-extension', required('VSIX')], { env: this.env(), stdio: 'pipe' });
        const port = await freePort();
        this.spawn(required('CODE_SERVER'), [
            '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--disable-telemetry', '--disable-update-check',
            '--disable-workspace-trust', '--idle-timeout-seconds', '600', '--extensions-dir', extensions,
            '--user-data-dir', this.userData, this.workspace,
        ], 'code-server');
        await waitForHttp(`http://127.0.0.1:${port}/healthz`);
        this.context = await chromium.launchPersistentContext(path.join(this.run, 'browser'), {
            executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
            headless: true,
            viewport: { width: 1400, height: 900 },
            args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                '--disable-background-networking', '--disable-component-update', '--disable-sync'],
        });
        this.page = this.context.pages()[0] ?? (await this.context.newPage());
        await this.page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(this.workspace)}`);
        await this.page.locator('.monaco-workbench').waitFor({ timeout: STARTUP_MS });
    }

    /** PlanSearch's settings, as the remote machine's (its scopes need that), and a quiet UI;
     * `baseUrl` replaces the loopback model's. */
    writeSettings(interpreter: string, modelPort = this.modelPort, baseUrl?: string): void {
        this.modelPort = modelPort;
        this.interpreter = interpreter;
        writeJson(path.join(this.userData, 'Machine', 'settings.json'), {
            'plansearch.interpreter': interpreter,
            'plansearch.baseUrl': baseUrl ?? `http://127.0.0.1:${modelPort}`,
            'plansearch.budget': 'quick',
            'plansearch.timeout': 30,
            'plansearch.maxRetries': 0,
            'plansearch.isolation': 'rlimits',
            'plansearch.trace.server': 'verbose',
        });
        writeJson(path.join(this.userData, 'User', 'settings.json'), {
            'workbench.startupEditor': 'none',
            'workbench.secondarySideBar.defaultVisibility': 'hidden',
            'workbench.tips.enabled': false,
            'workbench.enableExperiments': false,
            'extensions.autoCheckUpdates': false,
            'extensions.autoUpdate': false,
            'extensions.ignoreRecommendations': true,
            'telemetry.telemetryLevel': 'off',
            'editor.hover.delay': 200,
            'editor.minimap.enabled': false,
            'files.autoSave': 'off',
            'security.workspace.trust.enabled': false,
            'chat.disableAIFeatures': true,
        });
    }

    private modelPort = 0;
    /** The interpreter in the settings written last. */
    interpreter = '';
    private model: ChildProcess | undefined;

    /** Let the model answer the calls of `area`'s search tree (held until now). */
    release(): void {
        this.model?.stdin?.write('release\n');
    }

    /** A screenshot named after the step, in test-results/screenshots. */
    async screenshot(step: string): Promise<string> {
        mkdirSync(SCREENSHOTS, { recursive: true });
        this.shot += 1;
        const file = path.join(SCREENSHOTS, `${String(this.shot).padStart(2, '0')}-${step}.png`);
        await this.page.screenshot({ path: file });
        return file;
    }

    /** The PlanSearch output channel's text so far (its log file). */
    outputChannel(): string {
        const logs = path.join(this.userData, 'logs');
        const files = existsSync(logs)
            ? readdirSync(logs, { recursive: true, encoding: 'utf8' }).filter((name) => name.endsWith(path.join('plansearch.plansearch', 'PlanSearch.log')))
            : [];
        return files.map((name) => readFileSync(path.join(logs, name), 'utf8')).join('');
    }

    /** Wait until the output channel has a line matching `pattern`. */
    async waitForLog(pattern: RegExp, timeout = STARTUP_MS): Promise<void> {
        const deadline = Date.now() + timeout;
        while (!pattern.test(this.outputChannel())) {
            if (Date.now() > deadline) {
                throw new Error(`the PlanSearch output never matched ${pattern}:\n${this.outputChannel()}`);
            }
            await new Promise((resolve) => setTimeout(resolve, 250));
        }
    }

    /** Close the browser, kill every process group, keep the logs in test-results/logs and
     * remove the rest. */
    async stop(): Promise<void> {
        await this.context?.close().catch(() => undefined);
        for (const child of this.processes) {
            child.stdin?.end();
            if (child.pid !== undefined && child.exitCode === null) {
                try {
                    process.kill(-child.pid, 'SIGKILL');
                } catch {
                    // already gone
                }
            }
        }
        await new Promise((resolve) => setTimeout(resolve, 500));
        rmSync(LOGS, { recursive: true, force: true });
        mkdirSync(LOGS, { recursive: true });
        for (const [from, to] of [
            [path.join(this.userData, 'logs'), 'vscode'],
            [path.join(this.home, 'state', 'plansearch', 'log'), 'server'],
        ]) {
            if (existsSync(from)) {
                cpSync(from, path.join(LOGS, to), { recursive: true });
            }
        }
        for (const name of readdirSync(this.run).filter((file) => file.endsWith('.log'))) {
            cpSync(path.join(this.run, name), path.join(LOGS, name));
        }
        rmSync(this.run, { recursive: true, force: true });
    }

    private env(): NodeJS.ProcessEnv {
        const env: NodeJS.ProcessEnv = {};
        for (const [name, value] of Object.entries(process.env)) {
            if (!/^(ANTHROPIC_|OPENAI_|PLANSEARCH_|VSCODE_)/.test(name)) {
                env[name] = value;
            }
        }
        return {
            ...env,
            HOME: this.home,
            XDG_CONFIG_HOME: path.join(this.home, 'config'),
            XDG_DATA_HOME: path.join(this.home, 'data'),
            XDG_CACHE_HOME: path.join(this.home, 'cache'),
            XDG_STATE_HOME: path.join(this.home, 'state'),
            PLANSEARCH_CONFIG: path.join(this.run, 'no-config.toml'),
            PLANSEARCH_CACHE_PATH: path.join(this.run, 'responses.sqlite3'),
        };
    }

    private spawn(command: string, args: string[], name: string): ChildProcess {
        const child = spawn(command, args, { env: this.env(), detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
        this.processes.push(child);
        const log = path.join(this.run, `${name}.log`);
        const lines: string[] = [];
        child.stderr?.on('data', (data: Buffer) => lines.push(data.toString()));
        child.on('exit', () => writeFileSync(log, lines.join('')));
        return child;
    }

    /** Start the model server; resolves to its port. Its calls are collected in `calls`. */
    private startModel(): Promise<number> {
        const python = required('PYTHON');
        const child = this.spawn(python, [path.join(import.meta.dirname, 'fake_model.py'), KEY], 'fake-model');
        this.model = child;
        return new Promise((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error('the model server did not start')), STARTUP_MS);
            createInterface({ input: child.stdout! }).on('line', (line) => {
                const [word, rest] = [line.split(' ', 1)[0], line.slice(line.indexOf(' ') + 1)];
                if (word === 'port') {
                    clearTimeout(timer);
                    resolve(Number(rest));
                } else if (word === 'call') {
                    this.calls.push(rest);
                }
            });
            child.on('exit', (code) => reject(new Error(`the model server exited (${code})`)));
        });
    }
}

function writeJson(file: string, value: unknown): void {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(value, null, 2));
}

function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = createServer();
        server.listen(0, '127.0.0.1', () => {
            const address = server.address();
            server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
        });
    });
}

async function waitForHttp(url: string): Promise<void> {
    const deadline = Date.now() + STARTUP_MS;
    while (Date.now() < deadline) {
        try {
            if ((await fetch(url)).ok) {
                return;
            }
        } catch {
            // not listening yet
        }
        await new Promise((resolve) => setTimeout(resolve, 250));
    }
    throw new Error(`${url} did not answer within ${STARTUP_MS / 1000} s`);
}
