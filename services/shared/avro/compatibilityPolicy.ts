/**
 * How each schema may change (docs/consuming.md, "Schema evolution"): the compatibility level the
 * registry enforces on its subjects, and `make schema-check` enforces on a change to schemas/.
 *
 * FULL_TRANSITIVE for every subject: a change must let records of every earlier version be read
 * with the new schema (backward) *and* records of the new one be read with every earlier schema
 * (forward). In practice: add or remove only fields that have a default; never rename, retype or
 * re-order enum symbols.
 * - Outbound streams (merged-events, campaign-triggers, activity, anonymous-events, dead-letters):
 *   consumers are other teams' programs, upgraded before or after the merger as they please, and
 *   a new consumer group re-reads the topic from the start of its retention. Forward, so that a
 *   consumer on the old schema keeps working when the merger is upgraded; backward, so that an
 *   upgraded consumer reads what is already in the topic; transitive, because a reader may be any
 *   number of versions behind and the topic holds records of every version in its retention.
 * - Internal streams (inbound, person-ops, commands, person-order): written and read by our own
 *   processes, but during a rolling upgrade old and new ones run side by side (a new ingest before
 *   the last old merger, a new control plane writing commands an old data plane reads), and
 *   `anonmerge rebuild` re-reads the inbound log from its start (35 days). BACKWARD alone would let
 *   a new field break the old merger that reads it.
 */
import { COMPATIBILITY } from '@kafkajs/confluent-schema-registry';
import { SCHEMA_FILE_OF, type StreamName } from './schemaFiles';

const FULL_TRANSITIVE = COMPATIBILITY.FULL_TRANSITIVE;

export const COMPATIBILITY_OF: Readonly<Record<StreamName, COMPATIBILITY>> = {
  mergedEvents: FULL_TRANSITIVE,
  campaignTriggers: FULL_TRANSITIVE,
  activity: FULL_TRANSITIVE,
  anonymousEvents: FULL_TRANSITIVE,
  deadLetters: FULL_TRANSITIVE,
  inbound: FULL_TRANSITIVE,
  personOps: FULL_TRANSITIVE,
  commands: FULL_TRANSITIVE,
  personOrder: FULL_TRANSITIVE,
  // Followed by every ingest and activity replica, old and new side by side in a rolling upgrade.
  workspaces: FULL_TRANSITIVE,
  // Public: producers' old and new schema versions write side by side while the bridge reads both.
  requests: FULL_TRANSITIVE,
};

/** Levels from weakest to strictest, for a file several subjects share. */
const STRICTNESS: readonly COMPATIBILITY[] = [
  COMPATIBILITY.NONE,
  COMPATIBILITY.BACKWARD,
  COMPATIBILITY.FORWARD,
  COMPATIBILITY.FULL,
  COMPATIBILITY.BACKWARD_TRANSITIVE,
  COMPATIBILITY.FORWARD_TRANSITIVE,
  COMPATIBILITY.FULL_TRANSITIVE,
];

/** The level a schema file must keep: the strictest of the subjects it is registered under. */
export function compatibilityOfFile(file: string): COMPATIBILITY {
  const levels = (Object.keys(SCHEMA_FILE_OF) as StreamName[]).filter((stream) => SCHEMA_FILE_OF[stream] === file).map((stream) => COMPATIBILITY_OF[stream]);
  if (levels.length === 0) throw new Error(`no stream uses ${file}`);
  return levels.reduce((a, b) => (STRICTNESS.indexOf(a) >= STRICTNESS.indexOf(b) ? a : b));
}
