/**
 * The extension in real VS Code (code-server in headless Chromium), against the real server and
 * the loopback model: install offer, key, code action, picker, preview, apply, hover, plan view,
 * and a cancelled search. Each step leaves a screenshot in test-results/screenshots.
 */

import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import {
    AREA_DOC,
    AREA_HEADER,
    AREA_STUB,
    KEY,
    PERIMETER,
    PERIMETER_STUB,
    PREFIX,
    REPO,
    SCREENSHOTS,
    Session,
} from './harness';
import { UI_MS, Workbench } from './workbench';

const SEARCH_MS = 60_000;
const RIGHT = 'math.pi * r ** 2';

const session = new Session();
let bench: Workbench;
let bare: string;

beforeAll(async () => {
    bare = path.join(session.run, 'bare');
    execFileSync('python3', ['-m', 'venv', '--without-pip', bare]);
    await session.start(path.join(bare, 'bin', 'python'));
    bench = new Workbench(session.page);
    console.log(`screenshots: ${SCREENSHOTS}`);
});

afterEach(async (context) => {
    if (context.task.result?.state === 'fail') {
        await session.screenshot(`failed-${context.task.name.replaceAll(/\W+/g, '-')}`).catch(() => undefined);
        console.log(`PlanSearch output:\n${session.outputChannel()}`);
    }
});

afterAll(async () => {
    await session.stop();
});

describe('PlanSearch in VS Code', () => {
    it('offers to install plansearch into an interpreter that lacks it, and restarts on a new one', async () => {
        await bench.openFile('geometry.py');
        const python = path.join(bare, 'bin', 'python');
        const offer = bench.toast(`the plansearch package is not installed in ${python}`);
        await offer.waitFor({ timeout: UI_MS });
        await expect(offer.innerText()).resolves.toMatch(
            new RegExp(`This will run: ${escape(python)} -m pip install \\S+/bundled/plansearch-[\\d.]+-py3-none-any\\.whl`),
        );
        await session.screenshot('install-offer');
        await offer.locator('.codicon-notifications-clear').click();

        session.writeSettings(path.join(REPO, '.venv', 'bin', 'python'));
        await session.waitForLog(/plansearch\.interpreter changed: restarting the server/);
        await session.waitForLog(/language server .* ready/);
    });

    it('keeps the API key from "Set API Key" and hands it to the server', async () => {
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

    it('generates from the code action: picker, preview, choice, new file content', async () => {
        await bench.goTo(AREA_STUB);
        await session.page.keyboard.press('Control+.');
        const action = session.page.locator('.action-widget .monaco-list-row', { hasText: 'Generate via PlanSearch' });
        await action.waitFor({ timeout: UI_MS });
        await session.screenshot('code-action');
        await action.click();

        await bench.quickInput().waitFor({ timeout: UI_MS });
        await session.screenshot('picker-streaming');
        await bench.quickTitle().filter({ hasText: '(completed)' }).waitFor({ timeout: SEARCH_MS });
        await expect(bench.quickTitle().innerText()).resolves.toMatch(/area: 6 candidates, 3 pass every test \(completed\)/);
        const rows = await bench.quickRows().allInnerTexts();
        expect(rows).toHaveLength(6);
        expect(rows[0]).toMatch(/^1\. .*2\/2 of test_geometry\.py/s);
        await session.screenshot('picker-done');

        await session.page.keyboard.press('ArrowDown');
        const diff = session.page.locator('.tab', { hasText: /area: now ↔ candidate \w+/ });
        await diff.waitFor({ timeout: UI_MS });
        const sides = session.page.locator('.monaco-diff-editor');
        await sides.locator('.editor.original .view-line', { hasText: 'def area(r: float) -> float:' }).waitFor({ timeout: UI_MS });
        await sides.locator('.editor.modified .view-line', { hasText: `return ${RIGHT}` }).waitFor({ timeout: UI_MS });
        await session.screenshot('preview-diff');
        await session.page.keyboard.press('ArrowUp');
        await session.page.keyboard.press('Enter');

        await bench.line(`return ${RIGHT}`).waitFor({ timeout: UI_MS });
        await diff.waitFor({ state: 'detached', timeout: UI_MS });
        await bench.save();
        await session.screenshot('applied');
        const text = readFileSync(path.join(session.workspace, 'geometry.py'), 'utf8');
        expect(text).toBe(`${PREFIX}${AREA_HEADER}${AREA_DOC}    return ${RIGHT}\n${PERIMETER}`);
        await expect(bench.statusItem(/PlanSearch: [\d.]+k? tokens · ≈\$[\d.]+ \(completed\)/).count()).resolves.toBe(1);
    });

    it('shows the plan when hovering over the generated function', async () => {
        const name = bench.line('def area(').locator('span', { hasText: /^area$/ });
        await name.hover();
        const hover = session.page.locator('.monaco-hover-content', { hasText: 'PlanSearch candidate' });
        await hover.waitFor({ timeout: UI_MS });
        const text = await hover.innerText();
        expect(text).toMatch(/Fixed sketch\s+fix reply \w+: think carefully\./);
        expect(text).toMatch(/Tests: .*2\/2 of test_geometry\.py/);
        expect(text).toContain("test_geometry.py::test_radius_two");
        await session.screenshot('hover');
        await session.page.keyboard.press('Escape');
    });

    it('opens the full plan with "Show Plan"', async () => {
        await bench.goTo('6:5');
        await bench.runCommand('PlanSearch: Show Plan');
        await session.page.locator('.tab', { hasText: 'Preview at-cursor.md' }).waitFor({ timeout: UI_MS });
        await session.page.waitForTimeout(1000);
        await session.screenshot('show-plan');
        await session.page.locator('.tab.active .codicon-close').click();
    });

    it('cancels a running search from its notification, and the search stops', async () => {
        await bench.openFile('geometry.py');
        await bench.goTo(PERIMETER_STUB);
        await bench.runCommand('PlanSearch: Generate');
        const progress = bench.toast(/perimeter: /);
        await progress.waitFor({ timeout: UI_MS });
        await expect.poll(() => session.calls.filter((call) => call.startsWith('perimeter')).length, { timeout: UI_MS }).toBeGreaterThan(0);
        await session.screenshot('second-search-running');

        await progress.getByRole('button', { name: 'Cancel' }).click();
        await progress.waitFor({ state: 'detached', timeout: UI_MS });
        await bench.statusItem('(cancelled)').waitFor({ timeout: UI_MS });
        await session.screenshot('second-search-cancelled');
        await session.waitForLog(/search \w+ for perimeter: \d+ candidates \(cancelled\)/);
        const calls = session.calls.length;
        await session.page.waitForTimeout(3000);
        expect(session.calls.length).toBe(calls);
    });

    it('never writes the key to settings, logs or the output channel', () => {
        expect(session.outputChannel()).toContain('API key for anthropic received');
        const leaks = filesUnder(session.run)
            .filter((file) => !file.startsWith(path.join(session.run, 'browser')))
            .filter((file) => readFileSync(file).includes(KEY));
        expect(leaks).toEqual([]);
    });
});

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
