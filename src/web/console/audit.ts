import { $, row } from '../shared/dom.ts';
import { call, download, problem } from './api.ts';
import { fromHex, leafHashOf, toHex, verifyConsistency, verifyInclusion, type LeafEvent } from './merkle.ts';

/** The audit trail: search, one event proven in the browser, exports, and the tree head's integrity. */
type AuditEvent = LeafEvent & { leafHash: string | null };
type TreeHead = { treeSize: number; rootHash: string; timestamp: number; signature: string };

let next: string | null = null;
let loading = false;

/** The search form as a query; times typed in the officer's zone go out as instants. */
function auditQuery(): URLSearchParams {
  const query = new URLSearchParams();
  for (const [name, value] of new FormData($<HTMLFormElement>('#audit-form'))) {
    if (typeof value !== 'string' || value.trim() === '') continue;
    query.set(name, name === 'from' || name === 'to' ? new Date(value).toISOString() : value.trim());
  }
  return query;
}

export async function search(append: boolean): Promise<void> {
  if (append && (!next || loading)) return;
  loading = true;
  try {
    const query = auditQuery();
    if (append && next) query.set('cursor', next);
    const page = await call<{ events: AuditEvent[]; nextCursor: string | null }>(`/v1/audit/events?${query}`);
    next = page.nextCursor;
    const rows = page.events.map((e) => {
      const tr = row([
        String(e.leafIndex ?? '…'),
        new Date(e.at).toLocaleString(),
        `${e.actor.type}${e.actor.id ? ` ${e.actor.id}` : ''}`,
        e.action,
        e.decision,
        e.purpose ?? '',
        e.reasons.map((r) => r.code).join(', '),
      ]);
      tr.dataset.id = e.id;
      tr.tabIndex = 0;
      const open = () => void openEvent(e).catch(problem);
      tr.addEventListener('click', open);
      tr.addEventListener('keydown', (k) => k.key === 'Enter' && open());
      return tr;
    });
    if (append) $('#events').append(...rows);
    else $('#events').replaceChildren(...rows);
    $('#audit-count').textContent = `${$('#events').childElementCount} events${next ? ' so far; more load as you scroll' : ''}`;
    $('#more').hidden = !next;
  } finally {
    loading = false;
  }
}

/** Results page as the officer scrolls: the "More" button (kept for keyboards) loads itself once it comes into view. */
export function pageAsYouScroll(): void {
  new IntersectionObserver((entries) => entries.some((e) => e.isIntersecting) && void search(true).catch(problem)).observe($('#more'));
}

/** The current search, whole, as a file. */
export async function exportSearch(format: 'csv' | 'ndjson'): Promise<void> {
  const query = auditQuery();
  query.set('format', format);
  await download(`/v1/audit/events?${query}`, `custos-audit.${format}`);
}

const base64url = (text: string) => Uint8Array.from(atob(text.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));

/** The tree head's JWS, checked with the published key (Ed25519 in WebCrypto) and against the head's own fields. */
async function signatureHolds(head: TreeHead): Promise<boolean> {
  const [protectedHeader, payload, signature] = head.signature.split('.');
  const { keys } = await call<{ keys: JsonWebKey[] }>('/.well-known/jwks.json');
  const claims = JSON.parse(new TextDecoder().decode(base64url(payload!))) as { rootHash: string; treeSize: number; timestamp: number };
  if (claims.rootHash !== head.rootHash || claims.treeSize !== head.treeSize || claims.timestamp !== head.timestamp) return false;
  for (const jwk of keys) {
    const key = await crypto.subtle.importKey('jwk', jwk, { name: 'Ed25519' }, false, ['verify']);
    if (await crypto.subtle.verify({ name: 'Ed25519' }, key, base64url(signature!), new TextEncoder().encode(`${protectedHeader}.${payload}`))) return true;
  }
  return false;
}

/**
 * One event, proven in the browser: its leaf hash recomputed from its own
 * fields, then its inclusion proof checked against the signed tree head.
 */
async function openEvent(e: AuditEvent): Promise<void> {
  $('#event').hidden = false;
  $('#event-fields').textContent = JSON.stringify(e, null, 2);
  const verdict = $('#event-proof');
  verdict.className = '';
  verdict.textContent = 'checking…';
  const fail = (why: string) => {
    verdict.textContent = `not verified: ${why}`;
    verdict.className = 'bad';
  };
  if (e.leafIndex === null) return fail('the event is not placed in the log yet; try again in a moment');
  const leafHash = await leafHashOf(e);
  if (toHex(leafHash) !== e.leafHash) return fail('its fields do not hash to the leaf the log holds');
  const head = await call<TreeHead>('/v1/audit/tree-head');
  if (!(await signatureHolds(head))) return fail("the tree head's signature does not hold");
  if (e.leafIndex >= head.treeSize) return fail('the event is newer than the last signed tree head; try again in a moment');
  const proof = await call<{ auditPath: string[] }>(`/v1/audit/proofs/inclusion?index=${e.leafIndex}&treeSize=${head.treeSize}`);
  if (!(await verifyInclusion(e.leafIndex, head.treeSize, leafHash, proof.auditPath.map(fromHex), fromHex(head.rootHash)))) return fail('the inclusion proof does not lead to the signed root');
  verdict.textContent = `verified: leaf ${e.leafIndex} of the signed tree of ${head.treeSize.toLocaleString()} events`;
  verdict.className = 'ok';
}

export async function checkIntegrity(): Promise<void> {
  const head = await call<TreeHead>('/v1/audit/tree-head');
  $('#tree-size').textContent = head.treeSize.toLocaleString();
  $('#signed-at').textContent = new Date(head.timestamp).toLocaleString();
  const signed = await signatureHolds(head);
  $('#signature').textContent = signed ? 'verified' : 'NOT VALID';
  $('#signature').className = signed ? 'ok' : 'bad';
  const seen = JSON.parse(localStorage.getItem('custos.console.head') ?? 'null') as TreeHead | null;
  let consistent = true;
  if (!seen) $('#consistency').textContent = 'first check in this browser';
  else if (seen.treeSize > head.treeSize) {
    consistent = false;
    $('#consistency').textContent = 'INCONSISTENT: the log is shorter than this browser saw';
  } else {
    const { proof } = await call<{ proof: string[] }>(`/v1/audit/proofs/consistency?from=${seen.treeSize}&to=${head.treeSize}`);
    consistent = await verifyConsistency(seen.treeSize, head.treeSize, proof.map(fromHex), fromHex(seen.rootHash), fromHex(head.rootHash));
    $('#consistency').textContent = consistent
      ? `consistent with the head of ${seen.treeSize.toLocaleString()} events seen ${new Date(seen.timestamp).toLocaleString()}`
      : 'INCONSISTENT: the log was rewritten';
  }
  $('#consistency').className = consistent ? 'ok' : 'bad';
  if (signed && consistent) localStorage.setItem('custos.console.head', JSON.stringify(head));
}
