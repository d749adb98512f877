// /view?left=ID&right=ID[&collection=NAME][&words=N][&bridge=K][&diff=on][&sentences=on]: two indexed documents side by side.
import { apiJson, documentPath, el, hiddenFields, pageHeader, phraseSettings, phraseSettingsFields, renderComparison, showError } from './compare.js';

const params = new URLSearchParams(location.search);
const collection = params.get('collection') ?? '';
const left = params.get('left'), right = params.get('right');
const settings = phraseSettings(params);
const result = document.getElementById('result');
pageHeader(collection ? `collection ${collection}` : 'default collection');

async function show() {
  if (!left || !right) {
    result.replaceChildren(el('p', { class: 'error', role: 'alert' }, 'Name two documents: /view?left=ID&right=ID[&collection=NAME].'));
    return;
  }
  document.title = `Compare: ${left} and ${right}`;
  try {
    const [leftDocument, rightDocument, response] = await Promise.all([
      apiJson(`${documentPath(collection, left)}?includeText=true`),
      apiJson(`${documentPath(collection, right)}?includeText=true`),
      apiJson('/v1/compare', { collection, left: { id: left }, right: { id: right }, ...settings }),
    ]);
    const back = el('p', {}, el('a', { href: `/collections/${encodeURIComponent(collection || 'default')}` }, `All documents of ${collection || 'default'}`));
    // The same page again with other phrase settings.
    const form = el('form', { class: 'row', method: 'get', action: '/view' }, ...hiddenFields({ collection, left, right }), ...phraseSettingsFields(settings),
      el('div', {}, el('button', { type: 'submit' }, 'Find the passages again')));
    renderComparison(result, { title: left, text: leftDocument.document.text ?? '' }, { title: right, text: rightDocument.document.text ?? '' }, response, settings);
    result.prepend(back, form);
  } catch (error) {
    showError(result, error);
  }
}

show();
