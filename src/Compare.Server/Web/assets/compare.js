// Shared by the pages: calls to Compare's JSON routes, and the side-by-side view of shared passages.
const KeyName = 'compare.apiKey';

export class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

/** Shortest passage the pages ask for when none is given: the service's own default (see the README). */
const DefaultWords = 4;

/** The passage settings of a page's query string or form: shortest passage, bridged words, diff and similar sentences. */
export function phraseSettings(params) {
  const number = (name, fallback) => (params.get(name) ?? '') === '' ? fallback : Number(params.get(name));
  const flag = name => ['on', 'true', '1'].includes(String(params.get(name) ?? ''));
  return {
    min_phrase_words: number('words', DefaultWords),
    max_bridge_words: number('bridge', 0),
    include_diff: flag('diff'),
    include_similar_sentences: flag('sentences'),
  };
}

/** A labelled whole-number field of a settings form, named as the page's URL parameter. */
export function numberField(name, label, value, min, max) {
  return el('div', {}, el('label', { for: name }, label),
    el('input', { id: name, name, type: 'number', min, max, step: 1, value, required: true }));
}

/** Hidden fields that carry a page's other URL parameters (those set) through its settings form. */
export function hiddenFields(values) {
  return Object.entries(values).filter(([, v]) => v).map(([name, value]) => el('input', { type: 'hidden', name, value }));
}

/** Fields for the passage settings, named as phraseSettings reads them. */
export function phraseSettingsFields(settings) {
  const box = (id, label, checked) => el('div', { class: 'check' },
    el('input', { id, name: id, type: 'checkbox', checked }), el('label', { for: id, class: 'inline' }, label));
  return [
    numberField('words', 'Shortest passage (words)', settings.min_phrase_words, 1, 1000),
    numberField('bridge', 'Differing words bridged', settings.max_bridge_words, 0, 10),
    box('diff', 'Word diff', settings.include_diff),
    box('sentences', 'Similar sentences', settings.include_similar_sentences),
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
 * Writes text into container with its shared words marked. The text is cut at every boundary of a shared
 * range and of a passage's occurrence; each marked piece names the passages that cover it
 * (data-phrases="3 7"), takes the colour of the longest, and the first piece of an occurrence shows the
 * passage's number. What is marked is exactly the shared words the coverage counts (plus the brackets and
 * quotes a passage takes in), whether or not max_phrases listed every passage.
 */
function markSide(container, text, shared, spans) {
  const offsets = utf16Offsets(text);
  const length = offsets.length - 1;
  const clamp = value => Math.min(Math.max(value ?? 0, 0), length);
  const events = new Map();
  const at = point => events.get(point) ?? events.set(point, { start: [], end: [] }).get(point);
  for (const span of [...shared.map(range => ({ ...range, shared: true })), ...spans]) {
    const start = clamp(span.start), end = clamp(span.end);
    if (end <= start) continue;
    at(start).start.push(span);
    at(end).end.push(span);
  }

  const points = [...new Set([0, length, ...events.keys()])].sort((a, b) => a - b);
  const active = new Set();
  const fragment = document.createDocumentFragment();
  for (let k = 0; k < points.length - 1; k++) {
    const { start = [], end = [] } = events.get(points[k]) ?? {};
    for (const span of end) active.delete(span);
    for (const span of start) active.add(span);
    const piece = text.slice(offsets[points[k]], offsets[points[k + 1]]);
    if (active.size === 0) {
      fragment.append(piece);
      continue;
    }

    const covering = [...active].filter(span => !span.shared);
    const phrases = [...new Set(covering.map(span => span.phrase))].sort((a, b) => a - b);
    // Words a bridged passage spans but the two texts word differently (WCopyfind's "imperfections").
    const bridged = covering.some(span => span.bridged);
    const starting = start.filter(span => !span.shared && !span.bridged).map(span => span.phrase).sort((a, b) => a - b);
    const first = phrases[0];
    fragment.append(el('mark', {
      'data-phrases': phrases.length ? phrases.join(' ') : undefined,
      'data-label': starting.length ? String(starting[0] + 1) : undefined,
      class: [first === undefined ? 'unlisted' : `c${first % 10}`, bridged ? 'bridged' : ''].join(' ').trim(),
      tabindex: phrases.length ? 0 : undefined,
      title: first === undefined
        ? 'Shared wording (its passage is not listed)'
        : `Passage ${first + 1}${bridged ? ', worded differently here' : ''}: select to see it in the other text`,
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
    item('Left coverage', percent(r.leftCoverage), 'Share of the left words that are shared: the marked words'),
    item('Right coverage', percent(r.rightCoverage), 'Share of the right words that are shared: the marked words'),
    item('Shared passages', String(r.totalPhraseCount ?? (r.sharedPhrases ?? []).length), 'Passages found in both texts'));
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

/**
 * Hovering a passage lights it on both sides; selecting it (click, Enter) marks every occurrence and moves
 * the focus to its first twin on the other side. Returns the selection, for the passage list.
 */
function linkTwins(view) {
  const marksOf = phrase => view.querySelectorAll(`mark[data-phrases~="${phrase}"]`);
  const phrasesOf = mark => mark.dataset.phrases.split(' ');
  const select = (mark, phrase = phrasesOf(mark)[0]) => {
    const other = mark.closest('.side').dataset.side === 'left' ? 'right' : 'left';
    view.querySelectorAll('mark.twin').forEach(m => m.classList.remove('twin'));
    marksOf(phrase).forEach(m => m.classList.add('twin'));
    const twin = view.querySelector(`.side[data-side="${other}"] mark[data-phrases~="${phrase}"]`);
    if (twin) {
      twin.focus({ preventScroll: true });
      twin.scrollIntoView({ block: 'center', behavior: 'smooth' });
    }
  };
  const listed = event => event.target.closest('mark[data-phrases]');
  view.addEventListener('click', event => {
    const mark = listed(event);
    if (mark) select(mark);
  });
  view.addEventListener('keydown', event => {
    const mark = listed(event);
    if (mark && (event.key === 'Enter' || event.key === ' ')) {
      event.preventDefault();
      select(mark);
    }
  });
  for (const [type, on] of [['mouseover', true], ['mouseout', false]]) {
    view.addEventListener(type, event => {
      const mark = listed(event);
      if (mark) phrasesOf(mark).forEach(p => marksOf(p).forEach(m => m.classList.toggle('hover', on)));
    });
  }
  return select;
}

const shorten = (text, most) => text.length <= most ? text : `${text.slice(0, most - 1)}…`;

/** The passages, longest first, each with its number and colour and how often it stands on each side; a click shows it. */
function passageSummary(phrases, view, select, response) {
  const times = (count, side) => `${count}× ${side}`;
  const list = el('ol', { class: 'phrases', id: 'passages' }, ...phrases.map((p, i) => el('li', { class: `c${i % 10}` },
    el('span', { class: 'badge', 'aria-hidden': 'true' }, String(i + 1)),
    el('a', { href: '#texts', 'data-phrase': i }, shorten(p.text ?? '', 160)),
    el('span', { class: 'muted' }, ` (${p.wordCount ?? 0} words; ${times((p.leftOccurrences ?? []).length || 1, 'left')}, ${times((p.rightOccurrences ?? []).length || 1, 'right')})`))));
  list.addEventListener('click', event => {
    const link = event.target.closest('a[data-phrase]');
    if (!link) return;
    event.preventDefault();
    const mark = view.querySelector(`.side[data-side="left"] mark[data-phrases~="${link.dataset.phrase}"]`);
    if (mark) {
      select(mark, link.dataset.phrase);
      mark.scrollIntoView({ block: 'center', behavior: 'smooth' });
    }
  });
  const shown = phrases.length < (response.totalPhraseCount ?? 0) ? ` (the longest ${phrases.length} of ${response.totalPhraseCount} listed)` : '';
  const incomplete = response.phrasesTruncated
    ? el('p', { class: 'muted' }, 'These texts repeat the same wording so often that the search stopped at its work bound: some passages are not listed.')
    : undefined;
  return el('section', { 'aria-label': 'Shared passages' },
    el('h2', {}, `Shared passages, longest first${shown}`), phrases.length ? list : el('p', { class: 'muted' }, 'No shared passage.'), incomplete);
}

/** The word diff: equal words plain, words only on the left struck out, words only on the right underlined. */
function diffSection(segments) {
  const pieces = segments.map(s => s.operation === 'DIFF_OPERATION_DELETE' ? el('del', {}, s.text ?? '')
    : s.operation === 'DIFF_OPERATION_INSERT' ? el('ins', {}, s.text ?? '') : el('span', {}, s.text ?? ''));
  const joined = pieces.flatMap((piece, i) => i === 0 ? [piece] : [' ', piece]);
  return el('section', { 'aria-label': 'Word diff' }, el('h2', {}, 'Word diff (left to right)'), el('p', { class: 'diff' }, ...joined));
}

function sentencesSection(pairs) {
  const rows = pairs.map(p => el('tr', {}, el('td', {}, p.leftText ?? ''), el('td', {}, p.rightText ?? ''), el('td', { class: 'num' }, String(p.ratio ?? 0))));
  return el('section', { 'aria-label': 'Similar sentences' }, el('h2', {}, 'Similar sentences'),
    pairs.length ? el('table', { class: 'sentences' }, el('thead', {}, el('tr', {}, el('th', {}, 'Left'), el('th', {}, 'Right'), el('th', { class: 'num' }, 'Ratio'))),
      el('tbody', {}, ...rows)) : el('p', { class: 'muted' }, 'No similar sentence pair.'));
}

/**
 * Renders a CompareResponse: the scores, the passages longest first, both texts side by side with every
 * occurrence of every passage marked, numbered and linked, and the diff and similar sentences when the
 * settings asked for them.
 */
export function renderComparison(container, left, right, response, settings = {}) {
  const phrases = response.sharedPhrases ?? [];
  const span = (range, phrase, bridged) => ({ start: range?.start ?? 0, end: range?.end ?? 0, phrase, bridged });
  const spansOf = name => phrases.flatMap((p, i) => [
    ...(p[`${name}Occurrences`] ?? [p[name]]).map(range => span(range, i, false)),
    ...(p.differences ?? []).map(d => span(d[name], i, true)),
  ]);
  const side = (name, doc) => {
    const text = el('div', { class: 'text', lang: '' });
    markSide(text, doc.text, response[`${name}Shared`] ?? [], spansOf(name));
    return el('section', { class: 'side', 'data-side': name, 'aria-label': `${name} text` }, el('h2', {}, doc.title), text);
  };
  const view = el('div', { class: 'pair', id: 'texts' }, side('left', left), side('right', right));
  const select = linkTwins(view);
  container.replaceChildren(scoreList(response), passageSummary(phrases, view, select, response), view,
    ...(settings.include_diff ? [diffSection(response.diff ?? [])] : []),
    ...(settings.include_similar_sentences ? [sentencesSection(response.similarSentences ?? [])] : []));
}
