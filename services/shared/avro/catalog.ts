/**
 * Registers the project's schemas at start and turns records into bytes and back.
 *
 * Schema ids are resolved once, at start: encoding is then synchronous and does no I/O (the
 * registry client would otherwise look the id up on every call). Decoding reads the writer's
 * schema id from the record, fetches that schema once, and keeps a resolver from it to our
 * reader schema, so records written with an older or newer compatible schema still decode.
 */
import avro from 'avsc';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { RegistryConfig, TopicConfig } from '../config';
import type { Logger } from '../logger';
import { createSchemaRegistry } from './registry';
import { COMPATIBILITY_OF } from './compatibilityPolicy';
import { registerSubject } from './subjectRegistration';
import { SCHEMA_DIR, STREAMS, loadSchema, type LoadedSchema, type StreamName } from './schemaFiles';
import { ScratchEncoder } from './scratchEncoder';
import { header, unframe } from './wireFormat';

export class SchemaResolutionError extends Error {
  override name = 'SchemaResolutionError';
  /**
   * `unreadable`: the registry answered, and the writer's schema is unknown to it (404) or cannot
   * be read as ours — the record will never decode. `unavailable`: the registry did not answer
   * (down, timing out, 5xx) — the same record may decode on a later try.
   */
  constructor(
    message: string,
    readonly kind: 'unreadable' | 'unavailable' = 'unreadable',
  ) {
    super(message);
  }
}

interface StreamCodec {
  readonly schema: LoadedSchema;
  readonly schemaId: number;
  readonly resolvers: Map<number, avro.Resolver | null>;
  /** The wire format's header for schemaId, written before every record of the stream. */
  readonly header: Buffer;
}

export class SchemaCatalog {
  private constructor(
    private readonly registry: SchemaRegistry,
    private readonly codecs: Map<StreamName, StreamCodec>,
  ) {}

  /**
   * Registers every schema under schemas/ (subject `<topic>-value`, held to the level of
   * compatibilityPolicy.ts: FULL_TRANSITIVE) and remembers its id. Safe when several processes open the same subjects at once.
   */
  static async open(config: RegistryConfig, topics: TopicConfig, logger: Logger, streams: readonly StreamName[] = STREAMS, schemaDir = SCHEMA_DIR): Promise<SchemaCatalog> {
    const registry = createSchemaRegistry(config);
    const codecs = new Map<StreamName, StreamCodec>();
    for (const stream of streams) {
      const schema = loadSchema(stream, topics, schemaDir);
      const id = await registerSubject(registry, config, schema, COMPATIBILITY_OF[stream], logger);
      codecs.set(stream, { schema, schemaId: id, resolvers: new Map(), header: header(id) });
      logger.debug({ subject: schema.subject, schemaId: id }, 'schema registered');
    }
    return new SchemaCatalog(registry, codecs);
  }

  schemaId(stream: StreamName): number {
    return this.codec(stream).schemaId;
  }

  topic(stream: StreamName): string {
    return this.codec(stream).schema.topic;
  }

  type(stream: StreamName): avro.Type {
    return this.codec(stream).schema.type;
  }

  // One scratch buffer for every encoding: this is the merger's hot path, one call per output.
  private readonly encoder = new ScratchEncoder();

  /** Synchronous: no registry call on the hot path. Throws if the value does not fit the schema. */
  encode(stream: StreamName, value: unknown): Buffer {
    const codec = this.codec(stream);
    return this.encoder.encode(codec.schema.type, value, codec.header);
  }

  /**
   * Decodes a record written with any registered version of the stream's schema into the
   * current one. Throws WireFormatError, SchemaResolutionError or avsc's own error for bytes
   * that are not a valid record: the caller dead-letters those.
   */
  async decode<T>(stream: StreamName, buffer: Buffer): Promise<T> {
    const codec = this.codec(stream);
    const { schemaId, body } = unframe(buffer);
    const resolver = schemaId === codec.schemaId ? null : await this.resolverFor(codec, schemaId);
    // fromBuffer checks that the whole body was consumed, so trailing garbage is an error too.
    return (resolver ? codec.schema.type.fromBuffer(body, resolver) : codec.schema.type.fromBuffer(body)) as T;
  }

  /**
   * decode() without waiting, for the usual case of a writer schema already known here (the
   * current one, or one resolved before); null when the registry has to be asked first. The
   * merger decodes every inbound record, so a promise per record is worth saving.
   */
  decodeIfKnown<T>(stream: StreamName, buffer: Buffer): { readonly value: T } | null {
    const codec = this.codec(stream);
    const { schemaId, body } = unframe(buffer);
    if (schemaId === codec.schemaId) return { value: codec.schema.type.fromBuffer(body) as T };
    const resolver = codec.resolvers.get(schemaId);
    return resolver ? { value: codec.schema.type.fromBuffer(body, resolver) as T } : null;
  }

  private async resolverFor(codec: StreamCodec, writerId: number): Promise<avro.Resolver> {
    const cached = codec.resolvers.get(writerId);
    if (cached) return cached;
    let writerSchema: unknown;
    try {
      writerSchema = await this.registry.getSchema(writerId);
    } catch (error) {
      const status = (error as { status?: unknown }).status;
      const answered = typeof status === 'number' && status >= 400 && status < 500;
      throw new SchemaResolutionError(`schema id ${writerId} is unknown to the registry: ${(error as Error).message}`, answered ? 'unreadable' : 'unavailable');
    }
    let resolver: avro.Resolver;
    try {
      resolver = codec.schema.type.createResolver(writerSchema as avro.Type);
    } catch (error) {
      throw new SchemaResolutionError(`schema id ${writerId} cannot be read as ${codec.schema.subject}: ${(error as Error).message}`);
    }
    codec.resolvers.set(writerId, resolver);
    return resolver;
  }

  private codec(stream: StreamName): StreamCodec {
    const codec = this.codecs.get(stream);
    if (!codec) throw new Error(`schema of stream ${stream} was not opened`);
    return codec;
  }
}
