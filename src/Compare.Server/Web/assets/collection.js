// /collections/NAME: a collection's settings, its documents, and its duplicate clusters after a Deduplicate.
import { ApiError, api, apiJson, el, jsonLines, pageHeader, showError, viewUrl } from './compare.js';

const name = decodeURIComponent(location.pathname.split('/')[2] ?? 'default');
const path = `/v1/collections/${encodeURIComponent(name)}`;
const about = document.getElementById('about');
const clusters = document.getElementById('clusters');
const documents = document.getElementById('documents');
const thresholdInput = document.getElementById('threshold');
document.title = `Compare: ${name}`;
pageHeader(`collection ${name}`);

// Counts as English writes them (1,234), whatever the browser's language, as the command line and the API's messages do.
const figure = n => Number(n ?? 0).toLocaleString('en-US');

async function loadAbout() {
  try {
    const { collection } = await apiJson(path);
    const config = collection.config ?? {};
    thresholdInput.value ||= config.threshold ?? 0.8; // unless the last Deduplicate set it
    about.replaceChildren(el('h2', {}, `Collection ${collection.name}`), el('ul', { class: 'scores' },
      el('li', {}, 'Documents ', el('b', {}, figure(collection.documentCount))),
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
      const sharing = `/passages?${new URLSearchParams({ collection: name, id: d.id })}`;
      rows.append(el('tr', {}, el('td', {}, pick('left')), el('td', {}, pick('right')), el('td', {}, d.id),
        el('td', { class: 'num' }, figure(d.length)), el('td', { class: 'num' }, figure(d.shingleCount)),
        el('td', {}, el('a', { href: sharing, title: `Documents sharing passages with ${d.id}` }, 'shared passages'))));
    }
    nextPageToken = page.nextPageToken ?? '';
    const more = nextPageToken ? el('button', { type: 'button', id: 'more' }, 'More documents') : null;
    more?.addEventListener('click', loadDocuments);
    documents.replaceChildren(el('table', {},
      el('thead', {}, el('tr', {}, el('th', {}, 'Left'), el('th', {}, 'Right'), el('th', {}, 'Id'),
        el('th', { class: 'num' }, 'Characters'), el('th', { class: 'num' }, 'Shingles'), el('th', {}, ''))), rows),
      el('p', { class: 'muted' }, `${figure(rows.children.length)} of ${figure(page.totalCount ?? rows.children.length)} documents shown. `), ...(more ? [more] : []));
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

/** Shows a Deduplicate's result: { clusters, summary, finishTime, truncated }, as GetLastDeduplicate answers it. */
function showClusters(result) {
  const summary = result.summary ?? {};
  // A very large cluster arrives in parts (part > 0 continues the one before): shown as one.
  const found = [];
  for (const cluster of result.clusters ?? []) {
    if ((cluster.part ?? 0) > 0 && found.length) found[found.length - 1].members.push(...(cluster.members ?? []));
    else found.push({ ...cluster, members: [...(cluster.members ?? [])] });
  }
  const list = found.map((cluster, i) => {
    const representative = cluster.representativeId;
    const members = (cluster.members ?? []).filter(m => m.id !== representative);
    return el('div', { class: 'cluster' },
      el('h3', {}, `Cluster ${i + 1}: keep `, el('b', {}, representative), `, drop ${members.length}`),
      el('table', {}, el('thead', {}, el('tr', {}, el('th', {}, 'Duplicate'), el('th', { class: 'num' }, 'Jaccard to the kept one'), el('th', {}, ''))),
        el('tbody', {}, ...members.map(m => el('tr', {}, el('td', {}, m.id), el('td', { class: 'num' }, (m.jaccard ?? 0).toFixed(3)),
          el('td', {}, el('a', { href: viewUrl(name, m.id, representative) }, 'side by side')))))));
  });
  const count = (n, noun) => `${figure(n)} ${noun}${Number(n ?? 0) === 1 ? '' : 's'}`;
  const seconds = parseFloat(summary.elapsed ?? '0');
  const took = seconds < 1 ? `${Math.round(seconds * 1000)} ms` : `${seconds.toFixed(1)} s`;
  const when = result.finishTime ? ` Finished ${new Date(result.finishTime).toLocaleString()}.` : '';
  const truncated = result.truncated ? ` The first ${found.length} of ${summary.clusterCount} clusters are shown.` : '';
  clusters.replaceChildren(
    el('p', {}, `${count(summary.documentCount, 'document')}, ${count(summary.clusterCount, 'cluster')}, ${count(summary.duplicateCount, 'duplicate')} to drop `
      + `at Jaccard ≥ ${summary.threshold ?? thresholdInput.value} (${count(summary.verifiedPairCount, 'verified pair')}, ${took}).${when}${truncated}`),
    ...(list.length ? list : [el('p', { class: 'muted' }, 'No duplicates at this threshold.')]));
}

// Counts the page's own Deduplicate runs: an earlier load that answers late must not replace a newer run.
let runs = 0;

/** The clusters of the collection's last Deduplicate, whoever ran it. */
async function loadLastDeduplicate() {
  const run = runs;
  try {
    const last = await apiJson(`${path}/duplicates`);
    if (run !== runs) return;
    if (last.summary?.threshold) thresholdInput.value = last.summary.threshold;
    showClusters(last);
  } catch (error) {
    if (run !== runs) return;
    if (error instanceof ApiError && error.status === 404) {
      clusters.replaceChildren(el('p', { class: 'muted' }, 'No Deduplicate of this collection has finished yet.'));
    } else {
      showError(clusters, error);
    }
  }
}

document.getElementById('dedup-form').addEventListener('submit', async event => {
  event.preventDefault();
  const button = event.submitter;
  button.disabled = true;
  runs++;
  clusters.replaceChildren(el('p', { class: 'muted' }, 'Finding duplicates…'));
  try {
    const events = jsonLines(await api('/v1/deduplicate', {
      collection: name, threshold: Number(thresholdInput.value), representative: document.getElementById('representative').value,
    }));
    showClusters({ clusters: events.filter(e => e.cluster).map(e => e.cluster), summary: events.find(e => e.summary)?.summary });
  } catch (error) {
    showError(clusters, error);
  } finally {
    button.disabled = false;
  }
});

document.getElementById('api-key').addEventListener('change', () => {
  loadAbout();
  loadLastDeduplicate();
  rows.replaceChildren();
  nextPageToken = '';
  loadDocuments();
});
loadAbout();
loadLastDeduplicate();
loadDocuments();
