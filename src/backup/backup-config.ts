/**
 * Checks, at the first request, that production backups can work: the
 * Sandbox SDK needs the BACKUP_BUCKET binding and, for presigned transfers,
 * the bucket's name, its account and an R2 API token. Without them the first
 * sleep would fail its backup and keep the container (and the bill) running;
 * a clear configuration error now is better.
 */
import type { BackupTransfer } from '../config.ts';
import type { Env } from '../env.ts';
import { AppError } from '../errors.ts';

/** @throws AppError `not_configured` naming every missing setting. */
export function checkSandboxBackups(env: Partial<Env>, transfer: BackupTransfer): void {
  const missing: string[] = [];
  if (!env.BACKUP_BUCKET) missing.push('the BACKUP_BUCKET R2 binding (wrangler.jsonc)');
  if (transfer === 'presigned') {
    if (!env.BACKUP_BUCKET_NAME?.trim()) missing.push('BACKUP_BUCKET_NAME (var)');
    if (!env.CLOUDFLARE_R2_ACCOUNT_ID?.trim() && !env.CLOUDFLARE_ACCOUNT_ID?.trim()) missing.push('CLOUDFLARE_ACCOUNT_ID (var)');
    if (!env.R2_ACCESS_KEY_ID?.trim()) missing.push('R2_ACCESS_KEY_ID (secret)');
    if (!env.R2_SECRET_ACCESS_KEY?.trim()) missing.push('R2_SECRET_ACCESS_KEY (secret)');
  }
  if (missing.length > 0) {
    throw new AppError(
      'not_configured',
      `backups cannot work (BACKUP_TRANSFER=${transfer}): missing ${missing.join(', ')}. Without backups the assistant cannot sleep without losing its state; see docs/runbook.md, "Secrets".`,
    );
  }
}
