// Small progressive enhancements; every page works without this file.
document.addEventListener('submit', function (event) {
  var button = event.submitter;
  var message = button && button.getAttribute('data-confirm');
  if (message && !window.confirm(message)) {
    event.preventDefault();
  }
});

// Buttons that act on a selection ("Download selected", "Share selected", the review queue's
// bulk actions; marked data-needs-selection) stay disabled until one of their form's asset
// checkboxes is ticked; the server refuses an empty selection anyway.
(function () {
  var all = document.querySelectorAll('input[type="checkbox"][name="asset_ids"], input[type="checkbox"][name="ids"]');
  Array.prototype.forEach.call(document.querySelectorAll('[data-needs-selection]'), function (button) {
    var form = button.form;
    if (!form) return;
    var boxes = Array.prototype.filter.call(all, function (b) { return b.form === form; });
    function update() {
      button.disabled = !boxes.some(function (b) { return b.checked; });
    }
    boxes.forEach(function (b) { b.addEventListener('change', update); });
    update();
  });
})();

// Link addresses shown once: select the whole address on focus so it copies in one go.
Array.prototype.forEach.call(document.querySelectorAll('[data-copy]'), function (field) {
  field.addEventListener('focus', function () { field.select(); });
});

// "Copy" beside an address: the clipboard API where the page is a secure context, else the
// field selected and copied the old way; the button says "Copied" for a moment.
Array.prototype.forEach.call(document.querySelectorAll('[data-copy-button]'), function (button) {
  var field = document.getElementById(button.getAttribute('data-copy-button'));
  if (!field) return;
  var label = button.textContent;
  button.addEventListener('click', function () {
    var done = function () {
      button.textContent = 'Copied';
      setTimeout(function () { button.textContent = label; }, 2000);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done, function () { field.select(); });
    } else {
      field.focus();
      field.select();
      try { if (document.execCommand('copy')) done(); } catch (e) { /* the field stays selected */ }
    }
  });
});

// The asset page's preview: a click opens it in a full-window dialog (fitted); a click on the
// image there toggles its natural size, scrollable. Esc or the close button ends it.
Array.prototype.forEach.call(document.querySelectorAll('[data-zoom]'), function (trigger) {
  if (typeof HTMLDialogElement !== 'function') return;
  trigger.addEventListener('click', function () {
    var dialog = document.createElement('dialog');
    dialog.className = 'zoom';
    dialog.setAttribute('aria-label', trigger.getAttribute('aria-label') || 'Preview');
    var close = document.createElement('button');
    close.type = 'button';
    close.className = 'button zoom-close';
    close.textContent = 'Close';
    var img = document.createElement('img');
    img.src = trigger.getAttribute('data-zoom');
    img.alt = (trigger.querySelector('img') || {}).alt || '';
    img.title = 'Click to switch between fitted and full size';
    img.addEventListener('click', function () { dialog.classList.toggle('zoom-full'); });
    close.addEventListener('click', function () { dialog.close(); });
    dialog.addEventListener('close', function () { dialog.remove(); trigger.focus(); });
    dialog.appendChild(close);
    dialog.appendChild(img);
    document.body.appendChild(dialog);
    dialog.showModal();
  });
});

// Search filters fold away on phones (results come first there); wide screens keep them open.
if (window.matchMedia && window.matchMedia('(max-width: 760px)').matches) {
  Array.prototype.forEach.call(document.querySelectorAll('details[data-fold-narrow]'), function (d) {
    d.open = false;
  });
}

// A share link's password or code form answers a wrong entry at its POST address
// (/s/{token}/unlock); put the link's own address back in the bar so a reload or a copied
// address opens the link instead of posting the form again.
Array.prototype.forEach.call(document.querySelectorAll('[data-page-url]'), function (el) {
  var url = el.getAttribute('data-page-url');
  if (url && window.location.pathname !== url && window.history.replaceState) {
    window.history.replaceState(null, '', url);
  }
});
