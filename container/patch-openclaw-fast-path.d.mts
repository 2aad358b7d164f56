/** Types of the build-time patch to OpenClaw's resolve fast path (patch-openclaw-fast-path.mjs). */
export declare const FAST_PATH_NEEDLE: string;
export declare const FAST_PATH_FIX: string;
export declare function patchFastPath(root: string): Promise<{ file: string; version: string }>;
