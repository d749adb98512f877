// Shared by the pages: calls to Compare's JSON routes, and the side-by-side view of shared phrases.
const KeyName = 'compare.apiKey';

export class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

/** The phrase settings of a page's query string: shortest phrase and bridged words, as Compare takes them. */
export function phraseSettings(params) {
  const number = (name, fallback) => (params.get(name) ?? '') === '' ? fallback : Number(params.get(name));
  return { min_phrase_words: number('words', 3), max_bridge_words: number('bridge', 0) };
}

/** Number fields for the phrase settings, named as phraseSettings reads them. */
export function phraseSettingsFields(settings) {
  const field = (id, name, label, value, min, max) => el('div', {}, el('label', { for: id }, label),
    el('input', { id, name, type: 'number', min, max, step: 1, value, required: true }));
  return [
    field('words', 'words', 'Shortest phrase (words)', settings.min_phrase_words, 1, 1000),
    field('bridge', 'bridge', 'Differing words bridged', settings.max_bridge_words, 0, 10),
  ];
}

/** Calls a JSON route: GET without a body, POST with one. Returns the response text. */
export async function api(path, body) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const key = sessionStorage.getItem(KeyName);
  if (key) headers.authorization = `Bearer ${key}`;
  const response = await fetch(path, { method: body === undefined ? 'GET' : 'POST', headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  if (!response.ok) {
    let message = text || response.statusText;
    try { message = JSON.parse(text).message ?? message; } catch { /* not a google.rpc.Status */ }
    throw new ApiError(response.status, message);
  }
  return text;
}

export const apiJson = async (path, body) => JSON.parse(await api(path, body));

/** A server-streaming route answers one JSON object per line. */
export const jsonLines = text => text.split('\n').filter(line => line.trim() !== '').map(line => JSON.parse(line));

// Ids may hold slashes (the CLI names files by relative path): the route takes the rest of the path as the id.
export const documentPath = (collection, id) =>
  `/v1/collections/${encodeURIComponent(collection || 'default')}/documents/${encodeURIComponent(id).replaceAll('%2F', '/')}`;

export const viewUrl = (collection, left, right) =>
  `/view?${new URLSearchParams({ ...(collection ? { collection } : {}), left, right })}`;

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null && value !== false) node.setAttribute(name, value === true ? '' : value);
  }
  node.append(...children.filter(c => c !== undefined && c !== null));
  return node;
}

/** Shows an error where the result would go; a 401 says how to give a key. */
export function showError(container, error) {
  const hint = error instanceof ApiError && error.status === 401 ? ' Enter the API key at the top of the page.' : '';
  container.replaceChildren(el('p', { class: 'error', role: 'alert' }, `${error.message}${hint}`));
}

/** The API key field in every page's header: kept for this browser tab only. */
export function keyField() {
  const input = el('input', { type: 'password', id: 'api-key', autocomplete: 'off', placeholder: 'only if the server asks', size: 18 });
  input.value = sessionStorage.getItem(KeyName) ?? '';
  input.addEventListener('change', () => input.value ? sessionStorage.setItem(KeyName, input.value) : sessionStorage.removeItem(KeyName));
  return el('span', {}, el('label', { for: 'api-key', class: 'inline' }, 'API key'), input);
}

export function pageHeader(title) {
  document.body.prepend(el('header', { class: 'top' },
    el('h1', {}, el('a', { href: '/' }, 'Compare')), el('span', {}, title), keyField()));
}

// The API reports spans in Unicode code points; JavaScript strings index UTF-16 units.
function utf16Offsets(text) {
  const offsets = [0];
  let index = 0;
  for (const character of text) {
    index += character.length;
    offsets.push(index);
  }
  return offsets;
}

/**
 * Writes text into container with every shared span wrapped in <mark>. Spans may overlap (one passage of
 * one side can match two of the other), so the text is cut at every span boundary and each piece is marked
 * with the phrases that cover it (data-phrases="3 7").
 */
function markSide(container, text, spans, count) {
  const offsets = utf16Offsets(text);
  const length = offsets.length - 1;
  const starting = new Map(), ending = new Map();
  const cuts = new Set([0, length]);
  for (const span of spans) {
    const start = Math.min(span.start, length), end = Math.min(span.end, length);
    if (end <= start) continue;
    (starting.get(start) ?? starting.set(start, []).get(start)).push(span);
    (ending.get(end) ?? ending.set(end, []).get(end)).push(span);
    cuts.add(start).add(end);
  }

  const points = [...cuts].sort((a, b) => a - b);
  const active = new Set();
  const fragment = document.createDocumentFragment();
  for (let k = 0; k < points.length - 1; k++) {
    for (const span of ending.get(points[k]) ?? []) active.delete(span);
    for (const span of starting.get(points[k]) ?? []) active.add(span);
    const piece = text.slice(offsets[points[k]], offsets[points[k + 1]]);
    const covering = [...active];
    if (covering.length === 0) {
      fragment.append(piece);
      continue;
    }

    const phrases = [...new Set(covering.map(span => span.phrase))].sort((a, b) => a - b);
    // Words a bridged phrase spans but the two texts word differently (WCopyfind's "imperfections").
    const bridged = covering.some(span => span.bridged);
    fragment.append(el('mark', {
      'data-phrases': phrases.join(' '),
      class: bridged ? 'bridged' : undefined,
      tabindex: 0,
      title: `Shared phrase ${phrases[0] + 1} of ${count}${bridged ? ', worded differently here' : ''}: select to see it in the other text`,
    }, piece));
  }

  container.replaceChildren(fragment);
}

const percent = value => `${(100 * (value ?? 0)).toFixed(1)}%`;

function scoreList(r) {
  const item = (name, value, description) => el('li', { title: description }, `${name} `, el('b', {}, value));
  const list = el('ul', { class: 'scores', 'aria-label': 'Scores' },
    item('Jaccard', (r.jaccard ?? 0).toFixed(3), 'Exact Jaccard similarity of the shingle sets'),
    item('Estimated Jaccard', (r.estimatedJaccard ?? 0).toFixed(3), 'MinHash estimate'),
    item('Left in right', percent(r.containmentLeft), 'Containment: how much of the left document the right one contains'),
    item('Right in left', percent(r.containmentRight), 'Containment: how much of the right document the left one contains'),
    item('Left coverage', percent(r.leftCoverage), 'Share of the left words inside a shared phrase'),
    item('Right coverage', percent(r.rightCoverage), 'Share of the right words inside a shared phrase'),
    item('Shared phrases', String(r.totalPhraseCount ?? (r.sharedPhrases ?? []).length), 'Phrases found in both texts'));
  const fuzzy = r.fuzzy;
  if (fuzzy) {
    const seen = `on the first ${fuzzy.maxCharacters} characters (partial and weighted: ${fuzzy.maxPartialCharacters})`;
    list.append(
      item('Fuzzy ratio', String(fuzzy.ratio ?? 0), `FuzzySharp ratio, ${seen}`),
      item('Partial', String(fuzzy.partialRatio ?? 0), `FuzzySharp partial ratio, ${seen}`),
      item('Token sort', String(fuzzy.tokenSortRatio ?? 0), `FuzzySharp token sort ratio, ${seen}`),
      item('Token set', String(fuzzy.tokenSetRatio ?? 0), `FuzzySharp token set ratio, ${seen}`),
      item('Weighted', String(fuzzy.weightedRatio ?? 0), `FuzzySharp weighted ratio, ${seen}`));
  }
  return list;
}

/** Hovering a phrase lights it on both sides; selecting it (click, Enter) moves the focus to its twin. */
function linkTwins(view) {
  const marksOf = phrase => view.querySelectorAll(`mark[data-phrases~="${phrase}"]`);
  const phrasesOf = mark => mark.dataset.phrases.split(' ');
  const select = mark => {
    const phrase = phrasesOf(mark)[0];
    const other = mark.closest('.side').dataset.side === 'left' ? 'right' : 'left';
    view.querySelectorAll('mark.twin').forEach(m => m.classList.remove('twin'));
    marksOf(phrase).forEach(m => m.classList.add('twin'));
    const twin = view.querySelector(`.side[data-side="${other}"] mark[data-phrases~="${phrase}"]`);
    if (twin) {
      twin.focus({ preventScroll: true });
      twin.scrollIntoView({ block: 'center', behavior: 'smooth' });
    }
  };
  view.addEventListener('click', event => {
    const mark = event.target.closest('mark');
    if (mark) select(mark);
  });
  view.addEventListener('keydown', event => {
    const mark = event.target.closest('mark');
    if (mark && (event.key === 'Enter' || event.key === ' ')) {
      event.preventDefault();
      select(mark);
    }
  });
  for (const [type, on] of [['mouseover', true], ['mouseout', false]]) {
    view.addEventListener(type, event => {
      const mark = event.target.closest('mark');
      if (mark) phrasesOf(mark).forEach(p => marksOf(p).forEach(m => m.classList.toggle('hover', on)));
    });
  }
}

/**
 * Renders a CompareResponse: the scores, both texts side by side with the shared phrases marked and
 * linked, and the list of phrases.
 */
export function renderComparison(container, left, right, response) {
  const phrases = response.sharedPhrases ?? [];
  const span = (range, phrase, bridged) => ({ start: range?.start ?? 0, end: range?.end ?? 0, phrase, bridged });
  const spansOf = name => phrases.flatMap((p, i) => [span(p[name], i, false), ...(p.differences ?? []).map(d => span(d[name], i, true))]);
  const side = (name, doc) => {
    const text = el('div', { class: 'text', lang: '' });
    markSide(text, doc.text, spansOf(name), phrases.length);
    return el('section', { class: 'side', 'data-side': name, 'aria-label': `${name} text` }, el('h2', {}, doc.title), text);
  };
  const view = el('div', { class: 'pair', id: 'texts' }, side('left', left), side('right', right));
  linkTwins(view);
  const list = el('ol', { class: 'phrases' }, ...phrases.map((p, i) => el('li', {},
    el('a', { href: '#texts', 'data-phrase': i }, p.text), el('span', { class: 'muted' }, ` (${p.wordCount} words)`))));
  list.addEventListener('click', event => {
    const link = event.target.closest('a[data-phrase]');
    if (!link) return;
    event.preventDefault();
    const mark = view.querySelector(`.side[data-side="left"] mark[data-phrases~="${link.dataset.phrase}"]`);
    if (mark) {
      mark.click();
      mark.scrollIntoView({ block: 'center', behavior: 'smooth' });
    }
  });
  const shown = phrases.length < (response.totalPhraseCount ?? 0) ? ` (the longest ${phrases.length} shown)` : '';
  container.replaceChildren(scoreList(response), view,
    el('h2', {}, `Shared phrases${shown}`), phrases.length ? list : el('p', { class: 'muted' }, 'No shared phrase.'));
}
