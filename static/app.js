// Small progressive enhancements; every page works without this file.
document.addEventListener('submit', function (event) {
  var button = event.submitter;
  var message = button && button.getAttribute('data-confirm');
  if (message && !window.confirm(message)) {
    event.preventDefault();
  }
});

// Selection buttons ("Download selected", "Share selected") stay disabled until something is
// selected; the server refuses an empty selection anyway.
(function () {
  var form = document.getElementById('selection');
  if (!form) return;
  var boxes = document.querySelectorAll('input[name="asset_ids"][form="selection"]');
  var buttons = form.querySelectorAll('[data-needs-selection]');
  function update() {
    var any = Array.prototype.some.call(boxes, function (b) { return b.checked; });
    Array.prototype.forEach.call(buttons, function (b) { b.disabled = !any; });
  }
  Array.prototype.forEach.call(boxes, function (b) { b.addEventListener('change', update); });
  update();
})();

// Link addresses shown once: select the whole address on focus so it copies in one go.
Array.prototype.forEach.call(document.querySelectorAll('[data-copy]'), function (field) {
  field.addEventListener('focus', function () { field.select(); });
});
