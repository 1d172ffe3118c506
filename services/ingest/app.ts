/**
 * The ingest HTTP application: routes, auth, error shapes. Built without listening, so tests can
 * inject requests and main.ts can listen.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { ulid } from 'ulid';
import type { Logger } from '../shared/logger';
import type { InboundRecord } from '../shared/model/inbound';
import { authenticateTrack } from './auth';
import { KafkaUnavailableError } from './inboundProducer';
import { LIMITS } from './limits';
import { errorBody, singleError } from './problems';
import { translateAnonymousEvent, translateIdentify, translatePersonEvent, type RequestContext, type Translation } from './trackV1';
import type { Workspace, WorkspaceRegistry } from './workspaces';

export interface IngestDependencies {
  readonly logger: Logger;
  readonly workspaces: WorkspaceRegistry;
  readonly publish: (records: readonly InboundRecord[]) => Promise<void>;
  /** Readiness: the producer is connected and the schemas are resolved. */
  readonly ready: () => boolean;
  readonly clock?: () => number;
}

/** Seconds a client should wait before retrying a 503. */
export const RETRY_AFTER_SECONDS = 5;

export function buildIngestApp(deps: IngestDependencies): FastifyInstance {
  const clock = deps.clock ?? Date.now;
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    disableRequestLogging: true,
    bodyLimit: LIMITS.trackBodyBytes,
    // Refuse, rather than strip, bodies that try prototype pollution.
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
  });

  app.setErrorHandler((error: { statusCode?: number; code?: string; message: string }, request, reply) => {
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (status === 500) request.log.error({ err: error, url: request.url }, 'request failed');
    const message = status === 500 ? 'internal error' : bodyErrorMessage(error);
    void reply.status(status).send(singleError(message));
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send(singleError(`no route ${request.method} ${request.url.split('?')[0]}`));
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    if (deps.ready()) return { status: 'ready' };
    return reply.status(503).header('retry-after', RETRY_AFTER_SECONDS).send({ status: 'not ready' });
  });

  const trackWorkspace = (request: FastifyRequest, reply: FastifyReply): Workspace | null => {
    const result = authenticateTrack(request.headers.authorization, deps.workspaces);
    if (result.ok) return result.workspace;
    void reply.status(401).header('www-authenticate', 'Basic realm="track"').send(singleError(`unauthorized: ${result.reason}`));
    return null;
  };

  const context = (workspace: Workspace): RequestContext => ({
    workspaceId: workspace.id,
    settings: workspace.settings,
    receivedAt: clock(),
    newId: ulid,
  });

  const accept = async (translation: Translation, workspace: Workspace, reply: FastifyReply) => {
    if (!translation.ok) return reply.status(400).send(errorBody(translation.problems.list));
    try {
      await deps.publish(translation.records);
    } catch (error) {
      if (error instanceof KafkaUnavailableError) {
        return reply.status(503).header('retry-after', RETRY_AFTER_SECONDS).send(singleError('temporarily unable to store the request; retry later'));
      }
      deps.logger.error({ err: error, workspace: workspace.id }, 'publishing failed');
      throw error;
    }
    return reply.status(200).send({});
  };

  app.put<{ Params: { identifier: string } }>('/api/v1/customers/:identifier', async (request, reply) => {
    const workspace = trackWorkspace(request, reply);
    if (!workspace) return reply;
    return accept(translateIdentify(request.params.identifier, request.body, context(workspace)), workspace, reply);
  });

  app.post<{ Params: { identifier: string } }>('/api/v1/customers/:identifier/events', async (request, reply) => {
    const workspace = trackWorkspace(request, reply);
    if (!workspace) return reply;
    return accept(translatePersonEvent(request.params.identifier, request.body, context(workspace)), workspace, reply);
  });

  app.post('/api/v1/events', async (request, reply) => {
    const workspace = trackWorkspace(request, reply);
    if (!workspace) return reply;
    return accept(translateAnonymousEvent(request.body, context(workspace)), workspace, reply);
  });

  return app;
}

function bodyErrorMessage(error: { code?: string; message: string }): string {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return `the body is larger than ${LIMITS.trackBodyBytes} bytes`;
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'the body must be application/json';
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'the body is empty; send a JSON object';
    default:
      return error.message.startsWith('Unexpected') || error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' ? `the body is not valid JSON: ${error.message}` : error.message;
  }
}
