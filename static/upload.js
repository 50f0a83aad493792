// Uploads for the folder page: many files or whole folder trees (drag and drop or picker),
// three at a time, with a progress bar per file and overall. One request per file, so a
// failure affects only that file. The server checks the CSRF token sent in X-CSRF-Token.
(function () {
  'use strict';
  var zone = document.querySelector('.dropzone');
  if (!zone) return;
  var url = zone.getAttribute('data-upload-url');
  var csrf = zone.getAttribute('data-csrf');
  // Upload links: the sender's name, email and metadata go with every file.
  var fieldsForm = zone.getAttribute('data-fields-form') ?
    document.getElementById(zone.getAttribute('data-fields-form')) : null;
  // Each file gets its own title (and the slot chosen when it was added): the form's one
  // title field would otherwise be applied to a whole batch. Files wait with their title
  // field until "Send".
  var perFile = fieldsForm && fieldsForm.querySelector('.batch-title');
  var batchTitle = perFile ? perFile.querySelector('input') : null;
  var titleRequired = batchTitle ? batchTitle.required : false;
  var slotSelect = fieldsForm ? fieldsForm.querySelector('select[name="slot"]') : null;
  var sendStaged = document.querySelector('.send-staged');
  var staged = [];
  if (perFile) {
    perFile.hidden = true;
    batchTitle.required = false;
    batchTitle.disabled = true;
  }
  function fieldsReady() { return !fieldsForm || fieldsForm.reportValidity(); }
  var max = Number(zone.getAttribute('data-max'));
  var list = document.querySelector('.upload-list');
  var overall = document.querySelector('.upload-overall');
  var overallBar = overall.querySelector('progress');
  var overallText = overall.querySelector('.overall-text');
  var done = document.querySelector('.upload-done');
  var PARALLEL = 3;
  // Large files go through the resumable (tus) endpoint: a dropped connection or a closed laptop
  // resumes where the server's copy ends (choose the same file again after a reload).
  var tusUrl = zone.getAttribute('data-tus');
  var folderId = zone.getAttribute('data-folder-id');
  var TUS_MIN = 8 * 1000 * 1000;
  var queue = [];
  var active = 0;
  var totals = { bytes: 0, sent: 0, files: 0, finished: 0, failed: 0 };

  function human(n) {
    var units = ['B', 'KB', 'MB', 'GB', 'TB'];
    var i = 0;
    while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
    return (i ? n.toFixed(1) : n) + ' ' + units[i];
  }

  function add(file, relativePath) {
    var li = document.createElement('li');
    var name = document.createElement('span');
    name.className = 'name';
    name.textContent = relativePath || file.name;
    name.title = name.textContent;
    var bar = document.createElement('progress');
    bar.max = 100; bar.value = 0;
    bar.setAttribute('aria-label', 'Progress of ' + name.textContent);
    var state = document.createElement('span');
    state.className = 'state';
    state.textContent = 'waiting';
    li.appendChild(name); li.appendChild(bar); li.appendChild(state);
    list.appendChild(li);
    var item = { file: file, path: relativePath, bar: bar, state: state, sent: 0 };
    if (slotSelect) {
      var option = slotSelect.options[slotSelect.selectedIndex];
      item.slot = slotSelect.value;
      item.slotTitleRequired = option && option.getAttribute('data-title-required') === 'true';
      item.slotName = option ? option.textContent : '';
      var tag = document.createElement('span');
      tag.className = 'muted';
      tag.textContent = option ? ' (' + option.textContent + ')' : '';
      name.appendChild(tag);
    }
    if (perFile) {
      li.className = 'with-title';
      item.title = document.createElement('input');
      item.title.maxLength = 500;
      item.title.placeholder = 'Title';
      item.title.setAttribute('aria-label', 'Title of ' + (relativePath || file.name));
      item.title.required = titleRequired || !!item.slotTitleRequired;
      li.insertBefore(item.title, bar);
    }
    totals.bytes += file.size;
    totals.files += 1;
    if (file.size > max) {
      fail(item, 'too large');
      return;
    }
    if (perFile) {
      staged.push(item);
      sendStaged.hidden = false;
      return;
    }
    queue.push(item);
  }

  if (sendStaged) {
    sendStaged.querySelector('button').addEventListener('click', function () {
      if (!fieldsReady()) return;
      for (var i = 0; i < staged.length; i++) {
        if (!staged[i].title.reportValidity()) return;
      }
      staged.forEach(function (item) { item.title.readOnly = true; queue.push(item); });
      staged = [];
      sendStaged.hidden = true;
      pump();
    });
  }

  // The text fields sent with a file: the form's (sender, description, keywords), then the
  // file's own title and slot.
  function eachField(item, add) {
    if (fieldsForm) {
      new FormData(fieldsForm).forEach(function (value, key) {
        if (typeof value !== 'string') return;
        if (perFile && (key === 'title' || key === 'slot')) return;
        add(key, value);
      });
    }
    if (item.title) add('title', item.title.value);
    if (item.slot) add('slot', item.slot);
  }

  function refresh() {
    overall.hidden = false;
    var pct = totals.bytes ? Math.round((totals.sent / totals.bytes) * 100) : 100;
    overallBar.value = pct;
    overallText.textContent = totals.finished + ' of ' + totals.files + ' files · ' +
      human(totals.sent) + ' of ' + human(totals.bytes) +
      (totals.failed ? ' · ' + totals.failed + ' failed' : '');
    // "Everything arrived" only when it did: not while files wait, not when one was refused.
    done.hidden = !(totals.finished === totals.files && totals.files > 0 && !totals.failed);
  }

  // Files chosen after the last batch ended start a new one: its bar, count and "Everything
  // arrived" speak of these files, not of earlier (perhaps refused) ones still listed above.
  function newBatch() {
    if (active || queue.length || staged.length || totals.finished !== totals.files) return;
    totals = { bytes: 0, sent: 0, files: 0, finished: 0, failed: 0 };
    done.hidden = true;
  }

  function fail(item, why) {
    item.state.textContent = why;
    item.state.className = 'state failed';
    totals.failed += 1;
    totals.finished += 1;
    refresh();
  }

  function pump() {
    while (active < PARALLEL && queue.length) start(queue.shift());
  }

  function progress(item, sent) {
    totals.sent += sent - item.sent;
    item.sent = sent;
    item.bar.value = item.file.size ? Math.round((sent / item.file.size) * 100) : 100;
    item.state.textContent = item.bar.value + '%';
    refresh();
  }

  function finished(item) {
    active -= 1;
    progress(item, item.file.size);
    item.state.textContent = 'done';
    item.state.className = 'state ok';
    totals.finished += 1;
    arrivedInSlot(item);
    refresh();
    pump();
  }

  // Upload links with slots: a stored file counts in its slot's "N of M delivered" at once (the
  // page says the same after a reload); a slot that is now full is no longer offered. The slot's
  // line is the one named like the file's option (names are unique within a link); the fewest
  // files it needs shows in "(at least N needed)" while unmet, and equals M when never shown.
  function arrivedInSlot(item) {
    if (!item.slot || !item.slotName) return;
    var lines = document.querySelectorAll('.slots > li');
    for (var i = 0; i < lines.length; i++) {
      var name = lines[i].querySelector('strong');
      var count = lines[i].lastElementChild;
      if (!name || name.textContent !== item.slotName || count === name.parentNode) continue;
      var m = /^(\d+) of (\d+) delivered(?: \(at least (\d+) needed\))?/.exec(count.textContent.trim());
      if (!m) return;
      var n = Number(m[1]) + 1;
      var most = Number(m[2]);
      var met = count.classList.contains('ok');
      var least = m[3] ? Number(m[3]) : (met ? 0 : most);
      count.textContent = n + ' of ' + most + ' delivered' +
        (least < most && n < least ? ' (at least ' + least + ' needed)' : '');
      count.className = n >= least ? 'ok' : 'muted';
      if (n >= most && slotSelect) {
        for (var j = 0; j < slotSelect.options.length; j++) {
          if (slotSelect.options[j].value === item.slot) { slotSelect.remove(j); break; }
        }
      }
      return;
    }
  }

  function startTus(item) {
    var metadata = { filename: item.file.name };
    if (folderId) metadata.folder_id = folderId;
    eachField(item, function (key, value) { metadata[key] = value; });
    if (item.path) metadata.relative_path = item.path;
    var upload = new window.tus.Upload(item.file, {
      endpoint: tusUrl,
      headers: csrf ? { 'X-CSRF-Token': csrf } : {},
      metadata: metadata,
      chunkSize: 64 * 1000 * 1000,
      retryDelays: [0, 1000, 3000, 5000, 10000, 20000, 30000],
      // tus-js-client's default gives up at once while navigator.onLine is false, which is
      // exactly when the network has dropped; retry as it would otherwise (any failure but a
      // 4xx refusal, except 409 and 423), so the delays give the network time to come back.
      onShouldRetry: function (err) {
        var status = err.originalResponse ? err.originalResponse.getStatus() : 0;
        return status < 400 || status >= 500 || status === 409 || status === 423;
      },
      removeFingerprintOnSuccess: true,
      onProgress: function (sent) { progress(item, Math.min(sent, item.file.size)); },
      onSuccess: function () { finished(item); },
      onError: function (err) {
        active -= 1;
        var message = 'failed';
        try { message = JSON.parse(err.originalResponse.getBody()).message || message; } catch (e) { /* not JSON */ }
        fail(item, message);
        pump();
      }
    });
    upload.findPreviousUploads().then(function (previous) {
      if (previous.length) {
        item.state.textContent = 'resuming';
        upload.resumeFromPreviousUpload(previous[0]);
      }
      upload.start();
    });
  }

  function start(item) {
    active += 1;
    if (tusUrl && window.tus && window.tus.isSupported && item.file.size >= TUS_MIN) {
      startTus(item);
      return;
    }
    var form = new FormData();
    eachField(item, function (key, value) { form.append(key, value); });
    if (item.path) form.append('relative_path', item.path);
    form.append('file', item.file, item.file.name);
    var xhr = new XMLHttpRequest();
    xhr.open('POST', url);
    if (csrf) xhr.setRequestHeader('X-CSRF-Token', csrf);
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.upload.onprogress = function (e) {
      if (!e.lengthComputable) return;
      var sent = Math.min(e.loaded, item.file.size);
      totals.sent += sent - item.sent;
      item.sent = sent;
      item.bar.value = item.file.size ? Math.round((sent / item.file.size) * 100) : 100;
      item.state.textContent = item.bar.value + '%';
      refresh();
    };
    xhr.onload = function () {
      active -= 1;
      if (xhr.status === 201) {
        totals.sent += item.file.size - item.sent;
        item.sent = item.file.size;
        item.bar.value = 100;
        item.state.textContent = 'done';
        item.state.className = 'state ok';
        totals.finished += 1;
        arrivedInSlot(item);
        refresh();
      } else {
        var message = 'failed';
        try { message = JSON.parse(xhr.responseText).message || message; } catch (e) { /* not JSON */ }
        fail(item, message);
      }
      pump();
    };
    xhr.onerror = function () { active -= 1; fail(item, 'connection lost'); pump(); };
    item.state.textContent = '0%';
    xhr.send(form);
  }

  function addFiles(files, useRelative) {
    if (!fieldsReady()) return;
    newBatch();
    for (var i = 0; i < files.length; i++) {
      var f = files[i];
      add(f, useRelative && f.webkitRelativePath ? f.webkitRelativePath : '');
    }
    refresh();
    pump();
  }

  // Walks a dropped folder; entries are read in batches until the reader returns none.
  function walk(entry, path, pending) {
    if (entry.isFile) {
      pending.count += 1;
      entry.file(function (file) {
        add(file, path + file.name);
        pending.count -= 1;
        if (pending.count === 0) { refresh(); pump(); }
      }, function () { pending.count -= 1; });
    } else if (entry.isDirectory) {
      var reader = entry.createReader();
      pending.count += 1;
      var readBatch = function () {
        reader.readEntries(function (entries) {
          if (!entries.length) {
            pending.count -= 1;
            if (pending.count === 0) { refresh(); pump(); }
            return;
          }
          entries.forEach(function (e) { walk(e, path + entry.name + '/', pending); });
          readBatch();
        }, function () { pending.count -= 1; });
      };
      readBatch();
    }
  }

  document.getElementById('file-input').addEventListener('change', function (e) { addFiles(e.target.files, false); e.target.value = ''; });
  document.getElementById('dir-input').addEventListener('change', function (e) { addFiles(e.target.files, true); e.target.value = ''; });
  ['dragenter', 'dragover'].forEach(function (t) {
    zone.addEventListener(t, function (e) { e.preventDefault(); zone.classList.add('over'); });
  });
  ['dragleave', 'drop'].forEach(function (t) {
    zone.addEventListener(t, function () { zone.classList.remove('over'); });
  });
  zone.addEventListener('drop', function (e) {
    e.preventDefault();
    if (!fieldsReady()) return;
    newBatch();
    var items = e.dataTransfer.items;
    if (items && items.length && items[0].webkitGetAsEntry) {
      var pending = { count: 0 };
      for (var i = 0; i < items.length; i++) {
        var entry = items[i].webkitGetAsEntry();
        if (entry) walk(entry, '', pending);
      }
    } else {
      addFiles(e.dataTransfer.files, false);
    }
  });
})();
