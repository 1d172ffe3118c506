/**
 * People are addressed by the identifier of an API call: an id, an email or a `cio_<id>`.
 * Identifiers are case-sensitive opaque strings, except that an email is compared lower-cased
 * (SPEC, Words). These are the only functions that decide what an identifier is.
 */

export type IdType = 'ID' | 'EMAIL' | 'CIO_ID';

export interface PersonRef {
  readonly id_type: IdType;
  readonly value: string;
}

// Deliberately loose: the Track API accepts anything with one @ and a dot-free-or-not domain as
// an email identifier; we only need to tell emails from ids, not validate deliverability.
const EMAIL = /^[^\s@]+@[^\s@]+$/;
const CIO_PREFIX = 'cio_';

export function isEmail(value: string): boolean {
  return EMAIL.test(value);
}

/** Classifies the identifier in a URL path such as /api/v1/customers/{identifier}. */
export function personFromIdentifier(identifier: string): PersonRef {
  if (identifier.startsWith(CIO_PREFIX) && identifier.length > CIO_PREFIX.length) {
    return { id_type: 'CIO_ID', value: identifier.slice(CIO_PREFIX.length) };
  }
  if (isEmail(identifier)) return { id_type: 'EMAIL', value: identifier.toLowerCase() };
  return { id_type: 'ID', value: identifier };
}

/** A stable string for a person, unique within a workspace: used in keys and Redis. */
export function personKey(person: PersonRef): string {
  return `${person.id_type.toLowerCase()}:${person.value}`;
}

/** Inverse of personKey. */
export function personFromKey(key: string): PersonRef {
  const colon = key.indexOf(':');
  const kind = key.slice(0, colon).toUpperCase();
  if (colon < 0 || (kind !== 'ID' && kind !== 'EMAIL' && kind !== 'CIO_ID')) throw new Error(`not a person key: ${key}`);
  return { id_type: kind, value: key.slice(colon + 1) };
}

/** How a person is shown to people: the identifier as it was given. */
export function displayPerson(person: PersonRef): string {
  return person.id_type === 'CIO_ID' ? `${CIO_PREFIX}${person.value}` : person.value;
}
