/**
 * The extension in real VS Code (code-server in headless Chromium), against the real server and
 * the loopback model: install offer, key, code action, picker, preview, apply, hover, plan view,
 * and a cancelled search. Each step leaves a screenshot in test-results/screenshots.
 */

import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import {
    AREA_DOC,
    AREA_HEADER,
    AREA_STUB,
    DIAMETER,
    DIAMETER_STUB,
    KEY,
    PERIMETER,
    PERIMETER_STUB,
    PREFIX,
    REPO,
    Session,
} from './harness.ts';
import { UI_MS, Workbench } from './workbench.ts';

const SEARCH_MS = 60_000;
const STEP_MS = 90_000;
const STARTUP_MS = 180_000;
const RIGHT = 'math.pi * r ** 2';

const session = new Session();
let bench: Workbench;
let bare: string;
let broken = false;

/** A step of the story: skipped once an earlier one failed, with a screenshot when it fails. */
function step(name: string, body: () => Promise<void>): void {
    it(name, { timeout: STEP_MS }, async (context) => {
        if (broken) {
            context.skip('an earlier step failed');
            return;
        }
        try {
            await body();
        } catch (error) {
            broken = true;
            await session.screenshot(`failed-${name.replaceAll(/\W+/g, '-')}`).catch(() => undefined);
            console.log(`PlanSearch output:\n${session.outputChannel()}`);
            throw error;
        }
    });
}

before(async () => {
    bare = path.join(session.run, 'bare');
    execFileSync('python3', ['-m', 'venv', '--without-pip', bare]);
    await session.start(path.join(bare, 'bin', 'python'));
    bench = new Workbench(session.page);
}, { timeout: STARTUP_MS });

after(async () => {
    await session.stop();
});

describe('PlanSearch in VS Code', () => {
    step('offers to install plansearch into an interpreter that lacks it, and restarts on a new one', async () => {
        await bench.openFile('geometry.py');
        const python = path.join(bare, 'bin', 'python');
        const offer = bench.toast(`the plansearch package is not installed in ${python}`);
        await offer.waitFor({ timeout: UI_MS });
        assert.match(
            await offer.innerText(),
            new RegExp(`This will run: ${escape(python)} -m pip install \\S+/bundled/plansearch-[\\d.]+-py3-none-any\\.whl`),
        );
        await session.screenshot('install-offer');
        await offer.locator('.codicon-notifications-clear').click();

        session.writeSettings(path.join(REPO, '.venv', 'bin', 'python'));
        await session.waitForLog(/plansearch\.interpreter changed: restarting the server/);
        await session.waitForLog(/language server .* ready/);
    });

    step('keeps the API key from "Set API Key" and hands it to the server', async () => {
        await bench.runCommand('Developer: Set Log Level...');
        await bench.quickRow(/^PlanSearch/).click();
        await bench.quickRow(/^Trace/).click();
        await bench.runCommand('PlanSearch: Set API Key');
        await bench.quickRow('anthropic').waitFor({ timeout: UI_MS });
        await session.page.keyboard.press('Enter');
        await bench.quickInput().locator('input[type="password"]').waitFor({ timeout: UI_MS });
        await session.page.keyboard.type(KEY);
        await session.screenshot('api-key');
        await session.page.keyboard.press('Enter');
        await bench.toast('the anthropic key is stored').waitFor({ timeout: UI_MS });
        await session.waitForLog(/API key for anthropic received/);
    });

    step('generates from the code action: picker, preview, choice, new file content', async () => {
        await bench.goTo(AREA_STUB);
        const action = await bench.codeAction('Generate via PlanSearch');
        await session.screenshot('code-action');
        await action.click();

        await bench.quickInput().waitFor({ timeout: UI_MS });
        await session.screenshot('picker-streaming');
        await bench.quickTitle().filter({ hasText: '(completed)' }).waitFor({ timeout: SEARCH_MS });
        assert.match(await bench.quickTitle().innerText(), /area: 6 candidates, 3 pass every test \(completed\)/);
        const rows = await bench.quickRows().allInnerTexts();
        assert.equal(rows.length, 6, rows.join('\n'));
        assert.match(rows[0], /^1\. .*2\/2 of test_geometry\.py/s);
        await session.screenshot('picker-done');

        await session.page.keyboard.press('ArrowDown');
        const diff = bench.previewTab('area');
        await diff.waitFor({ timeout: UI_MS });
        const sides = session.page.locator('.monaco-diff-editor');
        // The file as it is (the stub) against the file as applying would leave it: the stub's
        // header and docstring kept (the candidate's own header is `def area(r):`).
        const before = sides.locator('.editor.original');
        const after = sides.locator('.editor.modified');
        await before.locator('.view-line', { hasText: /^\s*\.\.\.\s*$/ }).first().waitFor({ timeout: UI_MS });
        await after.locator('.view-line', { hasText: 'def area(r: float) -> float:' }).first().waitFor({ timeout: UI_MS });
        await after.locator('.view-line', { hasText: 'Area of a circle of radius r.' }).first().waitFor({ timeout: UI_MS });
        assert.equal(await after.locator('.view-line', { hasText: 'def area(r):' }).count(), 0);
        await session.screenshot('preview-diff');
        await session.page.keyboard.press('ArrowUp');
        await session.page.keyboard.press('Enter');

        await diff.waitFor({ state: 'detached', timeout: UI_MS });
        await bench.line(`return ${RIGHT}`).waitFor({ timeout: UI_MS });
        await bench.save();
        await session.screenshot('applied');
        const text = readFileSync(path.join(session.workspace, 'geometry.py'), 'utf8');
        assert.equal(text, `${PREFIX}${AREA_HEADER}${AREA_DOC}    return ${RIGHT}\n${PERIMETER}${DIAMETER}    ...\n`);
        assert.equal(await bench.statusItem(/PlanSearch: [\d.]+k? tokens · ≈\$[\d.]+ \(completed\)/).count(), 1);
    });

    step('shows the plan when hovering over the generated function', async () => {
        const name = bench.line('def area(').locator('span', { hasText: /^area$/ });
        await name.hover();
        const hover = session.page.locator('.monaco-hover-content', { hasText: 'PlanSearch candidate' });
        await hover.waitFor({ timeout: UI_MS });
        const text = await hover.innerText();
        assert.match(text, /Fixed sketch\s+fix reply \w+: think carefully\./);
        assert.match(text, /Tests: .*2\/2 of test_geometry\.py/);
        assert.ok(text.includes('test_geometry.py::test_radius_two'), text);
        await session.screenshot('hover');
        await session.page.keyboard.press('Escape');
    });

    step('opens the full plan with "Show Plan"', async () => {
        await bench.goTo('6:5');
        await bench.runCommand('PlanSearch: Show Plan');
        await session.page.locator('.tab', { hasText: 'Preview at-cursor.md' }).waitFor({ timeout: UI_MS });
        const body = session.page.frameLocator('iframe.webview').frameLocator('iframe').locator('body');
        await body.getByText('Fixed sketch').waitFor({ timeout: UI_MS });
        assert.match(await body.innerText(), /PlanSearch candidate \w+[\s\S]*fix reply \w+: think carefully\./);
        await session.screenshot('show-plan');
        await bench.runCommand('View: Close Editor');
    });

    step('streams candidates into the picker; Enter during the search stops it and applies', async () => {
        await bench.openFile('geometry.py');
        await bench.goTo(DIAMETER_STUB);
        await bench.runCommand('PlanSearch: Generate');
        await bench.quickRow(/^1\. .*docstring examples/).waitFor({ timeout: SEARCH_MS });
        assert.match(await bench.quickTitle().innerText(), /^PlanSearch: diameter: (?!.*\((completed|cancelled)\))/);
        await session.screenshot('picker-streaming-diameter');
        await session.page.keyboard.press('Enter');

        await bench.statusItem('(cancelled)').waitFor({ timeout: UI_MS });
        await bench.previewTab('diameter').waitFor({ state: 'detached', timeout: UI_MS });
        await bench.line('return 2 * r').waitFor({ timeout: UI_MS });
        await bench.save();
        await session.screenshot('diameter-applied');
        const text = readFileSync(path.join(session.workspace, 'geometry.py'), 'utf8');
        assert.ok(text.endsWith(`${DIAMETER}    return 2 * r\n`), text);
        const kept = /search \w+ for diameter: (\d+) candidates \(cancelled\)/.exec(session.outputChannel());
        assert.ok(kept && Number(kept[1]) >= 1 && Number(kept[1]) < 6, kept?.[0]);
    });

    step('cancels a running search from its notification, and the search stops', async () => {
        await bench.goTo(PERIMETER_STUB);
        await bench.runCommand('PlanSearch: Generate');
        const progress = bench.toast(/perimeter: /);
        await progress.waitFor({ timeout: UI_MS });
        await waitUntil(() => session.calls.some((call) => call.startsWith('perimeter')), 'a model call about perimeter');
        await session.screenshot('second-search-running');

        await progress.getByRole('button', { name: 'Cancel' }).click();
        await progress.waitFor({ state: 'detached', timeout: UI_MS });
        await bench.statusItem('(cancelled)').waitFor({ timeout: UI_MS });
        await session.screenshot('second-search-cancelled');
        await session.waitForLog(/search \w+ for perimeter: \d+ candidates \(cancelled\)/);
        const calls = session.calls.length;
        await session.page.waitForTimeout(3000);
        assert.equal(session.calls.length, calls, 'model calls went on after the cancellation');
    });

    step('never writes the key to settings, logs or the output channel', async () => {
        const output = session.outputChannel();
        assert.ok(output.includes('API key for anthropic received'), output);
        assert.match(output, /Sending notification 'plansearch\/setApiKey'[\s\S]*"key": "\[redacted\]"/);
        const leaks = filesUnder(session.run)
            .filter((file) => !file.startsWith(path.join(session.run, 'browser')))
            .filter((file) => readFileSync(file).includes(KEY));
        assert.deepEqual(leaks, []);
    });
});

async function waitUntil(condition: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + UI_MS;
    while (!condition()) {
        if (Date.now() > deadline) {
            throw new Error(`timed out waiting for ${what}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
}

function escape(text: string): string {
    return text.replaceAll(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function filesUnder(folder: string): string[] {
    return readdirSync(folder, { recursive: true, encoding: 'utf8' })
        .map((name) => path.join(folder, name))
        .filter((file) => {
            try {
                return statSync(file).isFile();
            } catch {
                return false;
            }
        });
}
