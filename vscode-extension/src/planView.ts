/**
 * A candidate's plan and test results as a Markdown page (the "Show Plan" view): the plan's prose
 * as the server cleaned it (no code blocks that are not the candidate), then the code as it lands
 * in the file (`landed`, from the server's preview), else as the model wrote it.
 */

import type { CandidateItem } from './protocol';

export function planMarkdown(item: CandidateItem, target: string, landed?: string): string {
    const plan = item.plan;
    const parts = [`# ${target}: candidate ${item.id}`];
    parts.push(item.rank === null ? 'Not ranked.' : `Rank ${item.rank}.`);
    parts.push('## Tests', testLines(item).join('\n'));
    if (plan.observations.length > 0) {
        parts.push('## Observations', plan.observations.map((line) => `- ${line.trim()}`).join('\n'));
    }
    for (const [title, text] of [
        ['Sketch', plan.sketch],
        ['Criticism', plan.criticism],
        ['Fixed sketch', plan.fixedSketch],
    ] as const) {
        if (text) {
            parts.push(`## ${title}`, text.trim());
        }
    }
    if (plan.pseudocode) {
        parts.push('## Pseudocode', fenced(plan.pseudocode, 'text'));
    }
    parts.push(landed ? '## Code, as it lands in the file' : '## Code', fenced(landed ?? item.code, 'python'));
    return `${parts.join('\n\n')}\n`;
}

function testLines(item: CandidateItem): string[] {
    if (!item.tested) {
        return ['Not tested.'];
    }
    const lines = [`- ${item.passesAll ? 'Passes' : 'Fails'}: ${item.tally}`];
    if (item.explanation) {
        lines.push(`- ${item.explanation}`);
    }
    for (const flag of item.flags ?? []) {
        lines.push(`- Warning: ${flag}`);
    }
    if (item.firstFailure) {
        lines.push('', 'First failure:', '', fenced(item.firstFailure, 'text'));
    }
    return lines;
}

/** `text` in a code fence longer than any run of backticks inside it. */
export function fenced(text: string, language: string): string {
    const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((match) => match[0].length));
    const fence = '`'.repeat(Math.max(3, longest + 1));
    return `${fence}${language}\n${text.trimEnd()}\n${fence}`;
}
