/**
 * The minimum strength of the secrets in a workspaces file, checked when it is loaded at start:
 * with the failed-auth brake at 20 guesses a minute per address, a 16-character key is out of
 * reach of guessing, an 8-character word is not — and the identity verification secret must also
 * resist a search offline, from any user hash a page shows. Only secrets are checked — the publishable key
 * is public by design. Registries built in code (tests) are not loaded from a file and are not
 * checked.
 */
export const MIN_SECRET_LENGTH = 16;

/**
 * One problem per secret that is too short, naming where it is and never its value. Checked on
 * the file as written: past parsing, keys are digests only.
 */
export function weakSecrets(document: unknown): string[] {
  const problems: string[] = [];
  const list = (document as { workspaces?: unknown })?.workspaces;
  (Array.isArray(list) ? list : []).forEach((entry: unknown, index) => {
    const workspace = (entry ?? {}) as Record<string, unknown>;
    for (const field of ['api_key', 'write_key', 'identity_verification_secret']) {
      const value = workspace[field];
      if (typeof value === 'string' && value.length < MIN_SECRET_LENGTH) {
        problems.push(`workspaces[${index}].${field} must be at least ${MIN_SECRET_LENGTH} characters (e.g. openssl rand -hex 16)`);
      }
    }
  });
  return problems;
}
