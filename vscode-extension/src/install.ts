/** Checking that the interpreter has the server's package, and the command that installs it. */

/** Arguments that make the interpreter exit 0 when the server's package imports. */
export const PROBE_ARGS = ['-c', 'import plansearch_lsp'];

/** True when the probe failed because a module (the package or a dependency) is missing. */
export function isMissingModule(stderr: string): boolean {
    return /ModuleNotFoundError: No module named /.test(stderr);
}

/** The newest `plansearch` wheel among `files` (the extension's `bundled/` folder). */
export function wheelIn(files: readonly string[]): string | undefined {
    return files
        .filter((name) => /^plansearch-[^-]+-.*\.whl$/.test(name))
        .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
        .at(-1);
}

/** Arguments for the interpreter that install `wheel` (and its dependencies) with pip. */
export function installArgs(wheel: string): string[] {
    return ['-m', 'pip', 'install', wheel];
}

/** A command line as a person would type it in a POSIX shell. */
export function commandLine(command: string, args: readonly string[]): string {
    return [command, ...args].map(quote).join(' ');
}

function quote(word: string): string {
    return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}
