// Files in the composer, with JavaScript. Why this is plain DOM outside the wasm, and what it
// promises the wasm, is in app/src/components/attach.rs. Each file picked, pasted or dropped
// goes up at once to POST /api/attach (XMLHttpRequest: the one browser API that reports upload
// progress) and waits as a chip in #chips. A stored file's chip holds a hidden `attachments`
// field of the form, so the form itself says which files go. Active once the page is hydrated
// (`data-enhanced` on the form); before that the file input posts with the form, as it does
// without JavaScript.

const list = () => document.getElementById('chips');
const picker = () => document.getElementById('attach-files');
const enhanced = () => document.getElementById('composer')?.hasAttribute('data-enhanced');

// The counts Send needs, kept on the file input; its `change` (marked as ours) tells the wasm.
function changed() {
  const input = picker();
  if (!input) return;
  input.dataset.stored = list().querySelectorAll('li.stored').length;
  input.dataset.uploading = list().querySelectorAll('li.uploading').length;
  input.dispatchEvent(Object.assign(new Event('change', { bubbles: true }), { chips: true }));
}

function element(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text) e.textContent = text;
  return e;
}

// Which models read a stored file, said next to it for the model now picked.
function sayReaders(li) {
  const model = document.querySelector('select[name=model]')?.value || '';
  const readers = (li.dataset.readBy || '').split(',');
  const name = model.charAt(0).toUpperCase() + model.slice(1);
  li.querySelector('.readers').textContent =
    !model || readers.includes(model) ? '' : `${name} cannot read this file.`;
}

function refuse(li, message) {
  li.className = 'chip refused';
  li.querySelector('progress')?.remove();
  const why = li.querySelector('.readers');
  why.setAttribute('role', 'alert');
  why.textContent = message;
  changed();
}

function store(li, file) {
  li.className = 'chip stored';
  li.dataset.readBy = file.read_by.join(',');
  li.querySelector('progress')?.remove();
  li.querySelector('.name').textContent = file.label;
  if (file.image) {
    const img = element('img');
    Object.assign(img, { src: file.url, alt: '', width: 48, height: 48 });
    li.prepend(img);
  }
  const field = element('input');
  Object.assign(field, { type: 'hidden', name: 'attachments', value: file.id });
  li.append(field);
  sayReaders(li);
  changed();
}

function upload(file, note) {
  const limits = list().dataset;
  const li = element('li', 'chip uploading');
  const progress = element('progress');
  Object.assign(progress, { max: 100, value: 0 });
  progress.setAttribute('aria-label', `Uploading ${file.name}`);
  const remove = element('button', 'secondary remove', '×');
  remove.type = 'button';
  remove.setAttribute('aria-label', `Remove ${file.name}`);
  li.append(element('span', 'name', file.name), element('span', 'hint', note), progress,
    element('span', 'hint readers'), remove);
  const held = list().querySelectorAll('li:not(.refused)').length;
  list().append(li);
  if (held >= +limits.maxFiles) return refuse(li, limits.tooMany);
  if (file.size > +limits.maxBytes) return refuse(li, limits.tooLarge);
  const body = new FormData();
  body.append('held', held);
  body.append('files', file, file.name);
  const xhr = new XMLHttpRequest();
  li.upload = xhr;
  xhr.upload.onprogress = (e) => {
    if (e.lengthComputable) progress.value = Math.min(99, (100 * e.loaded) / e.total);
  };
  xhr.onloadend = () => {
    if (!li.isConnected) return;
    let reply = null;
    try {
      reply = JSON.parse(xhr.responseText);
    } catch {}
    if (xhr.status === 200 && reply?.[0]) store(li, reply[0]);
    else refuse(li, reply?.message || 'The upload was cut off. Remove the file and attach it again.');
  };
  xhr.open('POST', '/api/attach');
  xhr.setRequestHeader('Accept', 'application/json');
  xhr.send(body);
  changed();
}

const uploadAll = (files) => [...files].forEach((f) => upload(f));

document.addEventListener('change', (e) => {
  if (!enhanced() || e.chips) return;
  if (e.target === picker()) {
    uploadAll(e.target.files);
    // Taken: a send names the stored files, the input never posts them again.
    e.target.value = '';
  } else if (e.target.name === 'model') {
    list().querySelectorAll('li.stored').forEach(sayReaders);
  }
});

// Pictures pasted become chips; words that would take the box past a message's length become
// a text file, never a silent cut.
document.addEventListener('paste', (e) => {
  const box = e.target;
  if (!enhanced() || box.id !== 'message') return;
  const data = e.clipboardData;
  if (data.files.length) {
    e.preventDefault();
    return uploadAll(data.files);
  }
  const text = data.getData('text/plain');
  const chars = [...text].length;
  const kept = [...box.value].length - [...box.value.slice(box.selectionStart, box.selectionEnd)].length;
  const max = +list().dataset.maxChars;
  if (kept + chars <= max) return;
  e.preventDefault();
  const count = (n) => n.toLocaleString('en');
  upload(new File([text], 'pasted text.txt', { type: 'text/plain' }),
    `Your paste of ${count(chars)} characters is longer than a message can be (${count(max)}), so it goes as this text file.`);
});

// Files dropped anywhere on the page (the browser would otherwise open them in its place).
const carriesFiles = (e) => [...(e.dataTransfer?.types || [])].includes('Files');
document.addEventListener('dragover', (e) => {
  if (enhanced() && carriesFiles(e)) e.preventDefault();
});
document.addEventListener('drop', (e) => {
  if (!enhanced() || !e.dataTransfer?.files.length) return;
  e.preventDefault();
  uploadAll(e.dataTransfer.files);
});

// Remove: an upload under way is cut off (the server keeps nothing of it); focus goes to the
// next chip's Remove, else to the message box.
document.addEventListener('click', (e) => {
  const li = e.target.closest?.('#chips .remove')?.closest('li');
  if (!li) return;
  li.upload?.abort();
  const next = li.nextElementSibling || li.previousElementSibling;
  li.remove();
  (next?.querySelector('.remove') || document.getElementById('message'))?.focus();
  changed();
});

// Sent: the wasm names the files that went (`data-sent`); their chips leave, with the refused
// ones. Chips added while the message was on its way stay.
function watchSends() {
  const chips = list();
  if (!chips) return;
  new MutationObserver(() => {
    const sent = (chips.dataset.sent || '').split(',');
    for (const li of chips.querySelectorAll('li')) {
      const id = li.querySelector('input[name=attachments]')?.value;
      if (li.classList.contains('refused') || sent.includes(id)) li.remove();
    }
    changed();
  }).observe(chips, { attributes: true, attributeFilter: ['data-sent'] });
}
if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', watchSends);
else watchSends();
