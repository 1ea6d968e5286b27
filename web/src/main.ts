// The demo page: one FibonacciRpcClient for the page's lifetime, a call form, a streamed sequence
// on the same connection, a burst with live charts, and the connection state always on screen.
import {
  type ConnectionState,
  FibonacciRpcClient,
  fibonacciService,
  type RpcError,
  ServiceClient,
} from '@stomp-rpc/client';
import { encodeN } from '@stomp-rpc/client/protocol';
import { type BurstOptions, type BurstResult, runBurst } from './burst.js';
import { BurstProgress } from './burst-progress.js';
import { drawHistogram, drawRate } from './chart.js';
import { demoConfig, embedQuery } from './config.js';
import { byId, showRunning } from './dom.js';
import { showErrorBox } from './error-box.js';
import { foldDigits, formatDigits, formatMs } from './format.js';
import { explanationsAfterCheck } from './messages.js';
import { SequencePanel } from './sequence-panel.js';
import { ServersPanel } from './servers.js';
import './style.css';

const config = demoConfig();
byId('queue-name').textContent = config.queue;
byId('broker').textContent = `${config.urls.join(', ')} as ${config.login}`;
// The plain page would fall back to its own defaults rather than this demo's.
byId<HTMLAnchorElement>('embed-link').search = embedQuery(config);

// ---- connection state ---------------------------------------------------------------------

const connection = byId('connection');
const connectionLog = byId<HTMLOListElement>('connection-log');
const LOG_ENTRIES = 12;

/** Shows the state (and why) in the header and appends it to the connection log. */
function showState(state: ConnectionState | 'failed', reason?: RpcError): void {
  connection.dataset.state = state;
  byId('connection-state').textContent = state;
  byId('connection-reason').textContent = reason ? `${reason.code}: ${reason.message}` : '';
  const entry = document.createElement('li');
  entry.dataset.state = state;
  const time = document.createElement('time');
  time.textContent = new Date().toLocaleTimeString();
  entry.append(time, ` ${state}`, reason ? ` (${reason.code}: ${reason.message})` : '');
  connectionLog.prepend(entry);
  while (connectionLog.children.length > LOG_ENTRIES) connectionLog.lastElementChild?.remove();
}

showState('connecting');
const serversPanel = new ServersPanel(byId('servers'), byId('procedures'), byId<HTMLElement>('servers-count'));
const client = openClient();

/** The page's client; a configuration it refuses (a URL that is not ws://, say) is shown, not just logged. */
function openClient(): FibonacciRpcClient {
  try {
    return new FibonacciRpcClient({
      url: config.urls,
      login: config.login,
      passcode: config.passcode,
      vhost: config.vhost,
      queue: config.queue,
      // The browser user may publish to the rpc exchange only (it routes requests to rpc_queue, and
      // pings and cancels on to amq.topic).
      exchange: 'rpc',
      onStateChange: (state, reason) => {
        showState(state, reason);
        showPending();
        showServers();
      },
      onServersChange: () => showServers(),
    });
  } catch (error) {
    showState('failed', error as RpcError);
    // Nothing below runs: turn the forms off, or their buttons would submit the page natively.
    for (const control of document.querySelectorAll<HTMLButtonElement | HTMLInputElement>('form button, form input')) {
      control.disabled = true;
    }
    byId('servers').replaceChildren('Not connected: the page’s broker settings were refused (see above).');
    throw error;
  }
}
/** Redraws the servers panel; while not connected, as the list of the last connection. */
function showServers(): void {
  serversPanel.render(client.servers(config.queue), Date.now(), client.state === 'connected');
}
// Between announcements, keep "seen … ago" current (and drop servers that went silent).
setInterval(showServers, 1000);
// The client keeps retrying on its own (unless the browser refuses every URL); if the first
// connection is slow to come, say why.
client.ready(8000).catch((error: RpcError) => {
  if (client.state === 'connecting') showState('failed', error);
});
window.addEventListener('pagehide', () => {
  // Stop what runs first: closing with a burst going would fail each of its remaining calls.
  burstAbort?.abort();
  sequencePanel.stop();
  callAbort?.abort();
  void client.close();
});
// Back from the back/forward cache, the page's client is the one closed above: start afresh.
window.addEventListener('pageshow', (event) => {
  if (event.persisted) location.reload();
});
// The streamed sequence shares the page's connection (and, like it, publishes to the rpc exchange).
const sequenceService = { ...fibonacciService, queue: config.queue };
const sequencePanel = new SequencePanel(new ServiceClient(sequenceService, { client: client.rpc, exchange: 'rpc' }));

// ---- one call -----------------------------------------------------------------------------

const callForm = byId<HTMLFormElement>('call-form');
const nInput = byId<HTMLInputElement>('n');
const resultBox = byId('result');
const pendingNote = byId('call-pending');
/**
 * A person waiting for one answer would rather wait through a broker restart (reconnecting with
 * backoff can take 10-15 s) than get TIMEOUT; the burst keeps the client's default of 10 s.
 */
const CALL_TIMEOUT_MS = 30_000;
const errorBox = byId('error');
/**
 * What a screen reader says about the call: a live region that is always on the page (one shown
 * from hidden is often not read), with a line short enough to hear, not a folded 200-digit number.
 */
const callAnnouncement = byId('call-announcement');
let fullValue = '';
/** The call the result area waits for; a new one cancels it, on the server too. */
let callAbort: AbortController | undefined;
/** That call's n, for the note that it is on its way. */
let pendingN: string | undefined;

/** The note under the form while a call is out, with whether it waits for the connection; kept current as that changes. */
function showPending(): void {
  if (pendingN === undefined) return;
  pendingNote.textContent = `Calling fib(${pendingN})…${client.state === 'connected' ? '' : ' (waiting for the broker)'}`;
}

function showValue(n: string, value: string, latencyMs: number, server?: string, serverMs?: number): void {
  const folded = foldDigits(value);
  fullValue = value;
  byId('result-call').textContent = `fib(${n})`;
  const output = byId('value');
  output.textContent = folded.shown;
  output.title = folded.folded ? 'folded: the full number is below' : '';
  byId('full-value').hidden = !folded.folded;
  byId<HTMLDetailsElement>('full-value').open = false;
  byId('full-digits').textContent = folded.folded ? value : '';
  byId('digits').textContent = formatDigits(folded.digits);
  byId('latency').textContent = `${formatMs(latencyMs)} round trip`;
  byId('answered-by').textContent =
    server === undefined ? '' : ` · answered by ${server}${serverMs === undefined ? '' : ` in ${formatMs(serverMs)}`}`;
  byId('copy-status').textContent = '';
  resultBox.hidden = false;
  callAnnouncement.textContent = `fib(${n}) = ${folded.folded ? `a number of ${formatDigits(folded.digits)}` : value}`;
}

callForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  const n = nInput.value.trim();
  try {
    encodeN(n); // the client's own rule, checked first: a typo must not cancel the call under way
  } catch (error) {
    if (!callAbort) resultBox.hidden = true;
    showErrorBox('error', error); // a role="alert": read out by itself
    return;
  }
  errorBox.hidden = true; // an earlier call's error must not stand under this one
  callAbort?.abort();
  const thisCall = new AbortController();
  callAbort = thisCall;
  const startedAt = performance.now();
  byId('call-button').setAttribute('aria-busy', 'true');
  pendingN = n;
  showPending();
  pendingNote.hidden = false;
  callAnnouncement.textContent = pendingNote.textContent;
  try {
    const result = await client.callDetailed(n, { timeoutMs: CALL_TIMEOUT_MS, signal: thisCall.signal });
    if (thisCall !== callAbort) return; // a newer call owns the result area
    showValue(n, result.value.toString(), performance.now() - startedAt, result.server, result.serverMs);
  } catch (error) {
    if (thisCall !== callAbort) return; // replaced, and so cancelled
    resultBox.hidden = true;
    callAnnouncement.textContent = '';
    showErrorBox('error', error, explanationsAfterCheck(error));
  } finally {
    if (thisCall === callAbort) {
      callAbort = undefined;
      pendingN = undefined;
      byId('call-button').removeAttribute('aria-busy');
      pendingNote.hidden = true;
    }
  }
});

byId('copy').addEventListener('click', async () => {
  const status = byId('copy-status');
  try {
    await navigator.clipboard.writeText(fullValue);
    status.textContent = 'Copied.';
  } catch {
    // No clipboard access (e.g. a page served over plain http from another host): select it.
    const digits = byId('full-value').hidden ? byId('value') : byId('full-digits');
    byId<HTMLDetailsElement>('full-value').open = true;
    const range = document.createRange();
    range.selectNodeContents(digits);
    getSelection()?.removeAllRanges();
    getSelection()?.addRange(range);
    status.textContent = 'Selected: press Ctrl+C (⌘C) to copy.';
  }
});

// ---- burst --------------------------------------------------------------------------------

const burstForm = byId<HTMLFormElement>('burst-form');
const startButton = byId<HTMLButtonElement>('burst-start');
const stopButton = byId<HTMLButtonElement>('burst-stop');
const burstSummary = byId('burst-summary');
const histogram = byId<SVGSVGElement>('histogram');
const rateChart = byId<SVGSVGElement>('rate');
/** How often the charts and the summary are redrawn while a burst runs. */
const REDRAW_MS = 200;
let burstAbort: AbortController | undefined;
/** What the burst form asks for. */
type BurstRequest = Pick<BurstOptions, 'total' | 'concurrency' | 'n'>;
/** The burst the charts show: the latest one, or an empty one before the first. */
let shownBurst = new BurstProgress(0, performance.now());

/** A count from the form, whole and clamped to 1..max; blank or not a number, refused. */
function countFrom(input: HTMLInputElement, name: string, max: number): number {
  const value = Math.trunc(Number(input.value));
  if (input.value.trim() === '' || !Number.isFinite(value)) {
    throw new Error(`enter a number of ${name} (1 to ${max.toLocaleString('en-US')})`);
  }
  return Math.min(max, Math.max(1, value));
}

/** The burst form's values (the form then shows the counts used), or an Error saying which one cannot be used. */
function readBurstForm(): BurstRequest {
  const n = byId<HTMLInputElement>('burst-n').value.trim();
  encodeN(n); // the client's own rule, checked once rather than failing every call
  const [totalInput, concurrencyInput] = [
    byId<HTMLInputElement>('burst-total'),
    byId<HTMLInputElement>('burst-concurrency'),
  ];
  const total = countFrom(totalInput, 'calls', 100_000);
  const concurrency = countFrom(concurrencyInput, 'calls in flight', 1000);
  totalInput.value = String(total);
  concurrencyInput.value = String(concurrency);
  return { total, concurrency, n };
}

/** Draws the charts again; they size themselves to their width, so a resize redraws them too. */
function redrawCharts(): void {
  drawHistogram(histogram, shownBurst.latencies.buckets());
  drawRate(rateChart, shownBurst.completions.points(shownBurst.elapsedMs), shownBurst.elapsedMs);
}
redrawCharts();
window.addEventListener('resize', () => redrawCharts());

/** Only one burst at a time: Start is off while one runs, Stop only then. */
function showBurstRunning(running: boolean): void {
  showRunning(startButton, stopButton, running);
}

/** Charts, servers panel and summary as of now; with `result`, as the burst ended. */
function showBurstProgress(progress: BurstProgress, result?: BurstResult): void {
  progress.elapsedMs = result ? result.elapsedMs : performance.now() - progress.startedAt;
  redrawCharts();
  showServers(); // the "this burst" column
  const text = progress.summarize(result);
  burstSummary.textContent = text.summary;
  histogram.setAttribute('aria-label', text.histogramLabel);
  rateChart.setAttribute('aria-label', text.rateLabel);
}

/** One burst call; counts which server answered it, for the servers panel's "this burst" column. */
async function callCountingServer(n: string, signal: AbortSignal): Promise<void> {
  const { server } = await client.callDetailed(n, { signal });
  if (server !== undefined) serversPanel.burstShare.set(server, (serversPanel.burstShare.get(server) ?? 0) + 1);
}

/** Runs one burst on the page's client, redrawing its progress every REDRAW_MS until it ends. */
async function runDemoBurst({ total, concurrency, n }: BurstRequest): Promise<void> {
  serversPanel.burstShare = new Map();
  const abort = new AbortController();
  burstAbort = abort;
  showBurstRunning(true);
  burstSummary.dataset.state = 'running';
  burstSummary.setAttribute('aria-busy', 'true'); // read out once, when it ends, not every REDRAW_MS
  const progress = new BurstProgress(total, performance.now());
  shownBurst = progress;
  const ticker = setInterval(() => showBurstProgress(progress), REDRAW_MS);
  try {
    const result = await runBurst({
      total,
      concurrency,
      n,
      signal: abort.signal,
      call: callCountingServer,
      onCallEnded: (outcome) => {
        if (!progress.callEnded(outcome, performance.now() - progress.startedAt)) abort.abort();
      },
    });
    showBurstProgress(progress, result);
    burstSummary.dataset.state = progress.refusal ? 'failed' : result.aborted ? 'stopped' : 'done';
  } finally {
    clearInterval(ticker);
    burstSummary.removeAttribute('aria-busy');
    burstAbort = undefined;
    showBurstRunning(false);
  }
}

burstForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  if (burstAbort) return;
  let request: BurstRequest;
  try {
    request = readBurstForm();
  } catch (error) {
    // Under "Not run", empty charts and column: the last burst's would read as this one's.
    shownBurst = new BurstProgress(0, performance.now());
    serversPanel.burstShare = new Map();
    showBurstProgress(shownBurst);
    burstSummary.dataset.state = 'failed';
    burstSummary.textContent = `Not run: ${(error as Error).message}.`;
    return;
  }
  await runDemoBurst(request);
});

stopButton.addEventListener('click', () => burstAbort?.abort());
