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
// Tiles marked data-lightbox (a share link's gallery) open the lightbox below instead.
Array.prototype.forEach.call(document.querySelectorAll('[data-zoom]:not([data-lightbox])'), function (trigger) {
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

// The share page's lightbox. The gallery's tiles (data-lightbox, in document order) open one
// modal viewer: the large preview, its title, size and pixels, Download, previous/next (buttons,
// arrow keys, a swipe on touch screens; both ends wrap round and the counter says where one is)
// and a zoom to the preview's natural size. The address names the open asset (#asset-ID) so it
// can be passed on within the link; replaceState rather than pushState, so looking through
// twenty images does not cost twenty presses of Back. showModal keeps the focus inside and
// closes on Escape; the focus then goes back to the tile of the asset shown last.
var ASSET_HASH = /^#asset-([\w-]+)$/;
(function () {
  var tiles = Array.prototype.slice.call(document.querySelectorAll('[data-lightbox]'));
  if (!tiles.length || typeof HTMLDialogElement !== 'function') return;
  var dialog, ui = {}, current = 0, shown = null, showing = false, zoomed = false, swipe = null;
  var images = {}; // index -> Image: the one shown and its two neighbours, loaded ahead

  function make(tag, cls, text) {
    var el = document.createElement(tag);
    if (cls) el.className = cls;
    if (text) el.textContent = text;
    return el;
  }
  function button(cls, text) {
    var b = make('button', 'button ' + cls, text);
    b.type = 'button';
    return b;
  }
  function wrap(i) { return (i % tiles.length + tiles.length) % tiles.length; }
  function titleOf(i) { return tiles[wrap(i)].getAttribute('data-title') || ''; }
  // Hiding the focused control would drop the focus out of the dialog (and the arrow keys
  // with it): Close takes it first.
  function hide(el, yes) {
    if (yes && el.contains(document.activeElement)) ui.close.focus();
    el.hidden = yes;
  }

  function build() {
    dialog = make('dialog', 'lightbox');
    dialog.setAttribute('aria-labelledby', 'lightbox-title');
    var head = make('div', 'lb-head');
    // A polite live region: moving to another asset reads out its title, size and place.
    var info = make('div', 'lb-info');
    info.setAttribute('aria-live', 'polite');
    ui.title = make('h2', 'lb-title');
    ui.title.id = 'lightbox-title';
    ui.meta = make('p', 'lb-meta');
    ui.size = make('span', 'lb-size');
    ui.count = make('span', 'lb-count');
    ui.meta.appendChild(ui.size);
    ui.meta.appendChild(ui.count);
    info.appendChild(ui.title);
    info.appendChild(ui.meta);
    var tools = make('div', 'lb-tools');
    ui.zoom = button('lb-zoom', 'Actual size');
    ui.download = make('a', 'button primary lb-download', 'Download');
    ui.download.setAttribute('download', '');
    ui.close = button('lb-close', 'Close');
    ui.close.autofocus = true;
    tools.appendChild(ui.zoom);
    tools.appendChild(ui.download);
    tools.appendChild(ui.close);
    head.appendChild(info);
    head.appendChild(tools);
    var body = make('div', 'lb-body');
    ui.stage = make('div', 'lb-stage');
    ui.status = make('p', 'lb-status');
    ui.prev = button('lb-nav lb-prev');
    ui.next = button('lb-nav lb-next');
    body.appendChild(ui.stage);
    body.appendChild(ui.status);
    body.appendChild(ui.prev);
    body.appendChild(ui.next);
    dialog.appendChild(head);
    dialog.appendChild(body);
    document.body.appendChild(dialog);

    ui.prev.addEventListener('click', function () { show(current - 1); });
    ui.next.addEventListener('click', function () { show(current + 1); });
    ui.zoom.addEventListener('click', function () { setZoom(!zoomed); });
    ui.close.addEventListener('click', close);
    // A click on the picture zooms in on the point clicked (and back out).
    ui.stage.addEventListener('click', function (e) {
      if (e.target !== shown || ui.zoom.hidden) return;
      var r = picture();
      var s = ui.stage.getBoundingClientRect();
      setZoom(!zoomed, (e.clientX - r.left) / r.width, (e.clientY - r.top) / r.height, e.clientX - s.left, e.clientY - s.top);
    });
    // A swipe (touch or pen; a mouse has the buttons) moves to the neighbour. Zoomed in, the
    // finger pans the picture instead: CSS lets the browser scroll then (touch-action).
    ui.stage.addEventListener('pointerdown', function (e) {
      swipe = !zoomed && e.isPrimary && e.pointerType !== 'mouse' ? { x: e.clientX, y: e.clientY } : null;
    });
    ui.stage.addEventListener('pointerup', function (e) {
      if (!swipe || zoomed) return;
      var dx = e.clientX - swipe.x, dy = e.clientY - swipe.y;
      swipe = null;
      if (Math.abs(dx) > 40 && Math.abs(dx) > 1.5 * Math.abs(dy)) show(current + (dx < 0 ? 1 : -1));
    });
    ui.stage.addEventListener('pointercancel', function () { swipe = null; });
    // Other ways to close (a phone's Back gesture) end here too, a moment later.
    dialog.addEventListener('close', closed);
    window.addEventListener('resize', function () { if (dialog.open && !zoomed) settle(); });
  }

  // Where the fitted picture is drawn: the img box fills the stage and object-fit: scale-down
  // letterboxes the picture inside it (never enlarged past its natural size).
  function picture() {
    var r = shown.getBoundingClientRect();
    var k = Math.min(1, r.width / shown.naturalWidth, r.height / shown.naturalHeight);
    var w = shown.naturalWidth * k, h = shown.naturalHeight * k;
    return { left: r.left + (r.width - w) / 2, top: r.top + (r.height - h) / 2, width: w, height: h };
  }

  // Zoomed: the natural size, scrolled so that the point (fx, fy) of the picture (fractions)
  // sits at (px, py) of the stage; by default the middle stays in the middle.
  function setZoom(on, fx, fy, px, py) {
    zoomed = !!(on && shown && shown.naturalWidth && !ui.zoom.hidden);
    dialog.classList.toggle('lb-zoomed', zoomed);
    ui.zoom.textContent = zoomed ? 'Fit to screen' : 'Actual size';
    var s = ui.stage;
    if (!zoomed) { s.scrollLeft = 0; s.scrollTop = 0; return; }
    if (fx === undefined) { fx = fy = 0.5; px = s.clientWidth / 2; py = s.clientHeight / 2; }
    s.scrollLeft = shown.offsetLeft + fx * shown.offsetWidth - px;
    s.scrollTop = shown.offsetTop + fy * shown.offsetHeight - py;
  }

  // The shown image has loaded (or failed): hide the loading state; offer the zoom only when
  // the fitted picture is smaller than the preview itself.
  function settle() {
    if (!shown.complete) return;
    var ok = shown.naturalWidth > 0;
    dialog.classList.remove('lb-loading');
    dialog.classList.toggle('lb-failed', !ok);
    ui.status.textContent = ok ? '' : 'This preview could not be loaded.';
    var r = ok && picture();
    var more = ok && (shown.naturalWidth > r.width + 1 || shown.naturalHeight > r.height + 1);
    hide(ui.zoom, !more);
    dialog.classList.toggle('lb-can-zoom', !!more);
  }

  function load(i) {
    var img = images[i];
    if (!img || (img.complete && !img.naturalWidth)) { // new, or failed before: try again
      img = images[i] = new Image();
      img.alt = (tiles[i].querySelector('img') || {}).alt || '';
      img.draggable = false;
      img.addEventListener('load', function () { if (img === shown) settle(); });
      img.addEventListener('error', function () { if (img === shown) settle(); });
      img.src = tiles[i].getAttribute('data-zoom');
    }
    return img;
  }

  function show(i) {
    setZoom(false);
    current = wrap(i);
    var tile = tiles[current], n = tiles.length;
    ui.title.textContent = titleOf(current);
    ui.size.textContent = tile.getAttribute('data-meta') || '';
    ui.count.textContent = n > 1 ? (current + 1) + ' of ' + n : '';
    var dl = tile.getAttribute('data-download') || '';
    hide(ui.download, !dl);
    if (dl) {
      ui.download.href = dl;
      ui.download.textContent = /\/preview\b/.test(dl) ? 'Download preview' : 'Download';
    }
    hide(ui.prev, n < 2);
    hide(ui.next, n < 2);
    ui.prev.setAttribute('aria-label', 'Previous: ' + titleOf(current - 1));
    ui.next.setAttribute('aria-label', 'Next: ' + titleOf(current + 1));
    shown = load(current);
    ui.stage.textContent = '';
    ui.stage.appendChild(shown);
    if (shown.complete) {
      settle();
    } else {
      dialog.classList.add('lb-loading');
      dialog.classList.remove('lb-failed');
      ui.status.textContent = 'Loading\u2026';
    }
    // The neighbours load now, so the next step shows at once; others are let go.
    var keep = {};
    [current + 1, current - 1].forEach(function (k) { keep[wrap(k)] = load(wrap(k)); });
    keep[current] = shown;
    images = keep;
    if (window.history.replaceState) {
      window.history.replaceState(window.history.state, '', '#asset-' + tile.getAttribute('data-id'));
    }
  }

  // Closing puts the focus back on the dialog's opener at once, and the close event follows a
  // task later; so the lightbox's own Close and Escape tidy up at once, or the focus would rest
  // on the first tile for a moment (and a screen reader would announce it).
  function close() {
    dialog.close();
    closed();
  }
  function closed() {
    if (!showing) return; // tidied up already
    showing = false;
    setZoom(false);
    if (ASSET_HASH.test(window.location.hash) && window.history.replaceState) {
      window.history.replaceState(window.history.state, '', window.location.pathname + window.location.search);
    }
    tiles[current].focus();
  }

  function open(i) {
    if (!dialog) build();
    if (!dialog.open) dialog.showModal();
    showing = true;
    show(i);
  }

  // Fitted, the arrows step through the assets; zoomed in, they move over the picture.
  // Modifier keys are left alone (Alt+Left is the browser's Back).
  document.addEventListener('keydown', function (e) {
    if (!dialog || !dialog.open || e.altKey || e.ctrlKey || e.metaKey || e.defaultPrevented) return;
    var k = e.key, s = ui.stage;
    if (k === 'ArrowLeft' || k === 'ArrowRight') {
      var step = k === 'ArrowLeft' ? -1 : 1;
      if (zoomed) s.scrollLeft += step * s.clientWidth / 4;
      else show(current + step);
    } else if ((k === 'ArrowUp' || k === 'ArrowDown') && zoomed) {
      s.scrollTop += (k === 'ArrowUp' ? -1 : 1) * s.clientHeight / 4;
    } else if (k === 'Escape') {
      close();
    } else if (k === 'z' || k === 'Z' || k === '+' || k === '=' || k === '-') {
      setZoom(k === '-' ? false : (k === 'z' || k === 'Z') ? !zoomed : true);
    } else {
      return;
    }
    e.preventDefault();
  });

  tiles.forEach(function (tile, i) {
    tile.addEventListener('click', function () { open(i); });
  });
  function fromHash() {
    var m = ASSET_HASH.exec(window.location.hash);
    for (var i = 0; m && i < tiles.length; i++) {
      if (tiles[i].getAttribute('data-id') === m[1]) { open(i); return; }
    }
  }
  window.addEventListener('hashchange', fromHash);
  fromHash();
})();

// An address passed on with #asset-ID that first meets the link's password or code form: the
// form posts elsewhere, so it carries the fragment along; the server's redirect back to the
// link keeps it, and the lightbox opens on that asset once the link is open.
if (ASSET_HASH.test(window.location.hash)) {
  Array.prototype.forEach.call(document.querySelectorAll('[data-page-url] form'), function (form) {
    var action = form.getAttribute('action');
    if (action) form.setAttribute('action', action.split('#')[0] + window.location.hash);
  });
}

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
    window.history.replaceState(null, '', url + (ASSET_HASH.test(window.location.hash) ? window.location.hash : ''));
  }
});

// "Select all" / "Select none" wherever a selection has actions (a folder's grid, the review
// queue): one button at the start of the bar toggles every box of its form; each box's change
// event runs, so the actions' enabled state follows as when ticking by hand.
Array.prototype.forEach.call(document.querySelectorAll('.selection-bar, .bulk-actions'), function (bar) {
  var action = bar.querySelector('[data-needs-selection]');
  var form = action && action.form;
  if (!form) return;
  var boxes = Array.prototype.filter.call(
    document.querySelectorAll('input[type="checkbox"][name="asset_ids"], input[type="checkbox"][name="ids"]'),
    function (b) { return b.form === form; });
  if (boxes.length < 2) return;
  var toggle = document.createElement('button');
  toggle.type = 'button';
  toggle.className = 'button';
  toggle.setAttribute('data-select-all', '');
  function allChecked() { return boxes.every(function (b) { return b.checked; }); }
  function label() { toggle.textContent = allChecked() ? 'Select none' : 'Select all (' + boxes.length + ')'; }
  toggle.addEventListener('click', function () {
    var to = !allChecked();
    boxes.forEach(function (b) {
      if (b.checked !== to) {
        b.checked = to;
        b.dispatchEvent(new Event('change', { bubbles: true }));
      }
    });
    label();
  });
  boxes.forEach(function (b) { b.addEventListener('change', label); });
  label();
  var row = action.parentNode === bar ? bar : action.parentNode;
  row.insertBefore(toggle, row.firstChild);
});

// Dates on pages are written "11 Dec 2026, 23:59 UTC" (clock::human); show them in the
// viewer's own time zone, as the browser reports it, with the UTC time kept as a tooltip.
(function () {
  if (!window.Intl || !Intl.DateTimeFormat) return;
  // A signed-in person whose account keeps a zone reads the page as the server wrote it (in
  // that zone, or in UTC when they chose UTC).
  var kept = document.querySelector('[data-tz-csrf]');
  if (kept && kept.getAttribute('data-tz')) return;
  var months = { Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11 };
  var shape = /\b(\d{1,2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{4}), (\d{2}):(\d{2}) UTC\b/g;
  var format;
  try {
    format = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZoneName: 'short' });
  } catch (e) { return; }
  function local(_, d, mon, y, h, m) {
    var date = new Date(Date.UTC(+y, months[mon], +d, +h, +m));
    var parts = {};
    format.formatToParts(date).forEach(function (p) { parts[p.type] = p.value; });
    return parts.day + ' ' + parts.month + ' ' + parts.year + ', ' + parts.hour + ':' + parts.minute + ' ' + (parts.timeZoneName || '');
  }
  var skip = { SCRIPT: 1, STYLE: 1, TEXTAREA: 1, INPUT: 1, OPTION: 1 };
  var walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {
    acceptNode: function (n) {
      return !skip[n.parentNode.nodeName] && n.nodeValue.indexOf(' UTC') >= 0 ? NodeFilter.FILTER_ACCEPT : NodeFilter.FILTER_REJECT;
    }
  });
  var nodes = [];
  while (walker.nextNode()) nodes.push(walker.currentNode);
  nodes.forEach(function (n) {
    var before = n.nodeValue;
    var after = before.replace(shape, local);
    if (after !== before) {
      n.nodeValue = after;
      if (!n.parentNode.title) n.parentNode.title = (before.match(shape) || []).join(' · ');
    }
  });
})();

// The main menu's "More" (a <details>, so it opens without this script too): it closes on a
// click elsewhere, on Escape (the focus back on "More"), and when the focus leaves it.
Array.prototype.forEach.call(document.querySelectorAll('details.nav-more'), function (more) {
  var summary = more.querySelector('summary');
  document.addEventListener('click', function (event) {
    if (more.open && !more.contains(event.target)) more.open = false;
  });
  more.addEventListener('keydown', function (event) {
    if (event.key === 'Escape' && more.open) {
      more.open = false;
      summary.focus();
    }
  });
  more.addEventListener('focusout', function (event) {
    if (more.open && event.relatedTarget && !more.contains(event.relatedTarget)) more.open = false;
  });
});

// The reports' chart scrolls sideways on phones: start at its right end, the latest days.
Array.prototype.forEach.call(document.querySelectorAll('.chart-figure'), function (figure) {
  figure.scrollLeft = figure.scrollWidth;
});

// A signed-in person's time zone: the browser's, kept with the account so pages and the mails
// it receives show times in it. Reported only while the account keeps none (a first sign-in,
// or after "Use my browser's" on the account page), so a zone chosen there stays; the server
// checks the name.
(function () {
  var holder = document.querySelector('[data-tz-csrf]');
  if (!holder || !window.Intl || !window.fetch) return;
  var zone;
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
  if (!zone || holder.getAttribute('data-tz')) return;
  fetch('/account/time-zone', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: 'time_zone=' + encodeURIComponent(zone) + '&csrf_token=' + encodeURIComponent(holder.getAttribute('data-tz-csrf'))
  }).then(function (r) { if (r.ok) holder.setAttribute('data-tz', zone); }, function () { /* tried again on the next page */ });
})();
