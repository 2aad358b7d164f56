/**
 * A session on Discord's gateway (API v10, JSON): what the relay runs while
 * the assistant sleeps. It identifies with the intents for direct messages
 * and mentions, heartbeats at the interval HELLO gives (a missed ACK is a
 * zombie connection: closed and resumed), resumes after a drop with the
 * session and sequence it kept, identifies anew when Discord says the
 * session cannot be resumed, and stops for good on the close codes Discord
 * documents as not to be retried (a bad token, disallowed intents).
 *
 * The socket and the timers are given (the Durable Object opens its socket
 * with fetch; a Node test with `new WebSocket`), so the same session runs
 * in workerd and in Node against the recorded stand-in.
 */
import {
  CLOSE_TO_RESUME,
  FATAL_CLOSES,
  type Frame,
  type GatewayHooks,
  type GatewayPhase,
  gatewayUrlFor,
  type GatewaySessionState,
  type GatewaySocket,
  inboundFor,
  MAX_RECONNECT_DELAY_MS,
  NO_SESSION,
  OP,
  parseFrame,
  RELAY_INTENTS,
  SESSION_LOST_CLOSES,
  str,
} from './discord-frames.ts';

export class DiscordGatewaySession {
  #state: GatewaySessionState;
  #phase: GatewayPhase = 'closed';
  #socket: GatewaySocket | null = null;
  #heartbeat: ReturnType<typeof setTimeout> | null = null;
  #reconnect: ReturnType<typeof setTimeout> | null = null;
  #acked = true;
  #failures = 0;
  #stopped = true;
  /** The last message could not be handed on (the resume that replays it keeps backing off until one is). */
  #handOnFailing = false;
  /** Dispatches are handled one at a time, in order (a message is handed on before its sequence is kept). */
  #queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly token: string,
    private readonly gatewayUrl: string,
    state: GatewaySessionState,
    private readonly hooks: GatewayHooks,
  ) {
    this.#state = { ...state };
  }

  get phase(): GatewayPhase {
    return this.#phase;
  }

  get state(): GatewaySessionState {
    return { ...this.#state };
  }

  /** Connects (resuming the kept session if there is one). */
  start(): void {
    this.#stopped = false;
    if (this.#phase === 'closed') void this.#connect();
  }

  /** Ends the session on Discord's side too (close 1000: it cannot be resumed), so the next holder identifies anew. */
  stop(): void {
    this.#stopped = true;
    this.#clearTimers();
    const socket = this.#socket;
    this.#socket = null;
    this.#phase = 'closed';
    this.#state = { ...NO_SESSION, botUserId: this.#state.botUserId };
    socket?.close(1000, 'handed over');
  }

  async #connect(): Promise<void> {
    if (this.#stopped) return;
    const resuming = this.#state.sessionId !== null && this.#state.resumeUrl !== null;
    const base = resuming ? (this.#state.resumeUrl as string) : this.gatewayUrl;
    this.#phase = 'connecting';
    let socket: GatewaySocket;
    try {
      socket = await this.hooks.open(gatewayUrlFor(base));
    } catch (error) {
      this.hooks.log?.(`discord gateway: connect failed: ${error instanceof Error ? error.message : String(error)}`);
      this.#retryLater(resuming);
      return;
    }
    if (this.#stopped) {
      socket.close(1000, 'stopped');
      return;
    }
    this.#socket = socket;
    socket.onMessage((data) => {
      if (this.#socket !== socket) return;
      this.hooks.received?.();
      const frame = parseFrame(data);
      if (frame) this.#queue = this.#queue.then(() => this.#onFrame(socket, frame)).catch((e) => this.hooks.log?.(`discord gateway: ${String(e)}`));
    });
    socket.onClose((code, reason) => {
      if (this.#socket !== socket) return;
      this.#socket = null;
      this.#clearTimers();
      this.#onClose(code, reason);
    });
  }

  async #onFrame(socket: GatewaySocket, frame: Frame): Promise<void> {
    if (this.#socket !== socket) return;
    switch (frame.op) {
      case OP.hello: {
        const interval = (frame.d as { heartbeat_interval?: unknown } | undefined)?.heartbeat_interval;
        this.#beat(socket, typeof interval === 'number' && interval > 0 ? interval : 41_250, true);
        if (this.#state.sessionId !== null) {
          this.#phase = 'resuming';
          socket.send(JSON.stringify({ op: OP.resume, d: { token: this.token, session_id: this.#state.sessionId, seq: this.#state.seq } }));
        } else {
          this.#phase = 'identifying';
          socket.send(
            JSON.stringify({
              op: OP.identify,
              d: { token: this.token, intents: RELAY_INTENTS, properties: { os: 'linux', browser: 'openclaw-ondemand', device: 'openclaw-ondemand' } },
            }),
          );
        }
        return;
      }
      case OP.heartbeatAck:
        this.#acked = true;
        return;
      case OP.heartbeat:
        socket.send(JSON.stringify({ op: OP.heartbeat, d: this.#state.seq }));
        return;
      case OP.reconnect:
        this.#abandon(socket, 'reconnect requested');
        return;
      case OP.invalidSession:
        if (frame.d !== true) this.#state = { ...NO_SESSION, botUserId: this.#state.botUserId };
        this.#abandon(socket, 'invalid session');
        return;
      case OP.dispatch:
        try {
          await this.#onDispatch(frame);
        } catch (error) {
          // Not handed on: its sequence is not kept, and a resume (after a pause) has Discord send it again.
          this.hooks.log?.(`discord gateway: ${frame.t} not handled (${error instanceof Error ? error.message : String(error)}); resuming to get it again`);
          this.#handOnFailing = true;
          this.#abandon(socket, 'a message could not be handed on');
          return;
        }
        if (typeof frame.s === 'number') this.#state.seq = frame.s;
        await this.hooks.save(this.state);
        return;
    }
  }

  async #onDispatch(frame: Frame): Promise<void> {
    if (frame.t === 'READY') {
      const d = frame.d as { session_id?: unknown; resume_gateway_url?: unknown; user?: { id?: unknown } };
      this.#state = {
        sessionId: str(d.session_id),
        resumeUrl: typeof d.resume_gateway_url === 'string' ? d.resume_gateway_url : null,
        seq: this.#state.seq,
        botUserId: str(d.user?.id),
      };
      this.#connected();
    } else if (frame.t === 'RESUMED') {
      this.#connected();
    } else if (frame.t === 'MESSAGE_CREATE') {
      const inbound = inboundFor(frame.d, this.#state.botUserId);
      if (inbound) {
        await this.hooks.message(inbound);
        this.#handOnFailing = false;
      }
    }
  }

  #connected(): void {
    this.#phase = 'connected';
    // After a message that could not be handed on, the backoff goes on growing until one is.
    if (!this.#handOnFailing) this.#failures = 0;
  }

  #beat(socket: GatewaySocket, interval: number, first: boolean): void {
    if (first) this.#acked = true;
    const delay = first ? Math.floor(interval * (this.hooks.random ?? Math.random)()) : interval;
    this.#heartbeat = setTimeout(() => {
      if (this.#socket !== socket) return;
      if (!this.#acked) {
        // No ACK since the last beat: a zombie connection. Close it (not 1000) and resume.
        this.hooks.log?.('discord gateway: no heartbeat ACK, reconnecting');
        this.#abandon(socket, 'heartbeat not acknowledged');
        return;
      }
      this.#acked = false;
      socket.send(JSON.stringify({ op: OP.heartbeat, d: this.#state.seq }));
      this.#beat(socket, interval, false);
    }, delay);
  }

  /**
   * Leaves a connection at once (not at its close event: a frame queued
   * behind this one must not move the kept sequence) and resumes.
   */
  #abandon(socket: GatewaySocket, reason: string): void {
    if (this.#socket !== socket) return;
    this.#socket = null;
    this.#clearTimers();
    socket.close(CLOSE_TO_RESUME, reason);
    this.#onClose(CLOSE_TO_RESUME, reason);
  }

  #onClose(code: number, reason: string): void {
    if (this.#stopped) return;
    if (FATAL_CLOSES.has(code)) {
      this.#phase = 'failed';
      this.#stopped = true;
      this.hooks.failed(`Discord closed the gateway with ${code}${reason ? ` (${reason})` : ''}; not reconnecting`);
      return;
    }
    if (SESSION_LOST_CLOSES.has(code)) this.#state = { ...NO_SESSION, botUserId: this.#state.botUserId };
    this.#retryLater(this.#state.sessionId !== null);
  }

  #retryLater(resuming: boolean): void {
    this.#phase = 'closed';
    this.#failures++;
    // A resume right away the first time; then backing off (1 s doubling, at most a minute), as Discord asks.
    const delay = resuming && this.#failures === 1 ? 0 : Math.min(MAX_RECONNECT_DELAY_MS, 1000 * 2 ** Math.max(0, this.#failures - 1));
    this.#reconnect = setTimeout(() => {
      this.#reconnect = null;
      if (this.#phase === 'closed') void this.#connect();
    }, delay);
  }

  #clearTimers(): void {
    if (this.#heartbeat) clearTimeout(this.#heartbeat);
    if (this.#reconnect) clearTimeout(this.#reconnect);
    this.#heartbeat = null;
    this.#reconnect = null;
  }
}
