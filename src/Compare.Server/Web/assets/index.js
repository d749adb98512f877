// The start page: paste two texts, or pick two indexed documents, and see the collections.
import { apiJson, el, pageHeader, phraseSettings, phraseSettingsFields, renderComparison, showError } from './compare.js';

pageHeader('near-duplicates and the wording they share');
const result = document.getElementById('result');
const collections = document.getElementById('collections');
const collectionSelect = document.getElementById('collection');
const ids = document.getElementById('document-ids');
document.getElementById('phrase-settings').replaceChildren(...phraseSettingsFields(phraseSettings(new URLSearchParams())));

document.getElementById('texts-form').addEventListener('submit', async event => {
  event.preventDefault();
  const button = event.submitter;
  button.disabled = true;
  const left = document.getElementById('left-text').value, right = document.getElementById('right-text').value;
  try {
    const settings = phraseSettings(new FormData(event.target));
    const response = await apiJson('/v1/compare', { left: { text: left }, right: { text: right }, ...settings });
    renderComparison(result, { title: 'Left text', text: left }, { title: 'Right text', text: right }, response, settings);
    result.scrollIntoView({ block: 'start' });
  } catch (error) {
    showError(result, error);
  } finally {
    button.disabled = false;
  }
});

async function loadIds() {
  try {
    const page = await apiJson(`/v1/collections/${encodeURIComponent(collectionSelect.value || 'default')}/documents?pageSize=1000`);
    ids.replaceChildren(...(page.documents ?? []).map(d => el('option', { value: d.id })));
  } catch {
    ids.replaceChildren();
  }
}

async function loadCollections() {
  try {
    const list = (await apiJson('/v1/collections')).collections ?? [];
    collectionSelect.replaceChildren(...list.map(c => el('option', { value: c.name }, c.name)));
    const rows = list.map(c => el('tr', {},
      el('td', {}, el('a', { href: `/collections/${encodeURIComponent(c.name)}` }, c.name)),
      el('td', { class: 'num' }, String(c.documentCount ?? 0)),
      el('td', { class: 'num' }, String(c.config?.threshold ?? ''))));
    collections.replaceChildren(el('table', {},
      el('thead', {}, el('tr', {}, el('th', {}, 'Name'), el('th', { class: 'num' }, 'Documents'), el('th', { class: 'num' }, 'Threshold'))),
      el('tbody', {}, ...rows)));
    await loadIds();
  } catch (error) {
    showError(collections, error);
  }
}

collectionSelect.addEventListener('change', loadIds);
document.getElementById('api-key').addEventListener('change', loadCollections);
loadCollections();
