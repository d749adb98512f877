// /view?left=ID&right=ID[&collection=NAME]: two indexed documents side by side.
import { apiJson, documentPath, el, pageHeader, renderComparison, showError } from './compare.js';

const params = new URLSearchParams(location.search);
const collection = params.get('collection') ?? '';
const left = params.get('left'), right = params.get('right');
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
      apiJson('/v1/compare', { collection, left: { id: left }, right: { id: right } }),
    ]);
    const back = el('p', {}, el('a', { href: `/collections/${encodeURIComponent(collection || 'default')}` }, `All documents of ${collection || 'default'}`));
    renderComparison(result, { title: left, text: leftDocument.document.text ?? '' }, { title: right, text: rightDocument.document.text ?? '' }, response);
    result.prepend(back);
  } catch (error) {
    showError(result, error);
  }
}

show();
