// Copy buttons, with JavaScript only (so they are added here, never sent in the HTML): on each
// reply, its Markdown source (fetched from /source/CHAT/SEQ, as the page does not carry it
// twice), and on each code block, its text. Plain DOM, outside the wasm: it costs the bundle
// nothing, and works before hydration and on rows drawn after it (a MutationObserver).
function button(kind, label) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = `copy secondary copy-${kind}`;
  b.dataset.copy = kind;
  b.setAttribute('aria-label', label);
  b.textContent = 'Copy';
  return b;
}

function enhance(root) {
  if (!root.querySelectorAll) return;
  for (const md of root.querySelectorAll('.message.model .markdown')) {
    if (!md.querySelector(':scope > .copy-reply')) {
      md.prepend(button('reply', "Copy this reply's Markdown"));
    }
    for (const pre of md.querySelectorAll('pre')) {
      if (!pre.previousElementSibling?.classList.contains('copy-code')) {
        pre.before(button('code', 'Copy this code'));
      }
    }
  }
}

// The outcome is the button's own name for a moment: a screen reader reads the focused
// button's new name, and the page keeps its one live region (the replies').
function say(b, outcome) {
  b.textContent = outcome ?? 'Copy';
  if (outcome) {
    b.dataset.label ??= b.getAttribute('aria-label');
    b.setAttribute('aria-label', outcome);
  } else if (b.dataset.label) {
    b.setAttribute('aria-label', b.dataset.label);
  }
}

async function copy(b) {
  let text;
  if (b.dataset.copy === 'code') {
    text = Promise.resolve(b.nextElementSibling?.textContent ?? '');
  } else {
    const chat = location.pathname.split('/')[2] ?? '';
    const seq = b.closest('article')?.dataset.seq ?? '';
    text = fetch(`/source/${encodeURIComponent(chat)}/${encodeURIComponent(seq)}`).then((r) =>
      r.ok ? r.text() : Promise.reject(new Error(`HTTP ${r.status}`)),
    );
  }
  try {
    // A ClipboardItem takes the text as a promise, so the click's permission covers the fetch.
    if (window.ClipboardItem && navigator.clipboard.write) {
      const blob = text.then((t) => new Blob([t], { type: 'text/plain' }));
      await navigator.clipboard.write([new ClipboardItem({ 'text/plain': blob })]);
    } else {
      await navigator.clipboard.writeText(await text);
    }
    say(b, 'Copied');
  } catch {
    say(b, 'Copy failed');
  }
  setTimeout(() => say(b, null), 2000);
}

enhance(document);
new MutationObserver((records) => {
  for (const r of records) for (const n of r.addedNodes) enhance(n.parentElement ?? n);
}).observe(document.body, { childList: true, subtree: true });
document.addEventListener('click', (ev) => {
  const b = ev.target.closest?.('button[data-copy]');
  if (b) copy(b);
});
