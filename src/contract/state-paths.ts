/**
 * What of an assistant's home is state: shared by the archives (container
 * side, container/host/state-archive.ts) and the change stamp the Sandbox
 * runtime computes in the container. Pure data.
 */

/** Paths (relative to the home) never archived: caches, logs, temporary files. */
export const ARCHIVE_EXCLUDES = ['.openclaw/cache', '.openclaw/logs', '.openclaw/tmp', '.cache', '.npm', 'tmp', '.openclaw/.configure-error'] as const;
