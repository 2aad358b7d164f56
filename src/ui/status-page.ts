/**
 * The operator's status page (GET /_ondemand/, behind Access like the rest):
 * state and since, the boot phase (and where the last boot's time went), the
 * work an idle sleep waits for, the next scheduled wake and the job it is
 * for, backups, month-to-date and projected cost against the two thresholds
 * (scheduled wakes included), the recent lifecycle timeline, and buttons for
 * wake, sleep, hibernate, resume and backup. It reads GET /api/status and
 * GET /api/cost every 2 s; readable on a phone.
 */
import { BOOT_PHASE_LABELS } from '../contract/boot-status.ts';
import { PAGE_STYLE, htmlResponse } from './html.ts';

export const STATUS_PAGE_PATH = '/_ondemand/';

const STYLE = `${PAGE_STYLE}
  body { display: block; }
  main { max-width: 46rem; margin: 0 auto; }
  .state { font-size: 2rem; font-weight: 700; margin: .25rem 0; text-transform: capitalize; }
  .grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(13rem, 1fr)); gap: .75rem; margin: 1rem 0; }
  .card { border: 1px solid color-mix(in srgb, CanvasText 20%, Canvas); border-radius: .5rem; padding: .75rem; }
  .card h2 { font-size: .85rem; margin: 0 0 .4rem; opacity: .75; text-transform: uppercase; letter-spacing: .04em; }
  .buttons { display: flex; flex-wrap: wrap; gap: .5rem; margin: 1rem 0; }
  .buttons button { min-width: 6.5rem; min-height: 2.75rem; }
  ol.timeline { list-style: none; padding: 0; margin: 0; font-size: .9rem; }
  ol.timeline li { padding: .3rem 0; border-bottom: 1px solid color-mix(in srgb, CanvasText 10%, Canvas); }
  svg text { fill: currentColor; font-size: 11px; }
  #message { min-height: 1.4rem; }
`;

export function statusPage(): Response {
  const labels = JSON.stringify(BOOT_PHASE_LABELS);
  return htmlResponse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,"><title>openclaw-ondemand status</title><style>${STYLE}</style></head>
<body><main>
  <p class="muted">openclaw-ondemand</p>
  <div class="state" id="state" data-testid="state">…</div>
  <div id="phase" class="phase" data-testid="phase"></div>
  <div class="muted" id="since"></div>
  <div class="buttons">
    <button type="button" data-action="wake">Wake</button>
    <button type="button" data-action="sleep">Sleep</button>
    <button type="button" data-action="hibernate">Hibernate</button>
    <button type="button" data-action="resume">Resume</button>
    <button type="button" data-action="backup">Back up</button>
  </div>
  <div id="message" role="status" aria-live="polite"></div>
  <div class="grid">
    <section class="card"><h2>Cost this month</h2><svg id="cost" width="100%" height="90" viewBox="0 0 300 90" role="img" aria-label="cost against thresholds"></svg><div id="costText" class="muted"></div><div id="modelText" class="muted"></div></section>
    <section class="card"><h2>Model</h2><div id="model" data-testid="model"></div><div id="signIn" class="muted" data-testid="sign-in" role="status" aria-live="polite"></div>
      <p class="buttons" id="signInButtons" hidden><button type="button" id="signInStart">Sign in to ChatGPT</button><button type="button" id="signInCancel" hidden>Cancel</button></p></section>
    <section class="card"><h2>Backups</h2><div id="backups"></div></section>
    <section class="card"><h2>Container time</h2><div id="meter"></div><div id="boot" class="muted" data-testid="boot"></div></section>
    <section class="card"><h2>Scheduled work</h2><div id="schedule" data-testid="schedule"></div><div id="work" class="muted" data-testid="work"></div></section>
    <section class="card" id="inboxCard" hidden><h2>Chat inbox</h2><div id="inbox" data-testid="inbox"></div></section>
  </div>
  <section class="card"><h2>Timeline</h2><ol class="timeline" id="timeline"></ol></section>
</main>
<script>
const LABELS = ${labels};
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s ?? '').replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
const when = (iso) => iso ? new Date(iso).toLocaleString() : '—';
function costChart(cost) {
  // The cron's last decision, else the figure computed on request (before the first cron run).
  const last = cost && (cost.last || cost.current);
  const soft = (cost && cost.thresholds && cost.thresholds.softUsd) || 15, hard = (cost && cost.thresholds && cost.thresholds.hardUsd) || 20;
  const max = Math.max(hard * 1.25, last ? last.projectedUsd * 1.05 : 0);
  const x = (usd) => 10 + (usd / max) * 280;
  const bar = (y, usd, label) => '<rect x="10" y="' + y + '" height="16" width="' + Math.max(1, x(usd) - 10) + '" fill="' + (usd > hard ? '#c33' : usd > soft ? '#d90' : '#3a7') + '"></rect><text x="' + (x(usd) + 4) + '" y="' + (y + 12) + '">' + label + ' $' + usd.toFixed(2) + '</text>';
  let svg = '';
  if (last) svg += bar(8, last.monthToDateUsd, 'so far') + bar(32, last.projectedUsd, 'projected');
  for (const [usd, name] of [[soft, 'soft'], [hard, 'hard']]) svg += '<line x1="' + x(usd) + '" x2="' + x(usd) + '" y1="2" y2="60" stroke="currentColor" stroke-dasharray="3 3"></line><text x="' + (x(usd) - 12) + '" y="76">' + name + ' $' + usd + '</text>';
  $('cost').innerHTML = svg;
  const origin = cost && cost.last ? 'cron ' + when(cost.last.at) : 'computed now, no cron run yet';
  $('costText').textContent = last ? (origin + ' · ' + last.source + (last.fallbackReason ? ' (' + last.fallbackReason + ')' : '') + ' · ' + last.decision.reason) : 'cost not available';
  // Model calls, metered by the Worker at egress, and the model lines.
  const m = cost && cost.model, lines = cost && cost.modelLines;
  const line = (usd) => usd === null || usd === undefined ? 'none' : '$' + usd.toFixed(2);
  $('modelText').textContent = m && lines
    ? 'models: $' + m.usd.toFixed(2) + ' this month, ' + m.calls + ' calls (' + m.inputTokens + ' tokens in, ' + m.outputTokens + ' out) · model lines soft ' + line(lines.softUsd) + ', hard ' + line(lines.hardUsd) + ': ' + lines.level + (m.refused ? ', ' + m.refused + ' refused' : '')
    : '';
}
function render(s, cost) {
  document.body.dataset.state = s.state;
  $('state').textContent = s.state + (s.stopping ? ' → ' + s.stopping.target : '');
  $('phase').textContent = s.state === 'booting' ? (LABELS[s.phase] || s.phase || '') + '…' : s.phase ? s.phase + '…' : (s.lastError ? s.lastError.code + ': ' + s.lastError.message : '');
  $('since').textContent = 'since ' + when(s.since) + (s.sleepAt ? ' · sleeps at ' + new Date(s.sleepAt).toLocaleTimeString() : '') + (s.hibernation ? ' · ' + s.hibernation.reason : '');
  const m = s.model;
  if (m) {
    $('model').textContent = m.detail + (m.signIn && m.signIn.expiresAt ? ' · token until ' + when(m.signIn.expiresAt) : '') + (m.lastCredentialBackup ? ' · credentials backed up ' + when(m.lastCredentialBackup.at) + ' (' + m.lastCredentialBackup.result + ')' : '');
    $('signInButtons').hidden = m.route !== 'subscription';
  }
  const i = s.inbox;
  $('inboxCard').hidden = !i;
  if (i) {
    $('inbox').textContent = i.pending + ' waiting' + (i.oldestPendingAt ? ' (oldest ' + when(i.oldestPendingAt) + ')' : '') + ' · ' + i.delivered + ' delivered'
      + (i.lastDelivery ? ' (last ' + when(i.lastDelivery.at) + ')' : '') + ' · ' + i.wakes + ' wakes from messages'
      + (i.deadLetters.length ? ' · ' + i.deadLetters.length + ' dead letters' : '') + (i.refused ? ' · ' + i.refused + ' refused senders' : '');
  }
  const b = s.backups;
  $('backups').innerHTML = b.enabled ? ('last backup: ' + esc(b.lastBackup ? b.lastBackup.result + ' · ' + when(b.lastBackup.at) : 'none') + '<br>last restore: ' + esc(b.lastRestore ? b.lastRestore.result + ' · ' + when(b.lastRestore.at) : 'none')) : 'backups not configured';
  $('meter').textContent = (s.meter.totalSeconds / 3600).toFixed(2) + ' h on ' + s.meter.instanceType + (s.meter.running ? ' (running)' : '');
  const boot = s.lastBoot;
  $('boot').textContent = boot ? 'last boot' + (boot.totalMs !== null ? ' ' + (boot.totalMs / 1000).toFixed(1) + ' s' : ' (under way)') + ': ' + boot.parts.map((p) => p.phase + ' ' + (p.ms === null ? '…' : (p.ms / 1000).toFixed(1) + ' s')).join(', ') : '';
  const sc = s.schedule;
  $('schedule').textContent = sc.mode === 'off' ? 'scheduled wakes off (SCHEDULED_WAKES=off)'
    : sc.next ? 'next scheduled wake ' + when(sc.next.wakeAt) + ' for "' + sc.next.jobName + '" (due ' + when(sc.next.runAt) + ')' + (sc.thinnedToEveryMs ? ' · thinned to every ' + Math.round(sc.thinnedToEveryMs / 3600000) + ' h (soft budget line)' : '')
    : sc.awaiting ? 'up for "' + sc.awaiting.jobName + '" (due ' + when(sc.awaiting.runAt) + ')'
    : s.state === 'hibernated' ? 'no scheduled wakes while hibernated'
    : 'no scheduled wake ahead' + (sc.jobs ? ' (' + sc.jobs + ' jobs, ' + sc.wakingJobs + ' of them wake it)' : '');
  $('work').textContent = (s.work ? 'sleep waits for running work: ' + s.work.blockers.map((b) => b.message).join('; ') + ' (since ' + when(s.work.since) + ')' : '') + (sc.lastRun ? (s.work ? ' · ' : '') + 'last scheduled run: "' + sc.lastRun.jobName + '" ' + sc.lastRun.status + ' ' + when(sc.lastRun.at) : '');
  $('timeline').innerHTML = s.history.slice().reverse().map((h) => '<li><strong>' + esc(h.from) + ' → ' + esc(h.to) + '</strong> · ' + esc(h.reason) + ' <span class="muted">' + when(h.at) + '</span></li>').join('');
  costChart(cost);
}
/** The subscription's device-code sign-in: start it, show the page and the code, follow it until it ends. */
async function signIn(cancel) {
  const r = await fetch('/api/login', { method: 'POST', headers: { accept: 'application/json', 'content-type': 'application/json' }, body: JSON.stringify(cancel ? { cancel: true } : { provider: 'codex' }) });
  let x = await r.json().catch(() => ({}));
  if (!r.ok) { $('signIn').textContent = (x.error && x.error.message) || 'sign-in: ' + r.status; return; }
  $('signInCancel').hidden = cancel;
  while (!cancel && (x.state === 'starting' || x.state === 'waiting')) {
    $('signIn').innerHTML = x.userCode ? 'Open <a href="' + esc(x.verificationUrl) + '" target="_blank" rel="noopener noreferrer">' + esc(x.verificationUrl) + '</a> and enter <strong data-testid="user-code">' + esc(x.userCode) + '</strong>' : esc(x.message);
    await new Promise((r) => setTimeout(r, 1500));
    x = await fetch('/api/login', { headers: { accept: 'application/json' }, cache: 'no-store' }).then((r) => r.json()).catch(() => ({ state: 'failed', message: 'cannot read the sign-in' }));
  }
  $('signInCancel').hidden = true;
  $('signIn').textContent = x.message || '';
  refresh();
}
$('signInStart').addEventListener('click', () => signIn(false));
$('signInCancel').addEventListener('click', () => signIn(true));
async function refresh() {
  try {
    const [s, c] = await Promise.all([
      fetch('/api/status', { headers: { accept: 'application/json' }, cache: 'no-store' }).then((r) => r.json()),
      fetch('/api/cost', { headers: { accept: 'application/json' }, cache: 'no-store' }).then((r) => r.ok ? r.json() : null),
    ]);
    if (s && s.state) render(s, c);
  } catch (e) { $('message').textContent = 'cannot read the status: ' + e.message; }
}
for (const button of document.querySelectorAll('button[data-action]')) {
  button.addEventListener('click', async () => {
    const action = button.dataset.action;
    $('message').textContent = action + '…';
    const r = await fetch('/api/' + action, { method: 'POST', headers: { accept: 'application/json', 'content-type': 'application/json' }, body: JSON.stringify({ reason: action + ' from the status page' }) });
    const body = await r.json().catch(() => ({}));
    $('message').textContent = r.ok ? action + ': ok' : action + ': ' + ((body.error && body.error.message) || r.status);
    refresh();
  });
}
refresh();
setInterval(refresh, 2000);
</script>
</body></html>`);
}
