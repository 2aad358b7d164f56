/**
 * The Discord stand-in (test/support/discord-standin.ts) for the relay's
 * tests in workerd (vitest globalSetup, runs in Node): its REST base and its
 * control routes are provided to the tests.
 */
import type { TestProject } from 'vitest/node';
import { startDiscordStandIn } from '../support/discord-standin.ts';

/** The bot token in test/workers/wrangler.test.jsonc (DISCORD_BOT_TOKEN). */
const TOKEN = 'discord-workers-bot-token';

declare module 'vitest' {
  export interface ProvidedContext {
    discordApi: string;
    discordControl: string;
  }
}

export default async function setup(project: TestProject) {
  const discord = await startDiscordStandIn({ token: TOKEN, heartbeatMs: 500 });
  project.provide('discordApi', discord.apiUrl);
  project.provide('discordControl', discord.apiUrl.replace('/api/v10', '/_standin'));
  return () => discord.close();
}
