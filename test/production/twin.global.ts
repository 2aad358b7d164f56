/**
 * Starts one production twin for the `production` test project (the real
 * `Agent` class in a real container from the project's Dockerfile, under
 * `wrangler dev`), and a webhook receiver the twin posts its notifications
 * to. When no Docker engine can run here the tests are skipped with a loud
 * notice — except in CI, where that is an error — and TWIN=off skips them on
 * purpose (a CI job that runs the twin separately).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startTwin, twinUnavailable, type Twin } from './twin/twin.ts';
import { ROOT, bridgeGateway } from './twin/twin-shell.ts';
import { TWIN_DISCORD, TWIN_DISCORD_SECRET, TWIN_EGRESS_SECRETS, TWIN_TELEGRAM, TWIN_VARS, TWIN_WITH_DISCORD } from './twin-vars.ts';
import { startTelegramStandIn } from '../support/telegram-standin.ts';
import { startDiscordStandIn } from '../support/discord-standin.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    twinUrl: string;
    /** Why the twin did not run (empty when it runs). */
    twinSkipped: string;
    /** Where the twin's webhook posts can be read back (GET → JSON array); the Worker posts them to a stand-in, https://hooks.twin.example/hook. */
    webhookUrl: string;
    twinInstanceType: string;
    twinBase: string;
    /** The mock model's request log (JSON lines). */
    modelLog: string;
    /** Where the twin's internet stand-ins are registered (JSON of StandInPlaces; see standIn in twin-client.ts). */
    twinStandIns: string;
    /** The control server of the twin's R2 endpoint (its log, its clock and secret knobs). */
    twinR2Control: string;
    /** The Bot API stand-in at api.telegram.org: its calls are read from here + STANDIN_CALLS_PATH. */
    telegramStandIn: string;
    /** The Discord stand-in at discord.com: its control routes are here + /_standin/… */
    discordStandIn: string;
  }
}

/** The operator's webhook as the twin's Worker posts to it: a stand-in for this name, over HTTPS. */
const WEBHOOK_HOST = 'hooks.twin.example';

function startWebhookReceiver(address: string): Promise<{ server: Server; url: string; address: string }> {
  const received: unknown[] = [];
  const server = createServer((req, res) => {
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(received));
      return;
    }
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      try {
        received.push(JSON.parse(body));
      } catch {
        received.push({ unparsable: body });
      }
      res.writeHead(204);
      res.end();
    });
  });
  return new Promise((resolve) =>
    server.listen(0, address, () => {
      const at = `${address}:${(server.address() as { port: number }).port}`;
      resolve({ server, url: `http://${at}/hook`, address: at });
    }),
  );
}

export default async function setup(project: TestProject) {
  const optedOut = process.env.TWIN === 'off' ? 'TWIN=off (run it with npm run test:production)' : null;
  const unavailable = optedOut ?? (await twinUnavailable());
  if (unavailable) {
    if (process.env.CI && !optedOut) throw new Error(`the production twin must run in CI: ${unavailable}`);
    const line = '!'.repeat(78);
    console.warn(`\n${line}\n!! production twin SKIPPED: ${unavailable}\n!! the production Agent class was NOT tested in a real container\n${line}\n`);
    project.provide('twinSkipped', unavailable);
    project.provide('twinUrl', '');
    project.provide('webhookUrl', '');
    project.provide('twinInstanceType', '');
    project.provide('twinBase', '');
    project.provide('modelLog', '');
    project.provide('twinStandIns', '');
    project.provide('twinR2Control', '');
    project.provide('telegramStandIn', '');
    project.provide('discordStandIn', '');
    return;
  }
  const webhook = await startWebhookReceiver(bridgeGateway());
  const telegram = await startTelegramStandIn(TWIN_EGRESS_SECRETS.TELEGRAM_BOT_TOKEN, bridgeGateway());
  // Discord at discord.com (TWIN_DISCORD=1): the relay's REST lookups and OpenClaw's answers (its gateway is this stand-in's, on the bridge).
  const discord = TWIN_WITH_DISCORD ? await startDiscordStandIn({ token: TWIN_DISCORD_SECRET.DISCORD_BOT_TOKEN, host: bridgeGateway() }) : null;
  const discordOrigin = discord?.apiUrl.replace(/\/api\/v10$/, '') ?? '';
  let twin: Twin;
  try {
    twin = await startTwin({
      vars: {
        ...TWIN_VARS,
        ...TWIN_TELEGRAM,
        ...(discord ? { ...TWIN_DISCORD, ...TWIN_DISCORD_SECRET } : {}),
        NOTIFY_WEBHOOK_URL: `https://${WEBHOOK_HOST}/hook`,
      },
      standIns: {
        [WEBHOOK_HOST]: webhook.address,
        'api.telegram.org': telegram.origin.replace(/^http:\/\//, ''),
        ...(discord ? { 'discord.com': discordOrigin.replace(/^http:\/\//, '') } : {}),
      },
    });
  } catch (error) {
    webhook.server.close();
    await telegram.close();
    await discord?.close();
    throw error;
  }
  project.provide('twinSkipped', '');
  project.provide('twinUrl', twin.url);
  project.provide('webhookUrl', webhook.url);
  project.provide('twinInstanceType', twin.instanceType);
  project.provide('twinBase', twin.base);
  project.provide('modelLog', twin.modelLog);
  project.provide('twinStandIns', JSON.stringify(twin.standIns));
  project.provide('twinR2Control', twin.r2Control);
  project.provide('telegramStandIn', telegram.origin);
  project.provide('discordStandIn', discord ? `${discordOrigin}/_standin` : '');
  return async () => {
    mkdirSync(join(ROOT, 'test-results'), { recursive: true });
    // The pass with the Discord bot keeps its own log (npm test runs it after the pass without).
    writeFileSync(join(ROOT, 'test-results', TWIN_WITH_DISCORD ? 'production-twin-discord.log' : 'production-twin.log'), twin.output());
    await twin.stop();
    webhook.server.closeAllConnections();
    webhook.server.close();
    await telegram.close();
    await discord?.close();
  };
}
