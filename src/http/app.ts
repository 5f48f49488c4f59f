import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import { createJsonSchemaTransform, serializerCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { MailscopeError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { escapeControls } from '../core/text.ts';
import { credentialParams } from '../core/redact.ts';
import { consoleAssetsPrefix, consolePlugin, consoleSessions } from './console/plugin.ts';
import { registerAuth } from './plugins/auth.ts';
import { clientErrorHandler, frameworkErrors, registerErrorHandling, validatorCompiler } from './plugins/errors.ts';
import { alertRoutes } from './routes/alerts.ts';
import { controlRoutes } from './routes/controls.ts';
import { configRoutes } from './routes/config.ts';
import { outboxRoutes } from './routes/outbox.ts';
import { healthRoutes } from './routes/health.ts';
import { observationRoutes } from './routes/observations.ts';
import { probeRoutes } from './routes/probes.ts';
import { runRoutes } from './routes/runs.ts';
import { trafficRoutes } from './routes/traffic.ts';
import { reportRoutes } from './routes/reports.ts';
import { sourceRoutes } from './routes/sources.ts';
import type { ApiServices } from './services.ts';

const docsPrefix = '/docs';

/** Request bodies are small JSON documents (a control, a silence): 64 KiB is plenty. */
const maxBodyBytes = 64 * 1024;

/** The hook of a route that takes no query parameters: any is an unknown key. */
async function refuseQuery(request: FastifyRequest): Promise<void> {
  const keys = Object.keys((request.query as Record<string, unknown> | undefined) ?? {});
  if (keys.length === 0) return;
  const shown = keys.slice(0, 5).map((key) => `"${escapeControls(key.slice(0, 60))}"`);
  throw new MailscopeError('BAD_REQUEST', `invalid request: querystring: unknown key${keys.length > 1 ? 's' : ''} ${shown.join(', ')} (this route takes no query parameters)`);
}

/** A credential someone put in the URL's query is logged as "[redacted]". */
function requestForLog(request: FastifyRequest) {
  return { method: request.method, url: request.url.replace(credentialParams, '$1[redacted]'), remoteAddress: request.ip };
}

/**
 * The API as a Fastify instance that does not listen: `mailscope run` listens
 * with it, tests use app.inject(). Each route file is registered here, by name.
 */
export async function buildApp(services: ApiServices, options: { log: Logger; version: string }): Promise<FastifyInstance> {
  const limits = services.config.instance.http;
  const httpLog = options.log.child({ component: 'http' }, { serializers: { req: requestForLog } }) as FastifyBaseLogger;
  let quietLog: FastifyBaseLogger | undefined;
  const app = Fastify({
    loggerInstance: httpLog,
    // A route that logs only warnings and worse (/v1/policy, asked per message) shares one logger
    // instead of a child per request: building a child costs more than answering from memory.
    childLoggerFactory: (logger, bindings, childOptions) => {
      if (childOptions.level !== 'warn') return logger.child(bindings, childOptions);
      return (quietLog ??= logger.child({}, { level: 'warn' }));
    },
    // Answers carry no server-side stack, and proxies' X-Forwarded-* are not trusted by default.
    trustProxy: false,
    // A request that never finishes (headers, then half a body) is answered 408 and closed; Node looks at
    // open requests every connectionsCheckingInterval, so that is kept well under the timeout.
    requestTimeout: limits.requestTimeout,
    keepAliveTimeout: limits.keepAliveTimeout,
    http: { headersTimeout: limits.requestTimeout, connectionsCheckingInterval: Math.max(100, Math.min(30_000, Math.floor(limits.requestTimeout / 4))) },
    bodyLimit: maxBodyBytes,
    routerOptions: { maxParamLength: 200 },
    clientErrorHandler,
    frameworkErrors,
  }).withTypeProvider<ZodTypeProvider>();
  app.server.maxConnections = limits.maxConnections;

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandling(app);
  registerAuth(app, services.config.instance.tokens, { publicPrefixes: [docsPrefix, consoleAssetsPrefix], consolePrefixes: [consoleAssetsPrefix], session: consoleSessions(services) });
  // A route without a query schema takes no query parameters: an unknown key is an error, as everywhere else.
  // (Added to those routes only: the routes with a schema, /v1/policy among them, pay nothing for it.)
  app.addHook('onRoute', (route) => {
    // The console's pages read their own query (?partial=1, filters); they are not part of the API.
    if (route.schema?.querystring || route.url.startsWith(docsPrefix) || route.url.startsWith(consoleAssetsPrefix) || route.config?.session || route.schema?.hide) return;
    route.preValidation = [...[route.preValidation ?? []].flat(), refuseQuery];
  });

  await app.register(fastifySwagger, {
    openapi: {
      info: {
        title: 'Mailscope API',
        description: 'Deliverability observatory: probes, runs, observations. Bearer tokens with roles ingest < viewer < operator < admin.',
        version: options.version,
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: createJsonSchemaTransform({ skipList: [`${docsPrefix}/`, `${docsPrefix}/*`, `${docsPrefix}/json`, `${docsPrefix}/yaml`] }),
  });
  await app.register(fastifySwaggerUi, { routePrefix: docsPrefix });

  await app.register(healthRoutes(services));
  await app.register(probeRoutes(services));
  await app.register(runRoutes(services));
  await app.register(observationRoutes(services));
  await app.register(configRoutes(services));
  await app.register(outboxRoutes(services));
  await app.register(alertRoutes(services));
  await app.register(controlRoutes(services));
  await app.register(trafficRoutes(services));
  await app.register(reportRoutes(services));
  await app.register(sourceRoutes(services));
  if (services.config.instance.console.enabled) await app.register(consolePlugin(services));
  await app.ready();
  return app;
}
