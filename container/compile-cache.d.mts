/** Types of the compile-cache warm-up and check (compile-cache.mjs). */
export declare const MIN_ACCEPTED_SHARE: number;
export declare const MIN_READS: number;
export interface CompileCacheStats {
  accepted: number;
  rejected: number;
  missing: number;
  reads: number;
  acceptedShare: number;
  cacheDirs: string[];
  missed: string[];
}
export declare function compileCacheStats(log: string): CompileCacheStats;
export declare function judgeCompileCache(stats: CompileCacheStats, minShare?: number): { ok: boolean; message: string };
export declare function bootGatewayOnce(extraEnv?: Record<string, string>, timeoutMs?: number): Promise<{ log: string; readyMs: number }>;
export interface CompileCacheProbe {
  hit: boolean;
  dir: string | null;
  entries: number;
  tag: string;
  uid: number;
  base: string;
  present: string[];
}
export declare function probeCompileCache(openclawRoot: string, tmp?: string): CompileCacheProbe;
