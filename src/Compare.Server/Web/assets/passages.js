// /passages?id=ID[&collection=NAME][&words=N][&bridge=K]: the indexed documents that share passages with one, each linking to the side-by-side view.
import { apiJson, el, hiddenFields, numberField, pageHeader, showError, viewUrl } from './compare.js';

const params = new URLSearchParams(location.search);
const collection = params.get('collection') ?? '';
const id = params.get('id');
// Unset, the service's defaults: passages of 7 words and more, exact.
const words = Number(params.get('words') || 0), bridge = Number(params.get('bridge') || 0);
const result = document.getElementById('result');
pageHeader(collection ? `collection ${collection}` : 'default collection');

const percent = x => `${Math.round((x ?? 0) * 100)} %`;

async function show() {
  if (!id) {
    result.replaceChildren(el('p', { class: 'error', role: 'alert' }, 'Name a document: /passages?id=ID[&collection=NAME].'));
    return;
  }
  document.title = `Compare: documents sharing passages with ${id}`;
  try {
    const response = await apiJson('/v1/passages', {
      collection, query: { id }, min_words: words, max_bridge_words: bridge, top_k: 50,
    });
    const matches = response.matches ?? [];
    const back = el('p', {}, el('a', { href: `/collections/${encodeURIComponent(collection || 'default')}` }, `All documents of ${collection || 'default'}`));
    // The same search again with other settings: for the documents found, passages shorter than the guarantee are shown too.
    const form = el('form', { class: 'row', method: 'get', action: '/passages' }, ...hiddenFields({ collection, id }),
      numberField('words', 'Shortest passage (words)', words || response.guaranteedMinWords, 2, 64),
      numberField('bridge', 'Differing words bridged', bridge, 0, 10),
      el('div', {}, el('button', { type: 'submit' }, 'Search again')));
    const rows = matches.map(m => el('tr', {},
      el('td', {}, m.id),
      el('td', { class: 'num' }, String(m.sharedWordCount ?? 0)),
      el('td', { class: 'num' }, percent(m.coverageOfQuery)),
      el('td', { class: 'num' }, percent(m.coverageOfMatch)),
      el('td', {}, ...(m.passages ?? []).slice(0, 3).map(p => el('q', { class: 'passage' }, p.text))),
      el('td', {}, el('a', { href: viewUrl(collection, id, m.id) }, 'side by side'))));
    const shorter = words && words < response.guaranteedMinWords ? `; passages from ${words} words are shown for the documents found` : '';
    const note = `Every passage of at least ${response.guaranteedMinWords} words that ${id} shares with an indexed document is found${shorter}`
      + (response.commonFingerprints ? `, except wording common to more than 1,000 documents (${response.commonFingerprints} such fingerprints left out)` : '')
      + (response.truncated ? `; ${response.candidatesVerified} of ${response.candidatesFound} candidates were compared` : '') + '.';
    result.replaceChildren(back, form, el('h2', {}, `Documents sharing passages with ${id}`), el('p', { class: 'muted' }, note),
      matches.length
        ? el('table', {}, el('thead', {}, el('tr', {}, el('th', {}, 'Document'), el('th', { class: 'num' }, `Words of ${id} shared`),
          el('th', { class: 'num' }, `Of ${id}`), el('th', { class: 'num' }, 'Of the document'), el('th', {}, 'Longest passages'), el('th', {}, ''))),
          el('tbody', {}, ...rows))
        : el('p', { class: 'muted' }, 'No indexed document shares a passage with it.'));
  } catch (error) {
    showError(result, error);
  }
}

show();
