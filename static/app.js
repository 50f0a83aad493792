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
  var all = document.querySelectorAll('input[name="asset_ids"]');
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
