/**
 * A directory of report files, or a Maildir (its `new/` and `cur/`): where a
 * mail server delivers the report address, or where reports are dropped by
 * hand or by another tool. Every interval each file is handed to intake()
 * (streamed: a 100 MB report is not read into memory) and, once that
 * committed, moved to `processed` — or to `quarantine` when nothing in it could
 * be read. A crash between the commit and the move reads the file again next
 * time: its reports are then duplicates, and it is moved.
 */
import { createReadStream } from 'node:fs';
import { mkdir, readdir, rename, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { peerExcerpt } from '../core/redact.ts';
import { duration } from '../core/schema.ts';
import { defineSource, type SourceContext, SourceBase } from './define.ts';
import { reportMeasurements } from './feedback.ts';

const configSchema = SourceBase.extend({
  kind: z.literal('report-directory'),
  path: z.string().min(1).describe('the directory (or Maildir) reports arrive in; relative to the instance file'),
  processed: z.string().min(1).optional().describe('where a file goes once what it carried is recorded (default: <path>/processed)'),
  quarantine: z.string().min(1).optional().describe('where a file goes when nothing in it could be read (default: <path>/quarantine)'),
  interval: duration.default(60_000).describe('how often the directory is read'),
  settle: duration.default(2_000).describe('a file changed more recently than this is left for the next pass (it may still be written)'),
}).strict();

type DirectoryConfig = z.output<typeof configSchema>;

/** The files to read: the Maildir's new/ and cur/ when there are, else the directory itself; dot files skipped. */
async function filesIn(config: DirectoryConfig, now: number): Promise<string[]> {
  const maildir = await stat(join(config.path, 'new')).then(
    (info) => info.isDirectory(),
    () => false,
  );
  const folders = maildir ? [join(config.path, 'new'), join(config.path, 'cur')] : [config.path];
  const files: string[] = [];
  for (const folder of folders) {
    const entries = await readdir(folder, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' && folder !== config.path) return [];
      throw error;
    });
    for (const entry of entries) {
      if (!entry.isFile() || entry.name.startsWith('.')) continue;
      const file = join(folder, entry.name);
      const info = await stat(file).catch(() => undefined);
      if (info && now - info.mtimeMs >= config.settle) files.push(file);
    }
  }
  return files.sort();
}

/** Move a file into a folder, under a name not taken there. */
async function moveInto(file: string, folder: string): Promise<void> {
  await mkdir(folder, { recursive: true });
  const name = basename(file);
  for (let attempt = 0; ; attempt++) {
    const target = join(folder, attempt === 0 ? name : `${name}.${attempt}`);
    const taken = await stat(target).then(
      () => true,
      () => false,
    );
    if (!taken) return rename(file, target);
  }
}

/** One pass over the directory: each file recorded, then moved. */
export async function readDirectoryOnce(config: DirectoryConfig, ctx: Pick<SourceContext, 'intake' | 'signal' | 'clock'>): Promise<{ moved: number }> {
  const processed = config.processed ?? join(config.path, 'processed');
  const quarantine = config.quarantine ?? join(config.path, 'quarantine');
  let moved = 0;
  for (const file of await filesIn(config, ctx.clock.now().getTime())) {
    if (ctx.signal.aborted) break;
    const result = await ctx.intake(createReadStream(file), basename(file));
    await moveInto(file, result.recorded + result.duplicates > 0 ? processed : quarantine);
    moved++;
  }
  return { moved };
}

export const reportDirectory = defineSource({
  kind: 'report-directory',
  description: 'a directory or Maildir of report files and mails: each file recorded, then moved to processed (or quarantine)',
  configSchema,
  measurements: reportMeasurements,
  runtime: {
    async start(config, ctx) {
      const loop = (async () => {
        while (!ctx.signal.aborted) {
          try {
            const { moved } = await readDirectoryOnce(config, ctx);
            if (moved > 0) ctx.log.info({ moved }, 'report directory read');
            ctx.health?.({ ok: true });
          } catch (error) {
            const code = (error as NodeJS.ErrnoException).code ?? 'READ_FAILED';
            ctx.log.error({ code, reason: peerExcerpt((error as Error).message) }, 'report directory could not be read');
            ctx.health?.({ ok: false, code, reason: peerExcerpt((error as Error).message) });
          }
          await sleep(config.interval, undefined, { signal: ctx.signal }).catch(() => {});
        }
      })();
      return {
        async stop() {
          await loop;
        },
      };
    },
  },
});
