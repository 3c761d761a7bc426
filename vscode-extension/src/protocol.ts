/**
 * The PlanSearch server's own methods and their payloads, as they travel (camelCase JSON).
 * Mirrors `server/wire.py`.
 */

export const GENERATE = 'plansearch/generate';
export const APPLY = 'plansearch/apply';
export const PREVIEW = 'plansearch/preview';
export const SET_API_KEY = 'plansearch/setApiKey';
export const RANKING_CHANGED = 'plansearch/rankingChanged';

export interface Position {
    line: number;
    character: number;
}

export interface Range {
    start: Position;
    end: Position;
}

/** Where to search: a cursor in a stub, or a selected statement. */
export interface Target {
    textDocument: { uri: string };
    position?: Position;
    range?: Range;
}

export interface GenerateParams extends Target {
    workDoneToken: string;
    partialResultToken: string;
}

export interface Plan {
    observations: string[];
    sketch: string | null;
    criticism: string | null;
    fixedSketch: string | null;
    pseudocode: string | null;
}

/** One candidate as the editor shows it. */
export interface CandidateItem {
    id: string;
    /** 1-based; null when the candidate was not ranked (yet). */
    rank: number | null;
    /** The first line of the plan. */
    headline: string;
    code: string;
    tested: boolean;
    /** e.g. "5/5 docstring examples". */
    tally: string;
    passed: number;
    total: number;
    passesAll: boolean;
    firstFailure: string | null;
    explanation: string | null;
    /** Warnings: side effects ("writes ~/leak.txt"), "may special-case the tests", in-process verdicts. */
    flags?: string[];
    /** Behaviour cluster (numbered by the rank of its best member); null when untested. */
    cluster?: number | null;
    /** Candidates that behave alike, this one included. */
    clusterSize?: number;
    /** The first of its cluster in the ranking. */
    representative?: boolean;
    plan: Plan;
}

/** A candidate's place in the ranking at one moment. */
export interface Place {
    id: string;
    rank: number;
    cluster: number | null;
    clusterSize: number;
    representative: boolean;
}

/** The one account of a search's progress that every place showing it uses. */
export interface ProgressCounts {
    /** In words: "writing plans", "testing". */
    stage: string;
    calls: number;
    failedCalls: number;
    tokens: number;
    candidates: number;
    tested: number;
    passing: number;
}

export interface SearchStats {
    calls: number;
    inputTokens: number;
    outputTokens: number;
    seconds: number;
    /** Calls that still failed after their retries. */
    failedCalls?: number;
    retries?: number;
    /** Calls that succeeded on a retry. */
    recoveredCalls?: number;
    /** Failed attempts by kind, e.g. `{ "timed_out": 2 }`. */
    faults?: Record<string, number>;
    emptyReplies?: number;
    /** Branches of the search abandoned after a failed call. */
    droppedBranches?: number;
}

/** The outcome of `plansearch/generate`: candidates in rank order. */
export interface GenerateResult {
    searchId: string;
    runId: string | null;
    target: string;
    strategy: string;
    model: string;
    finishReason: string;
    message: string | null;
    candidates: CandidateItem[];
    tests: number;
    stats: SearchStats;
    errors: string[];
}

/** A `$/progress` value on the partial-result token. */
export interface PartialResult {
    /** The search, so that its candidates can be previewed while it runs. */
    searchId: string;
    candidates: CandidateItem[];
    /** Every ranked candidate's place after this test run (to regroup those sent before). */
    ranking?: Place[] | null;
}

export interface PreviewParams {
    searchId: string;
    candidateId: string;
}

/** The document when the search started, and as applying the candidate would leave it. */
export interface PreviewResult {
    uri: string;
    version: number | null;
    before: string;
    after: string;
    /** The function as it lands in the file (null for a program written from a statement). */
    function?: string | null;
}

export interface ApplyParams {
    searchId: string;
    candidateId: string;
    rebase: boolean;
}

export interface ApplyResult {
    applied: boolean;
    reason?: string | null;
    canRebase: boolean;
}

export interface SetApiKeyParams {
    provider: string;
    key: string;
}

export interface RankingChangedParams {
    runId: string;
    uri: string | null;
    qualname: string | null;
    testFile: string;
    candidates: CandidateItem[];
}
