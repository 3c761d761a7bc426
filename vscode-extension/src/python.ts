/** The interpreter selected in the Python extension, through its API (when it is installed). */

import { PythonExtension } from '@vscode/python-extension';
import * as vscode from 'vscode';

const PYTHON_EXTENSION = 'ms-python.python';

/** The selected interpreter's executable for `resource`, or undefined. */
export async function selectedInterpreter(resource: vscode.Uri | undefined): Promise<string | undefined> {
    const api = await pythonApi();
    if (api === undefined) {
        return undefined;
    }
    const environment = await api.environments.resolveEnvironment(
        api.environments.getActiveEnvironmentPath(resource),
    );
    return environment?.executable.uri?.fsPath;
}

/** Calls `listener` when the selected interpreter changes. */
export async function onInterpreterChanged(listener: () => void): Promise<vscode.Disposable | undefined> {
    const api = await pythonApi();
    return api?.environments.onDidChangeActiveEnvironmentPath(listener);
}

async function pythonApi(): Promise<PythonExtension | undefined> {
    if (vscode.extensions.getExtension(PYTHON_EXTENSION) === undefined) {
        return undefined;
    }
    return PythonExtension.api();
}
