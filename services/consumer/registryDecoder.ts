/**
 * Decodes outbound values as the registry says they were written, into the reader schema this
 * build carries (schemas/*.avsc): a record written by a newer merger with an added optional field
 * reads as this version's shape, and one written by an older merger gets the defaults of fields it
 * lacked (docs/consuming.md, "Schema evolution"). Read only: it never registers anything.
 *
 * A writer schema is fetched once per schema id, with the registry client's timeout; a record
 * whose bytes are not the wire format, or whose schema cannot be read as ours, throws
 * UndecodableRecordError naming why; a registry that cannot be asked throws
 * RegistryUnavailableError (a reason to wait and retry, never to skip the record).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import avro from 'avsc';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { projectRoot } from '../shared/projectRoot';
import { unframe } from '../shared/avro/wireFormat';
import { OUTBOUND_SCHEMA_FILE, type OutboundStream } from './outboundStreams';

/** The record itself is bad: not the wire format, or not readable as the reader's schema. */
export class UndecodableRecordError extends Error {
  override name = 'UndecodableRecordError';
}

/** The registry could not be asked (down, slow, refusing): nothing is known about the record yet. */
export class RegistryUnavailableError extends Error {
  override name = 'RegistryUnavailableError';
}

export class RegistryDecoder {
  private readonly readers = new Map<OutboundStream, avro.Type>();
  /** Per stream, per writer schema id: the resolver, or null when the id is the reader's own text. */
  private readonly resolvers = new Map<string, Promise<avro.Resolver>>();

  constructor(
    private readonly registry: SchemaRegistry,
    schemaDir = path.join(projectRoot(), 'schemas'),
  ) {
    for (const [stream, file] of Object.entries(OUTBOUND_SCHEMA_FILE) as Array<[OutboundStream, string]>) {
      this.readers.set(stream, avro.Type.forSchema(JSON.parse(readFileSync(path.join(schemaDir, file), 'utf8')) as avro.Schema));
    }
  }

  async decode(stream: OutboundStream, bytes: Buffer): Promise<unknown> {
    const reader = this.readers.get(stream) as avro.Type;
    let framed: { schemaId: number; body: Buffer };
    try {
      framed = unframe(bytes);
    } catch (error) {
      throw new UndecodableRecordError((error as Error).message);
    }
    const resolver = await this.resolverFor(stream, reader, framed.schemaId);
    try {
      return reader.fromBuffer(framed.body, resolver);
    } catch (error) {
      throw new UndecodableRecordError(`the body does not match schema id ${framed.schemaId}: ${(error as Error).message}`);
    }
  }

  private resolverFor(stream: OutboundStream, reader: avro.Type, schemaId: number): Promise<avro.Resolver> {
    const key = `${stream}:${schemaId}`;
    let resolver = this.resolvers.get(key);
    if (!resolver) {
      resolver = this.registry.getSchema(schemaId).then(
        (writer) => {
          try {
            return reader.createResolver(writer as avro.Type);
          } catch (error) {
            throw new UndecodableRecordError(`schema id ${schemaId} cannot be read as ${OUTBOUND_SCHEMA_FILE[stream]}: ${(error as Error).message}`);
          }
        },
        (error: unknown) => {
          // The registry answering that it has no such id is about the record; anything else is about the registry.
          const status = (error as { status?: unknown }).status;
          if (status === 404) throw new UndecodableRecordError(`schema id ${schemaId} is unknown to the registry`);
          throw new RegistryUnavailableError(`schema id ${schemaId} could not be fetched from the registry: ${(error as Error).message}`);
        },
      );
      // A failed fetch is not remembered: the next record asks again.
      resolver.catch(() => this.resolvers.delete(key));
      this.resolvers.set(key, resolver);
    }
    return resolver;
  }
}
