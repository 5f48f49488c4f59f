import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorResponses } from '../schemas.ts';
import type { ApiServices } from '../services.ts';

export function configRoutes(services: ApiServices): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/v1/config',
      {
        config: { access: 'admin' },
        schema: {
          tags: ['config'],
          summary: 'The configuration in effect, defaults applied, secrets shown as "[redacted]"',
          response: {
            200: z.object({
              configFile: z.string(),
              dataDir: z.string(),
              probeFiles: z.array(z.string()),
              instance: z.record(z.string(), z.unknown()),
            }),
            ...errorResponses(401, 403),
          },
        },
      },
      async () => ({
        configFile: services.config.configFile,
        dataDir: services.config.dataDir,
        probeFiles: services.config.probeFiles,
        // Secrets turn into "[redacted]" on the way through JSON (core/secret.ts).
        instance: JSON.parse(JSON.stringify(services.config.instance)) as Record<string, unknown>,
      }),
    );
  };
}
