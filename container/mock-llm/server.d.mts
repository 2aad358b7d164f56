/** Types of the bundled mock model server (server.mjs). */
export declare const MOCK_MODEL_ID: string;
export type Decision = { kind: 'text'; text: string } | { kind: 'tool'; name: string; args: Record<string, unknown> };
export declare function decide(messages: Array<Record<string, unknown>>): Decision;
export interface MockLlm {
  url: string;
  port: number;
  requests: Array<{ at: number; messages: number; bytes: number; decision: Decision }>;
  close(): Promise<void>;
}
export declare function startMockLlm(options?: { port?: number; host?: string; log?: string }): Promise<MockLlm>;
