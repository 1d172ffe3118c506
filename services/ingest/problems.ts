/**
 * Validation problems and the error bodies they become. Customer.io answers bad requests with
 * `{"meta":{"errors":[...]}}`; each of our messages names the field (and, in a batch, the item)
 * so the sender can fix exactly that.
 */
export interface Problem {
  /** JSON path of the offending field, e.g. `data`, `batch[3].timestamp`. */
  readonly field: string;
  readonly message: string;
}

export class Problems {
  readonly list: Problem[] = [];

  add(field: string, message: string): void {
    this.list.push({ field, message });
  }

  get ok(): boolean {
    return this.list.length === 0;
  }

  /** Adds another list's problems with their fields under a prefix (batch items). */
  addAll(prefix: string, other: Problems): void {
    for (const problem of other.list) this.list.push({ field: `${prefix}.${problem.field}`.replace(/\.$/, ''), message: problem.message });
  }
}

export function errorBody(problems: readonly Problem[]): { meta: { errors: string[] }; errors: Problem[] } {
  return {
    meta: { errors: problems.map((p) => (p.field ? `${p.field}: ${p.message}` : p.message)) },
    errors: [...problems],
  };
}

export function singleError(message: string, field = ''): { meta: { errors: string[] }; errors: Problem[] } {
  return errorBody([{ field, message }]);
}
