/**
 * Validation problems and the error bodies they become. Customer.io answers bad requests with
 * `{"meta":{"errors":[...]}}`; each of our messages names the field (and, in a batch, the item)
 * so the sender can fix exactly that.
 *
 * At most MAX_REPORTED_PROBLEMS are kept and answered, then one "and N more problems" entry: a
 * small body full of bad items must not buy a large answer (a 519-byte gzip batch of 160,000 `{}`
 * used to get 29 MB back, twice each problem), nor a long list held in memory meanwhile.
 */
export interface Problem {
  /** JSON path of the offending field, e.g. `data`, `batch[3].timestamp`. */
  readonly field: string;
  readonly message: string;
}

/** Enough for a sender to fix a request by; the rest are the same mistakes again, counted. */
export const MAX_REPORTED_PROBLEMS = 20;

export class Problems {
  /** The first MAX_REPORTED_PROBLEMS problems. */
  readonly list: Problem[] = [];
  /** Problems found beyond `list`, counted only. */
  omitted = 0;

  add(field: string, message: string): void {
    if (this.list.length < MAX_REPORTED_PROBLEMS) this.list.push({ field, message });
    else this.omitted += 1;
  }

  get ok(): boolean {
    return this.list.length === 0 && this.omitted === 0;
  }

  /** Adds another list's problems with their fields under a prefix (batch items). */
  addAll(prefix: string, other: Problems): void {
    for (const problem of other.list) this.add(`${prefix}.${problem.field}`.replace(/\.$/, ''), problem.message);
    this.omitted += other.omitted;
  }
}

export type ErrorBody = { meta: { errors: string[] }; errors: Problem[] };

/**
 * The answer to a bad request: both lists (Customer.io's strings, our `{field, message}`s) hold
 * the first MAX_REPORTED_PROBLEMS problems, then "and N more problems" when there were more.
 */
export function errorBody(problems: readonly Problem[], omitted = 0): ErrorBody {
  const shown = problems.slice(0, MAX_REPORTED_PROBLEMS);
  const more = omitted + problems.length - shown.length;
  const listed = more > 0 ? [...shown, { field: '', message: `and ${more} more problem${more === 1 ? '' : 's'}` }] : shown;
  return {
    meta: { errors: listed.map((p) => (p.field ? `${p.field}: ${p.message}` : p.message)) },
    errors: listed,
  };
}

export function singleError(message: string, field = ''): ErrorBody {
  return errorBody([{ field, message }]);
}
