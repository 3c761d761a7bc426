/** Scrubbing secrets out of text before it reaches a log. */

export const REDACTED = '[redacted]';
/** Shorter values are not scrubbed: they would match ordinary words. */
const MIN_SECRET = 8;

export function redact(text: string, secrets: Iterable<string>): string {
    let clean = text;
    for (const secret of secrets) {
        if (secret.length >= MIN_SECRET) {
            clean = clean.split(secret).join(REDACTED);
        }
    }
    return clean;
}
