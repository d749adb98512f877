// /collections/NAME: a collection's settings, its documents, and its duplicate clusters after a Deduplicate.
import { api, apiJson, el, jsonLines, pageHeader, showError, viewUrl } from './compare.js';

const name = decodeURIComponent(location.pathname.split('/')[2] ?? 'default');
const path = `/v1/collections/${encodeURIComponent(name)}`;
const about = document.getElementById('about');
const clusters = document.getElementById('clusters');
const documents = document.getElementById('documents');
const thresholdInput = document.getElementById('threshold');
// The last Deduplicate of this collection stays on the page across reloads in this tab.
const lastRunKey = `compare.clusters.${name}`;
document.title = `Compare: ${name}`;
pageHeader(`collection ${name}`);

async function loadAbout() {
  try {
    const { collection } = await apiJson(path);
    const config = collection.config ?? {};
    thresholdInput.value ||= config.threshold ?? 0.8;
    about.replaceChildren(el('h2', {}, `Collection ${collection.name}`), el('ul', { class: 'scores' },
      el('li', {}, 'Documents ', el('b', {}, String(collection.documentCount ?? 0))),
      el('li', {}, 'Text ', el('b', {}, `${((collection.textBytes ?? 0) / 1e6).toFixed(2)} MB`)),
      el('li', {}, 'Shingles ', el('b', {}, `${config.shingleSize} ${config.shingleKind === 'SHINGLE_KIND_CHARACTER' ? 'characters' : 'words'}`)),
      el('li', {}, 'Permutations ', el('b', {}, String(config.numPerm))),
      el('li', {}, 'LSH ', el('b', {}, `${config.lshBands} bands × ${config.lshRows} rows`)),
      el('li', {}, 'Threshold ', el('b', {}, String(config.threshold))),
      el('li', {}, 'Format ', el('b', {}, `v${collection.formatVersion}`))));
  } catch (error) {
    showError(about, error);
  }
}

let nextPageToken = '';
const rows = el('tbody');
async function loadDocuments() {
  try {
    const query = new URLSearchParams({ pageSize: 200, ...(nextPageToken ? { pageToken: nextPageToken } : {}) });
    const page = await apiJson(`${path}/documents?${query}`);
    for (const d of page.documents ?? []) {
      const pick = side => el('input', { type: 'radio', name: side, value: d.id, 'aria-label': `${d.id} as the ${side} document` });
      rows.append(el('tr', {}, el('td', {}, pick('left')), el('td', {}, pick('right')), el('td', {}, d.id),
        el('td', { class: 'num' }, String(d.length ?? 0)), el('td', { class: 'num' }, String(d.shingleCount ?? 0))));
    }
    nextPageToken = page.nextPageToken ?? '';
    const more = nextPageToken ? el('button', { type: 'button', id: 'more' }, 'More documents') : null;
    more?.addEventListener('click', loadDocuments);
    documents.replaceChildren(el('table', {},
      el('thead', {}, el('tr', {}, el('th', {}, 'Left'), el('th', {}, 'Right'), el('th', {}, 'Id'),
        el('th', { class: 'num' }, 'Characters'), el('th', { class: 'num' }, 'Shingles'))), rows),
      el('p', { class: 'muted' }, `${rows.children.length} of ${page.totalCount ?? rows.children.length} documents shown. `), ...(more ? [more] : []));
  } catch (error) {
    showError(documents, error);
  }
}

document.getElementById('pick-form').addEventListener('submit', event => {
  event.preventDefault();
  const left = documents.querySelector('input[name="left"]:checked')?.value;
  const right = documents.querySelector('input[name="right"]:checked')?.value;
  if (left && right) location.href = viewUrl(name, left, right);
});

function showClusters(events) {
  const summary = events.find(e => e.summary)?.summary ?? {};
  const found = events.filter(e => e.cluster).map(e => e.cluster);
  const list = found.map((cluster, i) => {
    const representative = cluster.representativeId;
    const members = (cluster.members ?? []).filter(m => m.id !== representative);
    return el('div', { class: 'cluster' },
      el('h3', {}, `Cluster ${i + 1}: keep `, el('b', {}, representative), `, drop ${members.length}`),
      el('table', {}, el('thead', {}, el('tr', {}, el('th', {}, 'Duplicate'), el('th', { class: 'num' }, 'Jaccard to the kept one'), el('th', {}, ''))),
        el('tbody', {}, ...members.map(m => el('tr', {}, el('td', {}, m.id), el('td', { class: 'num' }, (m.jaccard ?? 0).toFixed(3)),
          el('td', {}, el('a', { href: viewUrl(name, m.id, representative) }, 'side by side')))))));
  });
  clusters.replaceChildren(
    el('p', {}, `${summary.documentCount ?? 0} documents, ${found.length} clusters, ${summary.duplicateCount ?? 0} duplicates to drop `
      + `at Jaccard ≥ ${summary.threshold ?? thresholdInput.value} (${summary.verifiedPairCount ?? 0} verified pairs, ${summary.elapsed ?? ''}).`),
    ...(list.length ? list : [el('p', { class: 'muted' }, 'No duplicates at this threshold.')]));
}

document.getElementById('dedup-form').addEventListener('submit', async event => {
  event.preventDefault();
  const button = event.submitter;
  button.disabled = true;
  clusters.replaceChildren(el('p', { class: 'muted' }, 'Finding duplicates…'));
  try {
    const events = jsonLines(await api('/v1/deduplicate', {
      collection: name, threshold: Number(thresholdInput.value), representative: document.getElementById('representative').value,
    }));
    sessionStorage.setItem(lastRunKey, JSON.stringify(events.filter(e => !e.progress)));
    showClusters(events);
  } catch (error) {
    showError(clusters, error);
  } finally {
    button.disabled = false;
  }
});

const lastRun = sessionStorage.getItem(lastRunKey);
if (lastRun) showClusters(JSON.parse(lastRun));
document.getElementById('api-key').addEventListener('change', () => { loadAbout(); rows.replaceChildren(); nextPageToken = ''; loadDocuments(); });
loadAbout();
loadDocuments();
