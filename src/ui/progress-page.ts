/**
 * The page a browser gets while the assistant boots: it shows the boot
 * phase and the time expected to be left (from the last boots' wake →
 * ready), follows GET /api/status, and reloads the requested page once the
 * gateway is ready. A failed boot shows its reason and a retry button
 * (a JSON `POST /api/wake`, as every API command is) instead of loading
 * forever.
 */
import type { AgentStatus } from '../agent/agent-status.ts';
import { BOOT_PHASE_LABELS } from '../contract/boot-status.ts';
import { PAGE_STYLE, escapeHtml, htmlResponse } from './html.ts';

const STEPS = ['launching', 'restoring', 'configuring', 'starting-gateway'] as const;

export function progressPage(status: AgentStatus): Response {
  const labels = JSON.stringify(BOOT_PHASE_LABELS).replace(/</g, '\\u003c');
  const initial = JSON.stringify(status).replace(/</g, '\\u003c');
  const steps = STEPS.map((s) => `<li data-phase="${s}">${escapeHtml(BOOT_PHASE_LABELS[s])}</li>`).join('');
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,"><title>Waking OpenClaw…</title><style>${PAGE_STYLE}</style></head>
<body><main>
  <h1 id="title">Waking your assistant</h1>
  <p class="phase" id="phase" role="status" aria-live="polite"></p>
  <p id="eta"></p>
  <ol id="steps">${steps}</ol>
  <div id="error" class="error" hidden></div>
  <p id="actions" hidden><button id="retry" type="button">Try again</button></p>
  <p class="muted" id="detail"></p>
  <p class="muted" id="model"></p>
  <noscript><p>This page follows the boot with JavaScript. Without it, reload in a few seconds.</p></noscript>
</main>
<script>
const LABELS = ${labels};
const STEPS = ${JSON.stringify(STEPS)};
let status = ${initial};
let receivedAt = performance.now();
const $ = (id) => document.getElementById(id);
const seconds = (ms) => Math.max(1, Math.round(ms / 1000)) + ' s';
/** The expected time left, from the last boots (the status's bootEstimate, counted down since it arrived). */
function eta(s) {
  const e = s.bootEstimate;
  if (s.state !== 'booting' || !e || e.remainingMs === null) return '';
  const usual = 'the last ' + (e.boots === 1 ? 'boot' : e.boots + ' boots') + ' took ' + seconds(e.expectedMs) + (e.boots === 1 ? '' : ' (median)');
  const left = e.remainingMs - (performance.now() - receivedAt);
  if (left > 500) return 'About ' + seconds(left) + ' left: ' + usual + '.';
  return left > -10000 ? 'Any moment now: ' + usual + '.' : 'Taking longer than usual: ' + usual + '.';
}
function render(s) {
  document.body.dataset.state = s.state;
  document.body.dataset.phase = s.phase || '';
  const phase = s.state === 'booting' ? (s.phase || 'launching') : s.state;
  $('phase').textContent = s.state === 'booting' ? (LABELS[phase] || phase) + '…'
    : s.state === 'ready' || s.state === 'idle' ? 'Ready — opening…'
    : s.state === 'hibernated' ? 'Hibernated' : s.phase === 'stopping' ? 'Finishing the previous sleep…' : 'Not running';
  const at = STEPS.indexOf(phase);
  for (const li of document.querySelectorAll('#steps li')) {
    const i = STEPS.indexOf(li.dataset.phase);
    li.className = at < 0 ? '' : i < at ? 'done' : i === at ? 'current' : '';
  }
  const failed = s.state === 'stopped' && s.lastError;
  $('error').hidden = !(failed || s.state === 'hibernated');
  $('error').textContent = s.state === 'hibernated'
    ? 'Hibernated: ' + ((s.hibernation && s.hibernation.reason) || 'no reason recorded') + '. Resume it with POST /api/resume (clawctl resume).'
    : failed ? 'Boot failed: ' + s.lastError.message : '';
  $('actions').hidden = !(failed || (s.state === 'stopped' || s.state === 'sleeping'));
  $('eta').textContent = eta(s);
  const m = s.model;
  $('model').textContent = m && m.route === 'subscription' && !(m.signIn && m.signIn.profile) ? 'Model: ' + m.detail + ' (the status page: /_ondemand/).' : '';
  $('detail').textContent = s.state === 'booting' ? 'Attempt ' + s.bootAttempt + ' of ' + s.maxBootAttempts + ' · since ' + new Date(s.since).toLocaleTimeString() : '';
}
async function poll() {
  try {
    const r = await fetch('/api/status', { headers: { accept: 'application/json' }, cache: 'no-store' });
    if (r.ok) { status = await r.json(); receivedAt = performance.now(); }
  } catch {}
  render(status);
  if (status.state === 'ready' || status.state === 'idle') { location.reload(); return; }
  if (status.state === 'booting' || status.phase === 'stopping') setTimeout(poll, 1000);
}
$('retry').addEventListener('click', async () => {
  $('actions').hidden = true;
  await fetch('/api/wake', { method: 'POST', headers: { accept: 'application/json', 'content-type': 'application/json' }, body: JSON.stringify({ reason: 'wake from the progress page' }) }).catch(() => {});
  setTimeout(poll, 300);
});
render(status);
setTimeout(poll, 1000);
</script>
</body></html>`;
  return htmlResponse(html, 503, { 'retry-after': '2' });
}

/** A plain page with a message (hibernated, not configured, …). */
export function messagePage(title: string, message: string, status: number): Response {
  return htmlResponse(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">` +
      `<title>${escapeHtml(title)}</title><style>${PAGE_STYLE}</style></head><body><main><h1>${escapeHtml(title)}</h1>` +
      `<p class="error">${escapeHtml(message)}</p></main></body></html>`,
    status,
  );
}
