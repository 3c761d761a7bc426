/**
 * What a preview compares. Normally the server says (`plansearch/preview`): the document before,
 * and after the candidate is put in place as applying would. Without it (an older server), the
 * function as it is in the document and the candidate's code as written, at the same indentation.
 */

export interface Block {
    /** First line (0-based) of the function, its `def`. */
    start: number;
    /** The line after its last non-blank line. */
    end: number;
    indent: string;
}

const DEF = /^(\s*)(?:async\s+)?def\s/;

/** The innermost function whose header or body holds `line`, or undefined. */
export function functionAt(lines: readonly string[], line: number): Block | undefined {
    for (let index = Math.min(line, lines.length - 1); index >= 0; index--) {
        const match = DEF.exec(lines[index]);
        if (match) {
            const end = blockEnd(lines, index, match[1].length);
            if (line < end) {
                return { start: index, end, indent: match[1] };
            }
        }
    }
    return undefined;
}

/** `code` with every non-blank line indented by `indent`. */
export function indented(code: string, indent: string): string {
    return code
        .trimEnd()
        .split('\n')
        .map((text) => (text.trim() === '' ? '' : indent + text))
        .join('\n');
}

function blockEnd(lines: readonly string[], start: number, indent: number): number {
    let index = headerEnd(lines, start) + 1;
    let end = index;
    for (; index < lines.length; index++) {
        const text = lines[index];
        if (text.trim() === '') {
            continue;
        }
        if (indentation(text) <= indent) {
            break;
        }
        end = index + 1;
    }
    return end;
}

/** The line that closes a header spread over several lines (its brackets balanced). */
function headerEnd(lines: readonly string[], start: number): number {
    let depth = 0;
    for (let index = start; index < lines.length; index++) {
        for (const char of lines[index].replace(/#.*$/, '')) {
            depth += char === '(' || char === '[' ? 1 : char === ')' || char === ']' ? -1 : 0;
        }
        if (depth <= 0) {
            return index;
        }
    }
    return start;
}

function indentation(text: string): number {
    return text.length - text.trimStart().length;
}

/** The first line (0-based) where `after` differs from `before`, or 0 when they are equal. */
export function firstDifference(before: string, after: string): number {
    const left = before.split(/\r?\n/);
    const right = after.split(/\r?\n/);
    const index = left.findIndex((line, at) => line !== right[at]);
    if (index >= 0) {
        return index;
    }
    return right.length > left.length ? left.length : 0;
}

/** Height of a picker row with a detail line, and of the picker's title, input and margins,
 * in pixels (VS Code's quick input). */
const ROW_PX = 44;
const PICKER_CHROME_PX = 110;
/** Rows the picker shows before it scrolls (its list is at most 40% of the window high). */
const MAX_ROWS = 9;
/** Pixels of the window above the editor's first line (title bar, tabs, breadcrumbs). */
const EDITOR_TOP_PX = 90;

/**
 * Editor lines the candidate picker covers at the top of the editor area: `rows` rows (two lines
 * each), with `lineHeight` (0: derived from `fontSize`, as VS Code does).
 */
export function coveredLines(rows: number, lineHeight: number, fontSize: number): number {
    const line = lineHeight > 0 ? (lineHeight < 8 ? lineHeight * fontSize : lineHeight) : Math.round(fontSize * 1.35);
    const bottom = PICKER_CHROME_PX + ROW_PX * Math.min(Math.max(rows, 1), MAX_ROWS);
    return Math.max(0, Math.ceil((bottom - EDITOR_TOP_PX) / line));
}

/**
 * The line to scroll to the top of a preview so that its first change, at `change`, lands below
 * the `covered` lines with two to spare, while the editor shows `visible` lines; 0 when the file
 * cannot scroll that far (the change is near its top, and stays where it is).
 */
export function previewTop(change: number, covered: number, visible: number): number {
    const below = Math.min(covered + 2, Math.max(0, visible - 4));
    return Math.max(0, change - below);
}
