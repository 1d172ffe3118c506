/**
 * The outbound records (schemas/*.avsc) as TypeScript sees them: generated from the schemas by
 * the build (scripts/generate-avro-types.js), so the merger and the consumer helper code against
 * the contract itself, not a copy of it.
 */
export type { Activity, ActivityKind, AnonymousEvent, CampaignTrigger, DeadLetter, MergedEvent } from '../generated/avroTypes';
