// F2 opens a new intake (operators and dispatchers; the page includes this script for them only).
(function () {
  var url = document.currentScript.dataset.intakeUrl;
  document.addEventListener('keydown', function (e) {
    if (e.key === 'F2') { e.preventDefault(); window.location = url; }
  });
})();
