/**
 * The operator's ChatGPT/Codex subscription sign-in (POST /api/login,
 * `clawctl login codex`): OpenClaw's own device-code flow runs in the
 * container (container/model-login.sh) and writes its terminal output to a
 * log the Agent reads. That output comes from an untrusted container, so it
 * is read for three things only, each by a strict pattern: the user code,
 * the stored profile's name, and the outcome. The page the operator enters
 * the code on is never taken from it: it is OpenAI's, fixed here.
 */

/** Where the operator enters the code (OpenClaw's device-code flow sends every sign-in there). */
export const CODEX_DEVICE_URL = 'https://auth.openai.com/codex/device';
/** The providers `/api/login` signs in to. */
export const LOGIN_PROVIDERS = ['codex'] as const;
export type LoginProvider = (typeof LOGIN_PROVIDERS)[number];

export type SignInState = 'idle' | 'starting' | 'waiting' | 'signed-in' | 'failed' | 'cancelled';

export interface ModelSignIn {
  provider: LoginProvider;
  state: SignInState;
  /** Where to enter the code: always OpenAI's page. */
  verificationUrl: string;
  /** The one-time code to enter there, once OpenAI gave one. */
  userCode: string | null;
  /** The stored sign-in's name (`openai:<email>`), once stored. */
  profile: string | null;
  /** What to do now, in words. */
  message: string;
}

// eslint-disable-next-line no-control-regex
const TERMINAL_CODES = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|[\x00-\x08\x0b-\x1f\x7f]/g;
const USER_CODE = /\bCode:\s*([A-Z0-9]{4,12}-[A-Z0-9]{4,12})\b/;
const PROFILE = /\bAuth profile:\s*(openai:[A-Za-z0-9@._+-]{1,120})/;
const EXIT = /^__exit (\d{1,3}|cancelled|ended)\s*$/m;
const FAILURE = /(?:error|failed|denied|expired|timed out|not enabled)/i;

/** A log line as plain text: terminal codes and box drawing gone, at most 300 characters. */
function plain(line: string): string {
  return line
    .replace(/[│╮╯╭╰─◇◆●○■]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 300);
}

/** What the sign-in's log says (null: no sign-in was started in this container). */
export function readSignIn(log: string | null): ModelSignIn {
  const base = { provider: 'codex' as const, verificationUrl: CODEX_DEVICE_URL, userCode: null, profile: null };
  if (log === null) return { ...base, state: 'idle', message: 'no sign-in under way: start one with `clawctl login codex` (POST /api/login)' };
  const text = log.replace(TERMINAL_CODES, '');
  const userCode = USER_CODE.exec(text)?.[1] ?? null;
  const profile = PROFILE.exec(text)?.[1] ?? null;
  const exit = EXIT.exec(text)?.[1] ?? null;
  if (exit === 'cancelled') return { ...base, userCode, state: 'cancelled', message: 'the sign-in was cancelled' };
  if (exit === 'ended') return { ...base, userCode, state: 'cancelled', message: 'the sign-in ended with the gateway (the assistant stopped): start it again' };
  if (exit === '0' && profile)
    return { ...base, userCode, profile, state: 'signed-in', message: `signed in: the subscription's sign-in is stored as ${profile}` };
  if (exit !== null) {
    const lines = text
      .split('\n')
      .map(plain)
      .filter((l) => l && FAILURE.test(l));
    const why = lines.at(-1) ?? `the sign-in command ended with status ${exit}`;
    return { ...base, userCode, state: 'failed', message: `the sign-in failed: ${why}` };
  }
  if (userCode) return { ...base, userCode, state: 'waiting', message: `open ${CODEX_DEVICE_URL} and enter the code ${userCode} (it expires in 15 minutes)` };
  return { ...base, state: 'starting', message: 'asking OpenAI for a sign-in code…' };
}
