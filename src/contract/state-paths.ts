/**
 * What of an assistant's home is state: shared by the archives (container
 * side, container/host/state-archive.ts) and the change stamp the Sandbox
 * runtime computes in the container. Pure data.
 */

/**
 * Paths (relative to the home) never archived: caches, logs, temporary files,
 * and OpenClaw's lock files (`.openclaw/locks`: which live process holds an
 * OAuth refresh and the like). A lock is about processes of this container;
 * it comes and goes within a second, so it is no state, and a backup that
 * listed one could find it gone a moment later.
 */
export const ARCHIVE_EXCLUDES = [
  '.openclaw/cache',
  '.openclaw/logs',
  '.openclaw/tmp',
  '.openclaw/locks',
  '.cache',
  '.npm',
  'tmp',
  '.openclaw/.configure-error',
] as const;
